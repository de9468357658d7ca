"""The client's streams against every frame shape the mock offers where the docs are silent (`ws_ack`,
`ws_error_frames`, `ws_extra_fields`; mock/README.md, "Frame shapes the docs leave open"): the documented shapes,
the variants peer clients parse, and fields the docs do not list. One mock per shape, on a real loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from standx_client import AsyncStandX, BadRequestError, SigningKey
from standx_client.models import StreamPrice
from standx_client.streams import MarketStream, OrderStream, StreamMessage
from standx_mock.config import MockConfig
from standx_mock.server import MockServer, serve_server

from tests.contract.conftest import new_account
from tests.contract.test_streams_against_mock import ws_url
from tests.frame_shapes import SHAPES

SYMBOL = "BTC-USD"
# The market maker quotes around the mark of 121600 (MockConfig's default BTC-USD): a buy at 110000 rests, a
# post-only buy at 130000 would cross and is rejected.
RESTING, CROSSING = "110000", "130000"
TIMEOUT = 5.0  # a client that waits for a frame the shape never sends fails in this time, it does not hang


@pytest.fixture(scope="module", params=list(SHAPES))
def shaped(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    config = MockConfig(market_maker=True, seed=5, validate_responses=True, **SHAPES[request.param])
    with serve_server(config) as server:
        yield server
        assert server.state.response_errors == []  # every frame the mock sent conformed to the spec


def order_stream(server: MockServer, token: str, key: SigningKey) -> OrderStream:
    return OrderStream(jwt=token, signing_key=key, url=ws_url(server, "/ws-api/v1"), timeout=TIMEOUT)


def test_new_order_on_the_order_stream(shaped: MockServer) -> None:
    account = new_account(shaped.base_url)

    async def story() -> None:
        async with order_stream(shaped, account.token, account.key) as orders:
            placed = await orders.new_order(
                symbol=SYMBOL, side="buy", order_type="limit", qty="0.002", price=RESTING, time_in_force="gtc",
                reduce_only=False,
            )  # fmt: skip
            assert (placed.response.code, placed.response.message) == (0, "success")
            assert placed.accepted is (shaped.state.config.ws_ack != "none")
            with pytest.raises(BadRequestError, match="alo order rejected") as rejected:
                await orders.new_order(
                    symbol=SYMBOL, side="buy", order_type="limit", qty="0.002", price=CROSSING, time_in_force="alo",
                    reduce_only=False,
                )  # fmt: skip
            assert rejected.value.code == 400
            assert orders.bad_frames == 0 and orders.unresolved_orders == ()

    asyncio.run(story())


def test_wait_for_an_http_order_sent_with_the_session_id(shaped: MockServer) -> None:
    account = new_account(shaped.base_url)
    url = shaped.base_url

    async def story() -> None:
        async with (
            order_stream(shaped, account.token, account.key) as orders,
            AsyncStandX(
                jwt=account.token, signing_key=account.key, base_url=url, geo_url=url, session_id=orders.session_id
            ) as client,
        ):
            filled = await client.new_order(
                symbol=SYMBOL, side="buy", order_type="market", qty="0.003", time_in_force="ioc", reduce_only=False
            )
            frame = await orders.wait_for(str(filled.request_id), timeout=TIMEOUT)
            assert (frame.code, frame.message) == (0, "success")
            refused = await client.new_order(
                symbol=SYMBOL, side="buy", order_type="limit", qty="0.002", price=CROSSING, time_in_force="alo",
                reduce_only=False,
            )  # fmt: skip
            frame = await orders.wait_for(str(refused.request_id), timeout=TIMEOUT)
            assert (frame.code, frame.message) == (400, "alo order rejected")
            assert orders.bad_frames == 0

    asyncio.run(story())


def test_an_error_frame_raises_its_typed_error_and_the_stream_goes_on(shaped: MockServer) -> None:
    account = new_account(shaped.base_url)

    async def story() -> None:
        async with MarketStream(jwt=account.token, url=ws_url(shaped, "/ws-stream/v1")) as market:
            await market.subscribe("price", "DOGE-USD")  # a well-formed symbol the exchange does not list
            with pytest.raises(BadRequestError, match="unknown symbol 'DOGE-USD'") as refused:
                await asyncio.wait_for(anext(market), TIMEOUT)
            assert refused.value.code == 400
            await market.subscribe("price", SYMBOL)
            event = await asyncio.wait_for(anext(market), TIMEOUT)
            assert isinstance(event, StreamMessage) and isinstance(event.data, StreamPrice)
            assert event.data.symbol == SYMBOL and event.data.mark_price > 0

    asyncio.run(story())
