"""The moving market: liquidations when the mark crosses a position's liquidation price, funding on the
mock's clock (scheduled, accelerated, reflected in query_funding_history), the seeded random walk of the
mark, vaults a test grants for x-impersonate, and faults queued for a bot's next requests. Every HTTP
response and WebSocket frame is validated against the spec (the servers run with validate_responses)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from mock_helpers import Trader
from standx_mock import MockConfig, MockServer, serve_server
from standx_mock.config import MarketConfig, RandomWalk
from standx_mock.testing import MockExchange
from test_mock_ws import PRIVATE, auth, limit, market, market_order, recv, send

TICK = D("0.01")


@pytest.fixture(scope="module")
def frozen_server() -> Iterator[MockServer]:
    """A market maker on a clock that moves only when a test advances it (funding hourly on it)."""
    config = MockConfig(seed=11, market_maker=True, validate_responses=True, market=MarketConfig(clock_speed=0))
    with serve_server(config) as server:
        yield server


@pytest.fixture
def exchange(frozen_server: MockServer) -> Iterator[MockExchange]:
    with MockExchange(frozen_server.base_url) as handle:
        handle.reset()
        yield handle
    errors = list(frozen_server.state.response_errors)
    frozen_server.state.response_errors.clear()
    assert not errors, errors


def long_position(exchange: MockExchange, balance: str = "1000", qty: str = "0.050") -> tuple[Trader, dict[str, Any]]:
    """An account long BTC-USD at 10x (with the default 1000 DUSD, liquidated ~14% under the entry)."""
    trader = Trader(exchange.base_url, balance=balance)
    trader.order(**market_order("buy", qty))
    [position] = trader.positions("BTC-USD")
    return trader, position


# ---------------------------------------------------------------------------- liquidation


def test_liquidation_when_the_mark_reaches_the_liquidation_price(exchange: MockExchange) -> None:
    trader, position = long_position(exchange)
    trader.order(**limit("buy", "0.001", "110000"), cl_ord_id="resting")  # canceled by the liquidation
    [position] = trader.positions("BTC-USD")  # the resting order's lock moved the liquidation price
    liq = D(position["liq_price"])
    with market(_server_ws(exchange)) as ws:
        assert auth(ws, trader, PRIVATE)["data"]["code"] == 200
        assert exchange.set_mark_price("BTC-USD", liq + TICK).liquidations == []
        assert D(trader.positions("BTC-USD")[0]["qty"]) == D("0.050")
        before = D(trader.balance()["cross_balance"])
        events = exchange.set_mark_price("BTC-USD", liq)
        frames = [recv(ws) for _ in range(5)]  # 2 orders, the fill, the position, the balance
    [order] = events.liquidations
    assert (order.source, order.side, order.status, order.reduce_only) == ("liquidation", "sell", "filled", True)
    assert order.liq_id > 0 and order.fill_qty == D("0.050") and order.fill_avg_price == liq
    [after] = trader.positions("BTC-USD")
    assert D(after["qty"]) == 0 and after["liq_price"] is None
    fill = trader.get("/api/query_trades", symbol="BTC-USD").json()["result"][0]
    assert (fill["order_id"], D(fill["fee_qty"])) == (order.id, 0)
    assert D(trader.balance()["cross_balance"]) == before + D(fill["pnl"]) < before
    assert trader.query_order(cl_ord_id="resting")["status"] == "canceled"
    view = exchange.account(trader.user)
    assert view.position("BTC-USD") is not None and view.position("BTC-USD").qty == 0  # type: ignore[union-attr]
    assert [o.id for o in view.orders if o.source == "liquidation"] == [order.id]
    assert [f["channel"] for f in frames] == ["order", "order", "trade", "position", "balance"]
    pushed_orders = {f["data"]["id"]: f["data"]["status"] for f in frames if f["channel"] == "order"}
    assert pushed_orders[order.id] == "filled" and "canceled" in pushed_orders.values()
    assert next(f for f in frames if f["channel"] == "position")["data"]["qty"] == "0.000"


def test_a_mark_that_gaps_past_bankruptcy_costs_at_most_the_collateral(exchange: MockExchange) -> None:
    trader, position = long_position(exchange)
    bankruptcy = D(position["bankruptcy_price"])
    [order] = exchange.set_mark_price("BTC-USD", "60000").liquidations
    assert order.fill_avg_price == bankruptcy > D("60000")
    assert D("0") <= D(trader.balance()["cross_balance"]) < D("1")


def test_isolated_and_short_positions_are_liquidated_too(exchange: MockExchange) -> None:
    trader = Trader(exchange.base_url, balance="2000")
    trader.ok("/api/change_margin_mode", {"symbol": "BTC-USD", "margin_mode": "isolated"})
    trader.order(**market_order("sell", "0.050"))
    [position] = trader.positions("BTC-USD")
    liq = D(position["liq_price"])
    assert liq > D(position["entry_price"])
    assert exchange.move_mark("BTC-USD", [liq - TICK]).liquidations == []
    [order] = exchange.move_mark("BTC-USD", [liq - TICK, liq + TICK * 5]).liquidations
    assert (order.side, order.fill_avg_price) == ("buy", liq + TICK * 5)
    assert D(trader.positions("BTC-USD")[0]["qty"]) == 0
    assert D(trader.balance()["isolated_balance"]) == 0 < D(trader.balance()["cross_balance"]) < D("2000")


# ---------------------------------------------------------------------------- funding on the clock


def test_funding_settles_at_each_funding_time_and_shows_in_the_history(exchange: MockExchange) -> None:
    trader, _ = long_position(exchange, balance="100000", qty="0.100")
    exchange.set_funding_rate("BTC-USD", "0.0001")
    clock = exchange.clock()
    assert clock.next_funding_time.minute == clock.next_funding_time.second == 0  # on the hour
    market_view = trader.get("/api/query_symbol_market", symbol="BTC-USD").json()
    assert market_view["funding_rate"] == "0.0001"
    assert market_view["next_funding_time"] == clock.next_funding_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    before = D(trader.balance()["cross_balance"])
    events = exchange.advance(2 * 3600)
    mine = [f for f in events.funding if f.user == trader.user]
    mark = exchange.mark_price("BTC-USD")
    assert [f.qty for f in mine] == [-D("0.100") * mark * D("0.0001")] * 2  # a long pays a positive rate
    assert [f.time for f in mine] == [clock.next_funding_time, clock.next_funding_time + timedelta(hours=1)]
    history = trader.get("/api/query_funding_history", symbol="BTC-USD").json()
    assert [D(h["qty"]) for h in history] == [f.qty for f in reversed(mine)]
    assert {h["txn_type"] for h in history} == {"funding"}
    assert D(trader.balance()["cross_balance"]) == before + sum(f.qty for f in mine)
    assert exchange.clock().next_funding_time == clock.next_funding_time + timedelta(hours=2)
    rates = trader.get("/api/query_funding_rates", symbol="BTC-USD", start_time=0, end_time=2**40).json()
    assert rates[-1]["funding_rate"] == "0.0001"


def test_accelerated_clock_pays_funding_with_no_request_and_pushes_the_balance() -> None:
    config = MockConfig(seed=3, market_maker=True, validate_responses=True,
                        market=MarketConfig(clock_speed=600, funding_interval_s=60))  # fmt: skip
    with serve_server(config) as server, MockExchange(server.base_url) as exchange:
        trader, _ = long_position(exchange, balance="100000", qty="0.100")
        exchange.set_funding_rate("BTC-USD", "0.001")
        with market(server) as ws:
            auth(ws, trader, [{"channel": "balance"}])
            pushed = recv(ws)  # a funding time every 0.1 s of real time: the ticker settles it
        assert pushed["channel"] == "balance"
        assert len(exchange.account(trader.user).funding) >= 1
        assert server.state.response_errors == []


# ---------------------------------------------------------------------------- random walk


def walk(seed: int, steps: int) -> list[D]:
    config = MockConfig(seed=seed, market=MarketConfig(clock_speed=0, funding_interval_s=0))
    with serve_server(config) as server, MockExchange(server.base_url) as exchange:
        exchange.start_random_walk(RandomWalk(interval_s=1, volatility=D("0.001"), symbols=("ETH-USD",)))
        marks = []
        for _ in range(steps):
            exchange.advance(1)
            marks.append(exchange.mark_price("ETH-USD"))
        assert exchange.mark_price("BTC-USD") == D("121600")  # not walking
        exchange.stop_random_walk()
        exchange.advance(5)
        assert exchange.mark_price("ETH-USD") == marks[-1]
    return marks


def test_the_random_walk_is_seeded_and_moves_by_ticks() -> None:
    first, again, other = walk(5, 6), walk(5, 6), walk(6, 6)
    assert first == again != other
    assert len(set(first)) > 3 and all(m == m.quantize(TICK) for m in first)
    assert all(abs(b - a) / a < D("0.006") for a, b in zip([D("4200"), *first], first, strict=False))


def test_the_market_maker_follows_the_walk(exchange: MockExchange) -> None:
    exchange.start_random_walk(RandomWalk(interval_s=60, volatility=D("0.01"), symbols=("BTC-USD",)))
    exchange.advance(600)
    mark = exchange.mark_price("BTC-USD")
    assert mark != D("121600")
    book = httpx.get(exchange.base_url + "/api/query_depth_book", params={"symbol": "BTC-USD"}).json()
    best_bid, best_ask = D(book["bids"][0][0]), D(book["asks"][0][0])
    assert best_bid < mark < best_ask and (best_ask - best_bid) / mark < D("0.001")


# ---------------------------------------------------------------------------- vaults and queued faults


def test_x_impersonate_acts_for_a_vault_the_test_granted(exchange: MockExchange) -> None:
    owner, stranger = Trader(exchange.base_url), Trader(exchange.base_url)
    vault = exchange.grant_vault(owner.user, balance="5000")
    assert vault.startswith("cv_")
    as_owner = owner.post("/api/new_order", market_order("buy", "0.010"), headers={"x-impersonate": vault})
    assert as_owner.status_code == 200, as_owner.text
    vault_user = owner.get("/api/query_balance").json()  # the owner's own balance is untouched
    assert D(vault_user["cross_balance"]) == D("100000")
    as_vault = owner.http.get("/api/query_positions", headers={**owner.auth_headers(), "x-impersonate": vault})
    assert D(as_vault.json()[0]["qty"]) == D("0.010")
    view = exchange.account(as_vault.json()[0]["user"])
    assert view.balance.cross_balance < D("5000") and view.position("BTC-USD") is not None
    refused = stranger.post("/api/new_order", market_order("buy", "0.010"), headers={"x-impersonate": vault})
    assert (refused.status_code, refused.json()["message"]) == (
        403,
        f"Forbidden - the caller does not own vault {vault}",
    )
    unknown = owner.http.get("/api/query_balance", headers={**owner.auth_headers(), "x-impersonate": "cv_nope"})
    assert unknown.status_code == 403
    with market(_server_ws(exchange)) as ws:
        send(ws, {"auth": {"token": owner.token, "impersonate": vault, "streams": [{"channel": "position"}]}})
        assert recv(ws)["data"] == {"code": 200, "msg": "success"}
        owner.post("/api/new_order", market_order("buy", "0.010"), headers={"x-impersonate": vault})
        assert D(recv(ws)["data"]["qty"]) == D("0.020")


def test_fail_next_loses_the_answer_of_the_next_new_order_only(exchange: MockExchange) -> None:
    trader = Trader(exchange.base_url)
    exchange.fail_next("drop", operation="new_order", when="after")
    trader.get("/api/query_balance")  # another operation is not affected
    with pytest.raises(httpx.RemoteProtocolError):
        trader.post("/api/new_order", market_order("buy", "0.010"))
    assert len(exchange.orders(trader.user)) == 1  # it ran: the answer was lost, not the order
    trader.order(**market_order("buy", "0.010"))
    exchange.fail_next("error", when="before", status=503, count=2)
    assert [trader.post("/api/new_order", market_order("buy", "0.010")).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    assert len(exchange.orders(trader.user)) == 3
    exchange.fail_next("rate_limit", status=7)
    exchange.clear_faults()
    assert trader.get("/api/query_balance").status_code == 200


def _server_ws(exchange: MockExchange) -> MockServer:
    """The ws helpers take a server; only its base_url is used."""
    return _Url(exchange.base_url)  # type: ignore[return-value]


class _Url:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
