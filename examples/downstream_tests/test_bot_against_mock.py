"""A downstream bot repository's tests against the mock exchange (run as their own pytest session, in
random order). They use the plugin's fixtures and the typed `standx_mock` handle, never raw /mock calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from bot import QuotingBot
from standx_client import AsyncStandX, StandX
from standx_client.streams import MarketStream, StreamMessage
from standx_mock.testing import MockAccount, MockExchange

SYMBOL = "BTC-USD"
SIZE = Decimal("0.010")


@pytest.fixture
def bot(standx_client: StandX) -> QuotingBot:
    return QuotingBot(standx_client, SYMBOL, SIZE)


@pytest.fixture
def taker(standx_mock: MockExchange) -> Iterator[StandX]:
    """Another trader on the same exchange."""
    with standx_mock.client(standx_mock.new_account()) as client:
        yield client


def test_bot_quotes_inside_the_book_and_follows_the_market(bot: QuotingBot, standx_mock: MockExchange,
                                                           standx_mock_account: MockAccount) -> None:  # fmt: skip
    quote = bot.quote()
    mark = standx_mock.mark_price(SYMBOL)
    assert quote.bid < mark < quote.ask
    resting = standx_mock.account(standx_mock_account).open_orders(SYMBOL)
    assert sorted((o.side, o.price, o.status) for o in resting) == [
        ("buy", quote.bid, "open"),
        ("sell", quote.ask, "open"),
    ]
    standx_mock.set_mark_price(SYMBOL, mark * Decimal("1.01"), requote=True)  # the market moves up 1%
    assert bot.position() == -SIZE  # the stale ask was lifted as the book moved through it
    moved = bot.quote()
    assert moved.bid > quote.ask
    resting = standx_mock.account(standx_mock_account).open_orders(SYMBOL)
    assert sorted(o.price for o in resting) == [moved.bid, moved.ask]  # the old quotes were canceled


def test_a_taker_fills_the_bot_bid(bot: QuotingBot, taker: StandX, standx_mock: MockExchange,
                                   standx_mock_account: MockAccount) -> None:  # fmt: skip
    quote = bot.quote()
    taker.new_order(symbol=SYMBOL, side="sell", order_type="market", qty=SIZE, time_in_force="ioc", reduce_only=False)
    assert bot.position() == SIZE
    (fill,) = bot.client.query_trades(symbol=SYMBOL).result
    assert (fill.side, fill.price, fill.qty) == ("buy", quote.bid, SIZE)
    assert fill.fee_qty == (quote.bid * SIZE * Decimal("0.0001")).quantize(Decimal("1e-9"))  # the maker fee
    view = standx_mock.account(standx_mock_account)
    assert [o.side for o in view.open_orders(SYMBOL)] == ["sell"]  # the ask still rests
    assert view.fills[0].price == quote.bid


def test_the_bot_pays_funding_on_its_long(bot: QuotingBot, standx_mock: MockExchange,
                                          standx_mock_account: MockAccount) -> None:  # fmt: skip
    bot.client.new_order(symbol=SYMBOL, side="buy", order_type="market", qty=SIZE, time_in_force="ioc",
                         reduce_only=False)  # fmt: skip
    standx_mock.set_funding_rate(SYMBOL, "0.0001")
    before = bot.client.query_balance().cross_balance
    standx_mock.advance_to_next_funding()  # the next funding time, on the hour
    expected = -SIZE * standx_mock.mark_price(SYMBOL) * Decimal("0.0001")
    assert bot.funding_received() == expected < 0
    assert bot.client.query_balance().cross_balance == before + expected
    (payment,) = standx_mock.account(standx_mock_account).funding
    assert payment.time.minute == payment.time.second == 0


@pytest.mark.anyio
async def test_the_bot_sees_its_liquidation_on_the_streams(standx_mock: MockExchange) -> None:
    account = standx_mock.new_account(balance="1000")  # a small account, so 10x is close to liquidation
    stream = MarketStream(jwt=account.token, url=standx_mock.market_stream_url)
    async with standx_mock.async_client(account) as client, stream:
        for channel in ("order", "position", "balance"):
            await stream.subscribe(channel)
        await client.new_order(symbol=SYMBOL, side="buy", order_type="market", qty=Decimal("0.050"),
                               time_in_force="ioc", reduce_only=False)  # fmt: skip
        (position,) = await client.query_positions(symbol=SYMBOL)
        assert position.liq_price is not None
        liq = Decimal(position.liq_price)
        events = standx_mock.move_mark(SYMBOL, [liq + 100, liq + 1, liq])  # down through the liquidation price
        (liquidation,) = events.liquidations
        orders: dict[int, Any] = {}
        closed = False
        while True:  # order frames, then the position going flat, then the balance after it
            event = await asyncio.wait_for(stream.__anext__(), 10)
            if not isinstance(event, StreamMessage):
                continue
            if event.channel == "order":
                orders[event.data.id] = event.data
            closed = closed or (event.channel == "position" and event.data.qty == 0)
            if closed and event.channel == "balance":
                pushed_balance = event.data
                break
        (after,) = await client.query_positions(symbol=SYMBOL)
        balance = await client.query_balance()
    assert after.qty == 0 and liquidation.source == "liquidation"
    assert balance.cross_balance < Decimal("1000") - Decimal("500")  # most of the margin is gone
    assert pushed_balance.total == balance.balance
    assert orders[liquidation.id].status == "filled" and orders[liquidation.id].reduce_only


def test_the_bot_notices_a_liquidation(bot: QuotingBot, standx_mock: MockExchange) -> None:
    assert not bot.was_liquidated()
    small = standx_mock.new_account(balance="1000")
    with standx_mock.client(small) as client:
        client.new_order(symbol=SYMBOL, side="sell", order_type="market", qty=Decimal("0.050"), time_in_force="ioc",
                         reduce_only=False)  # fmt: skip
        standx_mock.set_mark_price(SYMBOL, standx_mock.mark_price(SYMBOL) * Decimal("1.5"))
        assert QuotingBot(client, SYMBOL, SIZE).was_liquidated()
    assert not bot.was_liquidated()  # someone else's liquidation


@pytest.mark.anyio
async def test_async_client_fixture(async_standx_client: AsyncStandX) -> None:
    assert (await async_standx_client.query_symbol_price(symbol="ETH-USD")).symbol == "ETH-USD"
