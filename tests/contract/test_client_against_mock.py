"""The generated client against the running mock exchange over TCP: every operation, a trading story, errors."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from standx_client import (
    AsyncStandX,
    AuthenticationError,
    BadRequestError,
    SigningKey,
    StandX,
    ValidationError,
)
from standx_client._operations import OPERATIONS
from standx_client.models import Balance, MarketOverview, Order, OrderPage, Region, SymbolPrice
from standx_mock.server import MockServer

from tests.contract.conftest import Account, new_account

SYMBOL = "BTC-USD"


def _every_call(order_id: int, cl_ord_id: str) -> dict[str, dict[str, Any]]:
    """One valid call of every operation (the mock answers each from its state), with time windows ending now."""
    now = datetime.datetime.now(datetime.UTC)  # at call time: a module-level "now" goes stale in a long session
    return {
        "new_order": dict(
            symbol=SYMBOL,
            side="buy",
            order_type="limit",
            qty="0.001",
            price="100000",
            time_in_force="gtc",
            reduce_only=False,
        ),
        "cancel_order": dict(cl_ord_id=cl_ord_id),
        "cancel_orders": dict(order_id_list=[order_id]),
        "change_leverage": dict(symbol=SYMBOL, leverage=7),
        "change_margin_mode": dict(symbol="ETH-USD", margin_mode="isolated"),
        "transfer_margin": None,  # needs an isolated position: covered by the story below
        "query_order": dict(order_id=order_id),
        "query_orders": dict(symbol=SYMBOL, limit=10, start=now - datetime.timedelta(hours=1)),
        "query_open_orders": dict(symbol=SYMBOL),
        "query_trades": dict(symbol=SYMBOL, limit=5),
        "query_funding_history": dict(symbol=SYMBOL),
        "query_position_config": dict(symbol=SYMBOL),
        "query_positions": {},
        "query_balance": {},
        "query_market_overview": {},
        "query_symbol_info": {},
        "query_symbol_market": dict(symbol=SYMBOL),
        "query_symbol_price": dict(symbol=SYMBOL),
        "query_depth_book": dict(symbol=SYMBOL),
        "query_recent_trades": dict(symbol=SYMBOL),
        "query_funding_rates": dict(
            symbol=SYMBOL, start_time=int(now.timestamp() * 1000) - 86_400_000, end_time=int(now.timestamp() * 1000)
        ),
        "kline_time": {},
        "kline_history": dict(
            symbol=SYMBOL, from_=int(now.timestamp()) - 3600, to=int(now.timestamp()), resolution="1"
        ),
        "health": {},
        "query_region": {},
        "prepare_signin": dict(chain="bsc", address="0x" + "ab" * 20, request_id=SigningKey.generate().public_key_b58),
        "login": None,  # needs a wallet signature of a fresh challenge: tests/signin covers it end to end
        "query_certs": {},
    }


def _resting_order(client: StandX) -> Order:
    ack = client.new_order(symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price="100000",
                           time_in_force="gtc", reduce_only=False)  # fmt: skip
    return client.query_order(cl_ord_id=ack.cl_ord_id)


def test_every_operation_sync(client: StandX) -> None:
    order = _resting_order(client)
    other = _resting_order(client)
    calls = _every_call(other.id, order.cl_ord_id)
    assert sorted(calls) == sorted(OPERATIONS)
    results = {name: getattr(client, name)(**kwargs) for name, kwargs in calls.items() if kwargs is not None}
    assert results["new_order"].code == 0 and len(results["new_order"].cl_ord_id) == 26
    assert isinstance(results["query_order"], Order) and results["query_order"].id == other.id
    assert isinstance(results["query_orders"], OrderPage)
    assert isinstance(results["query_balance"], Balance)
    assert isinstance(results["query_symbol_price"], SymbolPrice)
    assert isinstance(results["query_market_overview"], MarketOverview)
    assert isinstance(results["query_region"], Region) and results["query_region"].region == "jp"
    assert results["health"] == "OK"
    assert abs(results["kline_time"] - datetime.datetime.now(datetime.UTC).timestamp()) < 120
    assert {i.symbol for i in results["query_symbol_info"]} >= {"BTC-USD", "ETH-USD"}
    assert client.query_position_config(symbol=SYMBOL).leverage in (7, "7")
    assert client.query_order(order_id=order.id).status == "canceled"
    assert client.query_order(order_id=other.id).status == "canceled"


@pytest.mark.anyio
async def test_every_operation_async(mock_server: MockServer, account: Account) -> None:
    url = mock_server.base_url
    async with AsyncStandX(jwt=account.token, signing_key=account.key, base_url=url, geo_url=url,
                           auth_url=url) as client:  # fmt: skip
        ack = await client.new_order(symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price="100000",
                                     time_in_force="gtc", reduce_only=False)  # fmt: skip
        order = await client.query_order(cl_ord_id=ack.cl_ord_id)
        other_ack = await client.new_order(symbol=SYMBOL, side="buy", order_type="limit", qty="0.001",
                                           price="100000", time_in_force="gtc", reduce_only=False)  # fmt: skip
        other = await client.query_order(cl_ord_id=other_ack.cl_ord_id)
        for name, kwargs in _every_call(other.id, order.cl_ord_id).items():
            if kwargs is not None:
                assert await getattr(client, name)(**kwargs) is not None, name
        assert (await client.query_order(order_id=order.id)).status == "canceled"


def test_trading_story(client: StandX, mock_server: MockServer) -> None:
    (info,) = client.query_symbol_info(symbol=SYMBOL)
    book = client.query_depth_book(symbol=SYMBOL)
    best_bid = max(level[0] for level in book.bids)
    best_ask = min(level[0] for level in book.asks)
    assert best_bid < best_ask
    start = client.query_balance()

    # A limit buy far below the book rests.
    low = (best_bid * Decimal("0.9")).quantize(Decimal(1).scaleb(-info.price_tick_decimals))
    rest = client.new_order(symbol=SYMBOL, side="buy", order_type="limit", qty="0.002", price=low,
                            time_in_force="gtc", reduce_only=False)  # fmt: skip
    open_ids = [o.cl_ord_id for o in client.query_open_orders(symbol=SYMBOL).result]
    assert rest.cl_ord_id in open_ids

    # A market buy fills against the market maker's asks.
    client.new_order(symbol=SYMBOL, side="buy", order_type="market", qty="0.003", time_in_force="ioc",
                     reduce_only=False)  # fmt: skip
    trades = client.query_trades(symbol=SYMBOL).result
    assert sum(t.qty for t in trades) == Decimal("0.003")
    assert all(t.side == "buy" and t.price >= best_ask for t in trades)
    fees = sum(t.fee_qty for t in trades)
    assert fees == sum((t.price * t.qty * info.taker_fee for t in trades), Decimal(0))
    (position,) = [p for p in client.query_positions(symbol=SYMBOL) if p.qty != 0]
    assert position.qty == Decimal("0.003")
    notional = sum(t.price * t.qty for t in trades)
    assert position.entry_price * position.qty == notional

    # Cancel by client id; the order is gone from the open orders.
    client.cancel_order(cl_ord_id=rest.cl_ord_id)
    assert client.query_order(cl_ord_id=rest.cl_ord_id).status == "canceled"
    assert rest.cl_ord_id not in [o.cl_ord_id for o in client.query_open_orders(symbol=SYMBOL).result]

    # Balance moved by exactly the fees (no realized pnl yet); identities of the balance hold.
    after = client.query_balance()
    assert start.cross_balance - after.cross_balance == fees
    assert after.balance == after.cross_balance + after.isolated_balance
    assert after.equity == after.balance + after.upnl

    # Leverage, then isolated margin on ETH-USD with a margin transfer in and out.
    client.change_leverage(symbol="ETH-USD", leverage=4)
    client.change_margin_mode(symbol="ETH-USD", margin_mode="isolated")
    config = client.query_position_config(symbol="ETH-USD")
    assert config.margin_mode == "isolated" and str(config.leverage) == "4"
    client.new_order(symbol="ETH-USD", side="sell", order_type="market", qty="0.5", time_in_force="ioc",
                     reduce_only=False)  # fmt: skip
    (eth,) = [p for p in client.query_positions(symbol="ETH-USD") if p.qty != 0]
    assert eth.margin_mode == "isolated" and eth.qty == Decimal("-0.5")
    before = client.query_balance().isolated_balance
    client.transfer_margin(symbol="ETH-USD", amount_in="25.5")
    assert client.query_balance().isolated_balance == before + Decimal("25.5")
    client.transfer_margin(symbol="ETH-USD", amount_in="-10")
    assert client.query_balance().isolated_balance == before + Decimal("15.5")
    with pytest.raises(BadRequestError):
        client.change_margin_mode(symbol="ETH-USD", margin_mode="cross")  # refused with a position open

    # Close both positions; realized pnl is booked and positions are flat.
    client.new_order(symbol=SYMBOL, side="sell", order_type="market", qty="0.003", time_in_force="ioc",
                     reduce_only=True)  # fmt: skip
    client.new_order(symbol="ETH-USD", side="buy", order_type="market", qty="0.5", time_in_force="ioc",
                     reduce_only=True)  # fmt: skip
    assert all(p.qty == 0 for p in client.query_positions())
    orders = client.query_orders(symbol=SYMBOL, limit=500).result
    assert len({o.cl_ord_id for o in orders}) == len(orders)


def test_pagination_walks_newest_first(client: StandX) -> None:
    for i in range(7):
        client.new_order(symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price=f"{90000 + i}",
                         time_in_force="gtc", reduce_only=False)  # fmt: skip
    seen: list[int] = []
    last_id = None
    while True:
        page = client.query_orders(symbol=SYMBOL, limit=3, last_id=last_id)
        if not page.result:
            break
        seen += [o.id for o in page.result]
        last_id = page.result[-1].id
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)
    client.cancel_orders(order_id_list=seen)
    assert client.query_open_orders(symbol=SYMBOL).result == []


def test_error_paths_map_to_typed_exceptions(mock_server: MockServer, account: Account) -> None:
    url = mock_server.base_url
    order = dict(symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price="100000", time_in_force="gtc",
                 reduce_only=False)  # fmt: skip
    wrong_key = StandX(jwt=account.token, signing_key=SigningKey.generate(), base_url=url)
    with pytest.raises(AuthenticationError) as info:
        wrong_key.new_order(**order)
    assert info.value.status_code == 401 and "signature" in info.value.message
    forged = StandX(jwt=account.token[:-4] + "AAAA", signing_key=account.key, base_url=url)
    with pytest.raises(AuthenticationError):
        forged.query_balance()
    with pytest.raises(ValidationError):  # refused by the client before sending
        StandX(base_url=url).query_balance()
    valid = StandX(jwt=account.token, signing_key=account.key, base_url=url)
    with pytest.raises(BadRequestError) as bad:
        valid.new_order(**{**order, "qty": "0.0005"})  # below the lot size: only the exchange knows the rule
    assert bad.value.status_code == 400 and bad.value.request_id
    other = new_account(url)
    assert StandX(jwt=other.token, signing_key=other.key, base_url=url).query_open_orders().result == []


def test_iterating_order_history_pages_through_the_mock(client: StandX) -> None:
    placed = [
        client.new_order(
            symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price=str(90000 + i), time_in_force="gtc",
            reduce_only=False,
        ).cl_ord_id
        for i in range(5)
    ]  # fmt: skip
    walked = [o.cl_ord_id for o in client.iter_query_orders(symbol=SYMBOL, limit=2)]
    assert walked == list(reversed(placed))  # newest first, every order once, across three pages


def test_symbol_rules_from_the_mock_refuse_off_tick_orders_locally(client: StandX) -> None:
    rules = client.load_symbol_rules()
    assert SYMBOL in rules
    tick = rules[SYMBOL].price_tick
    with pytest.raises(ValidationError, match="price tick"):
        client.new_order(
            symbol=SYMBOL, side="buy", order_type="limit", qty="0.001", price=Decimal(90000) + tick / 2,
            time_in_force="gtc", reduce_only=False,
        )  # fmt: skip
    assert client.query_open_orders(symbol=SYMBOL).result == []  # nothing reached the exchange
    placed = client.new_order(
        symbol=SYMBOL, side="buy", order_type="limit", qty=rules[SYMBOL].min_qty, price=Decimal(90000) + tick,
        time_in_force="gtc", reduce_only=False,
    )  # fmt: skip
    assert placed.code == 0
