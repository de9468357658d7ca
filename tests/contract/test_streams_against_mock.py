"""The WebSocket streams against the mock exchange over TCP (the mock validates every frame it sends against
the spec's schemas): market data, account events, order commands, and HTTP orders reported on the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from standx_client import AsyncStandX, AuthenticationError, BadRequestError, NotFoundError
from standx_client.models import DepthBook, Order, StreamBalance, StreamPosition, StreamPrice, StreamTrade
from standx_client.streams import MarketStream, OrderStream, StreamMessage
from standx_mock.config import MockConfig
from standx_mock.server import MockServer, serve_server

from tests.contract.conftest import new_account

SYMBOL = "BTC-USD"


@pytest.fixture(scope="module")
def ws_mock() -> Any:
    with serve_server(MockConfig(market_maker=True, seed=5, validate_responses=True)) as server:
        yield server


def ws_url(server: MockServer, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


async def next_on(stream: MarketStream, channel: str, match: Callable[[Any], bool] = lambda _: True) -> Any:
    """The next frame of `channel` whose data matches (other channels' frames are skipped)."""
    while True:
        event = await asyncio.wait_for(anext(stream), 10)
        if isinstance(event, StreamMessage) and event.channel == channel and match(event.data):
            return event.data


def test_market_data_account_events_and_orders_over_the_streams(ws_mock: MockServer) -> None:
    account = new_account(ws_mock.base_url)

    async def story() -> None:
        url = ws_mock.base_url
        async with (
            MarketStream(jwt=account.token, url=ws_url(ws_mock, "/ws-stream/v1")) as market,
            OrderStream(jwt=account.token, signing_key=account.key, url=ws_url(ws_mock, "/ws-api/v1")) as orders,
            AsyncStandX(
                jwt=account.token, signing_key=account.key, base_url=url, geo_url=url, session_id=orders.session_id
            ) as client,
        ):
            await market.subscribe("price", SYMBOL)
            price = await next_on(market, "price")
            assert isinstance(price, StreamPrice) and price.symbol == SYMBOL
            await market.subscribe("depth_book", SYMBOL)
            book = await next_on(market, "depth_book")
            assert isinstance(book, DepthBook) and book.bids and book.asks
            best_bid, best_ask = max(level[0] for level in book.bids), min(level[0] for level in book.asks)
            for channel in ("order", "position", "balance", "trade"):
                await market.subscribe(channel)

            # An order sent on the order stream: accepted, then placed; the account stream reports it.
            resting_price = (best_bid * Decimal("0.95")).quantize(Decimal("0.01"))
            resting = await orders.new_order(
                symbol=SYMBOL, side="buy", order_type="limit", qty="0.002", price=resting_price,
                time_in_force="gtc", reduce_only=False,
            )  # fmt: skip
            assert resting.accepted and resting.response.code == 0
            placed = await next_on(market, "order", lambda o: o.cl_ord_id == resting.cl_ord_id)
            assert isinstance(placed, Order) and placed.price == resting_price and placed.qty == Decimal("0.002")

            # A post-only order that would cross is rejected after its acceptance.
            with pytest.raises(BadRequestError) as rejected:
                await orders.new_order(
                    symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price=best_ask,
                    time_in_force="alo", reduce_only=False,
                )  # fmt: skip
            assert rejected.value.code == 400

            # An HTTP order with x-session-id: its result arrives on the order stream under its request_id.
            ack = await client.new_order(
                symbol=SYMBOL, side="buy", order_type="market", qty="0.003", time_in_force="ioc", reduce_only=False
            )
            assert isinstance(ack.request_id, str)
            frame = await orders.wait_for(ack.request_id)
            assert frame.code == 0
            fill = await next_on(market, "trade", lambda t: t.side == "buy")
            assert isinstance(fill, StreamTrade) and fill.qty > 0 and fill.symbol == SYMBOL
            # The HTTP trade item's fields the spec lists for the channel too: typed, not dropped.
            assert fill.value == fill.price * fill.qty and isinstance(fill.value, Decimal)
            assert fill.user == account.user and fill.updated_at == fill.created_at
            position = await next_on(market, "position", lambda p: p.qty != 0)
            assert isinstance(position, StreamPosition) and position.qty == Decimal("0.003")
            balance = await next_on(market, "balance")
            assert isinstance(balance, StreamBalance) and balance.total > 0

            # Cancel on the order stream; the account stream reports the cancellation.
            cancelled = await orders.cancel_order(cl_ord_id=resting.cl_ord_id)
            assert cancelled.response.code == 0
            gone = await next_on(market, "order", lambda o: o.cl_ord_id == resting.cl_ord_id and o.status != "open")
            assert gone.status == "canceled"

    asyncio.run(story())


def test_the_mock_refuses_a_bad_token_on_both_streams(ws_mock: MockServer) -> None:
    other = new_account(ws_mock.base_url)

    async def story() -> None:
        with pytest.raises(AuthenticationError):
            await MarketStream(jwt="x.y.z", url=ws_url(ws_mock, "/ws-stream/v1"), reconnect=None).connect()
        orders = OrderStream(jwt="x.y.z", signing_key=other.key, url=ws_url(ws_mock, "/ws-api/v1"), reconnect=None)
        with pytest.raises(AuthenticationError):
            await orders.connect()
        await orders.close()

    asyncio.run(story())


def test_a_dropped_stream_comes_back_subscribed(ws_mock: MockServer) -> None:
    """The mock's /mock/ws/drop closes every WebSocket (1012); the stream reopens and resubscribes."""
    import httpx
    from standx_client.streams import Reconnected

    async def story() -> None:
        async with MarketStream(url=ws_url(ws_mock, "/ws-stream/v1")) as market:
            await market.subscribe("price", SYMBOL)
            await next_on(market, "price")
            async with httpx.AsyncClient() as admin:
                dropped = await admin.post(f"{ws_mock.base_url}/mock/ws/drop")
            assert dropped.json()["dropped"] >= 1
            event = await asyncio.wait_for(anext(market), 10)
            assert isinstance(event, Reconnected)
            again = await next_on(market, "price")  # the snapshot sent for the replayed subscription
            assert isinstance(again, StreamPrice)

    asyncio.run(story())


def test_the_408_notice_of_the_mock_is_a_reconnect_on_both_streams(ws_mock: MockServer) -> None:
    import httpx
    from standx_client.streams import Reconnected

    account = new_account(ws_mock.base_url)

    async def story() -> None:
        async with (
            MarketStream(url=ws_url(ws_mock, "/ws-stream/v1")) as market,
            OrderStream(jwt=account.token, signing_key=account.key, url=ws_url(ws_mock, "/ws-api/v1")) as orders,
        ):
            await market.subscribe("price", SYMBOL)
            await next_on(market, "price")
            async with httpx.AsyncClient() as admin:
                dropped = await admin.post(f"{ws_mock.base_url}/mock/ws/drop", json={"notice": True})
            assert dropped.json()["dropped"] >= 2
            event = await asyncio.wait_for(anext(market), 10)
            assert isinstance(event, Reconnected) and "408" in event.reason
            assert isinstance(await next_on(market, "price"), StreamPrice)
            async with asyncio.timeout(10):
                while orders.reconnects < 1:
                    await asyncio.sleep(0.01)
            with pytest.raises(NotFoundError, match="not found"):  # answered on the new connection
                await orders.cancel_order(cl_ord_id="never-placed")

    asyncio.run(story())


def test_the_client_budget_stays_within_the_mock_connection_limits() -> None:
    """Default budget, default mock limits (10 open per IP): the 11th and 12th streams are refused by the client
    (typed, nothing opened) and the mock never had to refuse; without a budget the mock refuses the 11th."""
    from standx_client import StreamClosedError
    from standx_client.streams import ConnectionLimitError

    with serve_server(MockConfig(seed=5)) as server:
        url = ws_url(server, "/ws-stream/v1")

        async def story() -> None:
            streams = [MarketStream(url=url) for _ in range(12)]
            refused = 0
            for stream in streams:
                try:
                    await stream.connect()
                except ConnectionLimitError:
                    refused += 1
            limits = server.app.state.hub.limits  # counted before the handshake is answered: no race with it
            assert refused == 2 and limits.open["127.0.0.1"] == 10 and len(limits.recent["127.0.0.1"]) == 10
            # Past the client's budget the mock refuses: the connection opens, then closes with 1008.
            async with MarketStream(url=url, budget=None, reconnect=None) as unbudgeted:
                with pytest.raises(StreamClosedError, match=r"1008.*too many connections"):
                    await anext(unbudgeted)
            for stream in streams:
                await stream.close()

        asyncio.run(story())
