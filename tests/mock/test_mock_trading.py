"""The trading story: book, resting and crossing orders, fills, positions, trades, balance, cancels, pagination."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from mock_helpers import HTTP, Trader
from standx_mock import MockConfig, MockServer, serve

TAKER = D("0.0004")
MAKER = D("0.0001")


def book(trader: Trader, symbol: str = "BTC-USD") -> dict[str, list[tuple[D, D]]]:
    data = trader.http.get("/api/query_depth_book", params={"symbol": symbol}).json()
    return {side: [(D(p), D(q)) for p, q in data[side]] for side in ("asks", "bids")}


def by_cl(trader: Trader, cl_ord_id: str) -> dict[str, Any]:
    return trader.query_order(cl_ord_id=cl_ord_id)


def assert_balance_identities(bal: dict[str, str]) -> None:
    b = {k: D(v) for k, v in bal.items()}
    assert b["balance"] == b["cross_balance"] + b["isolated_balance"]
    assert b["upnl"] == b["cross_upnl"] + b["isolated_upnl"]
    assert b["equity"] == b["balance"] + b["upnl"]
    assert b["cross_available"] == b["cross_balance"] - b["cross_margin"] - b["locked"] + b["cross_upnl"]


def test_market_maker_seeds_both_sides(trader: Trader) -> None:
    levels = book(trader)
    assert len(levels["asks"]) == 5
    assert len(levels["bids"]) == 5
    asks, bids = [p for p, _ in levels["asks"]], [p for p, _ in levels["bids"]]
    assert asks == sorted(asks)
    assert bids == sorted(bids, reverse=True)
    assert bids[0] < D("121600") < asks[0]
    price = trader.http.get("/api/query_symbol_price", params={"symbol": "BTC-USD"}).json()
    assert price["last_price"] is None
    assert D(price["spread_bid"]) == bids[0]
    assert D(price["spread_ask"]) == asks[0]
    assert D(price["mid_price"]) == (asks[0] + bids[0]) / 2
    # Deterministic with the seed: a second server with the same seed quotes the same book.
    with serve(MockConfig(seed=7, market_maker=True)) as url:
        again = HTTP.get(url + "/api/query_depth_book", params={"symbol": "BTC-USD"}).json()
    assert again == trader.http.get("/api/query_depth_book", params={"symbol": "BTC-USD"}).json()


def test_trading_story(trader: Trader, fresh: MockServer) -> None:
    levels = book(trader)
    best_ask, ask_qty = levels["asks"][0]
    best_bid, _ = levels["bids"][0]
    start = D(trader.balance()["cross_balance"])
    assert start == D("100000")

    # 1. A passive limit buy rests and locks margin + fee.
    trader.order(side="buy", order_type="limit", qty="0.010", price="120000", cl_ord_id="rest-1")
    resting = by_cl(trader, "rest-1")
    assert resting["status"] == "open"
    assert resting["fill_qty"] == "0"
    assert resting["price"] == "120000.00"
    assert resting["qty"] == "0.010"
    lock = D("0.010") * D("120000") / 10 + D("0.010") * D("120000") * TAKER
    assert D(resting["avail_locked"]) == lock
    assert D(trader.balance()["locked"]) == lock
    assert book(trader)["bids"][-1] == (D("120000"), D("0.010"))
    open_orders = trader.get("/api/query_open_orders").json()
    assert [o["cl_ord_id"] for o in open_orders["result"]] == ["rest-1"]

    # 2. A crossing limit buy takes the best ask (maker price), server-generated cl_ord_id.
    qty = D("0.005")
    assert qty <= ask_qty
    trader.order(side="buy", order_type="limit", qty=str(qty), price=str(best_ask + 5))
    taker_order = trader.get("/api/query_orders", limit=1).json()["result"][0]
    assert taker_order["status"] == "filled"
    assert len(taker_order["cl_ord_id"]) == 26
    assert D(taker_order["fill_qty"]) == qty
    assert D(taker_order["fill_avg_price"]) == best_ask
    trades = trader.get("/api/query_trades").json()
    assert trades["total"] == 1
    fill = trades["result"][0]
    value = best_ask * qty
    open_fee = value * TAKER
    assert (D(fill["price"]), D(fill["qty"]), D(fill["value"]), D(fill["fee_qty"])) == (best_ask, qty, value, open_fee)
    assert (fill["fee_asset"], fill["side"], fill["order_id"], fill["pnl"]) == ("DUSD", "buy", taker_order["id"], "0")
    assert book(trader)["asks"][0] == (best_ask, ask_qty - qty)

    [pos] = trader.positions()
    mark = D(pos["mark_price"])
    assert mark == D("121600")
    assert (D(pos["qty"]), D(pos["entry_price"]), D(pos["entry_value"])) == (qty, best_ask, value)
    assert D(pos["upnl"]) == qty * (mark - best_ask)
    assert D(pos["initial_margin"]) == value / 10
    assert pos["margin_mode"] == "cross"
    assert pos["leverage"] == "10"
    assert pos["liq_price"] is None  # 100000 DUSD of cross collateral cannot be lost on 0.005 BTC
    assert D(pos["bankruptcy_price"]) == 0
    assert taker_order["position_id"] == pos["id"]

    bal = trader.balance()
    assert_balance_identities(bal)
    assert D(bal["cross_balance"]) == start - open_fee
    assert D(bal["cross_margin"]) == value / 10
    assert D(bal["cross_upnl"]) == qty * (mark - best_ask)
    assert D(bal["locked"]) == lock

    # 3. Close with a market sell: fills at the best bid, realizes pnl, pays taker fee.
    trader.order(side="sell", order_type="market", qty=str(qty), time_in_force="ioc", reduce_only=True)
    trades = trader.get("/api/query_trades").json()["result"]
    close = trades[0]
    realized = (best_bid - best_ask) * qty
    close_fee = best_bid * qty * TAKER
    assert (D(close["price"]), D(close["pnl"]), D(close["fee_qty"])) == (best_bid, realized, close_fee)
    assert trades[0]["id"] > trades[1]["id"]
    [pos] = trader.positions()
    assert D(pos["qty"]) == 0
    assert pos["liq_price"] is None
    assert D(pos["realized_pnl"]) == realized
    bal = trader.balance()
    assert_balance_identities(bal)
    assert D(bal["cross_balance"]) == start - open_fee - close_fee + realized
    assert D(bal["pnl_freeze"]) == realized
    assert D(bal["cross_margin"]) == 0

    # 4. Cancel the resting order by cl_ord_id; locks are released; a second cancel is rejected.
    trader.ok("/api/cancel_order", {"cl_ord_id": "rest-1"})
    assert by_cl(trader, "rest-1")["status"] == "canceled"
    assert D(trader.balance()["locked"]) == 0
    assert trader.get("/api/query_open_orders").json()["result"] == []
    again = trader.post("/api/cancel_order", {"cl_ord_id": "rest-1"})
    assert again.status_code == 400
    assert "not open" in again.json()["message"]
    assert trader.post("/api/cancel_order", {"order_id": 1}).status_code == 404

    # 5. Market data reflects the trades.
    price = trader.http.get("/api/query_symbol_price", params={"symbol": "BTC-USD"}).json()
    assert D(price["last_price"]) == best_bid
    recent = trader.http.get("/api/query_recent_trades", params={"symbol": "BTC-USD"}).json()
    assert [(D(t["price"]), t["is_buyer_taker"]) for t in recent] == [(best_bid, False), (best_ask, True)]
    assert D(recent[0]["quote_qty"]) == best_bid * qty
    kline = trader.http.get(
        "/api/kline/history", params={"symbol": "BTC-USD", "from": 0, "to": 4_000_000_000, "resolution": "1D"}
    ).json()
    assert kline["s"] == "ok"
    assert (kline["o"], kline["c"], kline["h"], kline["l"]) == (
        [float(best_ask)],
        [float(best_bid)],
        [float(best_ask)],
        [float(best_bid)],
    )
    assert kline["v"] == [float(qty * 2)]
    market = trader.http.get("/api/query_symbol_market", params={"symbol": "BTC-USD"}).json()
    assert D(market["volume_24h"]) == qty * 2
    assert D(market["high_price_24h"]) == best_ask
    orders = HTTP.get(fresh.base_url + "/mock/orders", params={"user": trader.user}).json()["result"]
    ids = [o["id"] for o in orders]
    assert len(ids) == len(set(ids)) == 3
    stats = HTTP.get(fresh.base_url + "/mock/stats").json()
    assert stats["orders_created"] == 3


def test_alo_partial_fills_and_ioc(trader: Trader) -> None:
    levels = book(trader)
    (a0, q0), (a1, q1) = levels["asks"][0], levels["asks"][1]
    # Post-only that would cross: accepted (code 0) but rejected by matching.
    trader.order(side="buy", order_type="limit", qty="0.001", price=str(a0), time_in_force="alo", cl_ord_id="alo-x")
    rejected = by_cl(trader, "alo-x")
    assert (rejected["status"], rejected["remark"], rejected["fill_qty"]) == ("rejected", "alo order rejected", "0")
    # Post-only below the ask rests.
    trader.order(
        side="buy", order_type="limit", qty="0.001", price=str(a0 - D("0.01")), time_in_force="alo", cl_ord_id="alo-ok"
    )
    assert by_cl(trader, "alo-ok")["status"] == "open"
    # gtc through two levels: partial fills, remainder rests at the limit price.
    want = q0 + q1 + D("0.002")
    trader.order(side="buy", order_type="limit", qty=str(want), price=str(a1), cl_ord_id="sweep")
    sweep = by_cl(trader, "sweep")
    assert sweep["status"] == "open"
    assert D(sweep["fill_qty"]) == q0 + q1
    assert D(sweep["fill_avg_price"]) == ((a0 * q0 + a1 * q1) / (q0 + q1)).quantize(D("1e-9"))
    assert book(trader)["bids"][0] == (a1, D("0.002"))
    fills = trader.get("/api/query_trades", symbol="BTC-USD").json()["result"]
    assert [(D(f["price"]), D(f["qty"])) for f in fills] == [(a1, q1), (a0, q0)]
    # ioc that cannot fully fill: fills what it can, the rest is canceled.
    a2, q2 = book(trader)["asks"][0]
    trader.order(
        side="buy", order_type="limit", qty=str(q2 + D("0.001")), price=str(a2), time_in_force="ioc", cl_ord_id="ioc-1"
    )
    ioc = by_cl(trader, "ioc-1")
    assert (ioc["status"], D(ioc["fill_qty"])) == ("canceled", q2)
    # cancel_orders answers the live `[]` by default; unknown ids are skipped.
    r = trader.post("/api/cancel_orders", {"cl_ord_id_list": ["alo-ok", "sweep", "unknown"], "order_id_list": [1]})
    assert (r.status_code, r.json()) == (200, [])
    assert {by_cl(trader, c)["status"] for c in ("alo-ok", "sweep")} == {"canceled"}
    assert trader.get("/api/query_open_orders").json()["total"] == 0


def test_empty_book_market_order_and_ack_style_cancel_orders() -> None:
    with serve(MockConfig(cancel_orders_response="ack", validate_responses=True)) as url:
        t = Trader(url)
        t.order(side="buy", order_type="market", qty="0.001", time_in_force="ioc", cl_ord_id="m")
        m = by_cl(t, "m")
        assert (m["status"], m["fill_qty"], m["price"]) == ("canceled", "0", "0")
        assert "no liquidity" in m["remark"]
        t.order(side="buy", order_type="limit", qty="0.001", price="120000", cl_ord_id="l")
        assert t.ok("/api/cancel_orders", {"order_id_list": [t.query_order(cl_ord_id="l")["id"]]})["request_id"]
        assert by_cl(t, "l")["status"] == "canceled"
        price = t.http.get("/api/query_symbol_price", params={"symbol": "BTC-USD"}).json()
        assert price["last_price"] is price["mid_price"] is price["spread_bid"] is price["spread_ask"] is None
        market = t.http.get("/api/query_symbol_market", params={"symbol": "BTC-USD"}).json()
        assert market["spread"] is None
        assert t.positions() == []
        assert t.http.get(
            "/api/kline/history", params={"symbol": "BTC-USD", "from": 0, "to": 4_000_000_000, "resolution": "1"}
        ).json() == {"s": "no_data"}
        t.close()


def test_cross_user_matching_and_reduce_only(trader: Trader, other_trader: Trader) -> None:
    # Maker (trader) posts inside the spread; taker (other_trader) lifts it.
    levels = book(trader)
    inside = levels["asks"][0][0] - D("1.00")
    trader.order(side="sell", order_type="limit", qty="0.002", price=str(inside), cl_ord_id="maker")
    other_trader.order(side="buy", order_type="limit", qty="0.002", price=str(inside), cl_ord_id="taker")
    maker_fill = trader.get("/api/query_trades").json()["result"][0]
    taker_fill = other_trader.get("/api/query_trades").json()["result"][0]
    value = inside * D("0.002")
    assert D(maker_fill["fee_qty"]) == value * MAKER
    assert D(taker_fill["fee_qty"]) == value * TAKER
    assert D(trader.positions()[0]["qty"]) == D("-0.002")
    assert D(other_trader.positions()[0]["qty"]) == D("0.002")
    short = trader.positions()[0]
    assert D(short["upnl"]) == (inside - D(short["mark_price"])) * D("0.002")
    # reduce_only in the direction of the position (sell while short) is rejected by matching.
    trader.order(side="sell", order_type="market", qty="0.001", time_in_force="ioc", reduce_only=True, cl_ord_id="ro")
    assert by_cl(trader, "ro")["status"] == "rejected"
    # reduce_only may not exceed the position minus other pending reduce-only orders.
    trader.order(side="buy", order_type="market", qty="0.003", time_in_force="ioc", reduce_only=True, cl_ord_id="ro2")
    ro2 = by_cl(trader, "ro2")
    assert (ro2["status"], ro2["fill_qty"]) == ("rejected", "0")
    assert "exceeds the position" in ro2["remark"]
    trader.order(side="buy", order_type="limit", qty="0.001", price="100000", reduce_only=True, cl_ord_id="ro3")
    trader.order(side="buy", order_type="market", qty="0.002", time_in_force="ioc", reduce_only=True, cl_ord_id="ro4")
    assert by_cl(trader, "ro4")["status"] == "rejected"
    trader.order(side="buy", order_type="market", qty="0.001", time_in_force="ioc", reduce_only=True, cl_ord_id="ro5")
    assert by_cl(trader, "ro5")["status"] == "filled"
    trader.ok("/api/cancel_order", {"cl_ord_id": "ro3"})
    trader.order(side="buy", order_type="market", qty="0.001", time_in_force="ioc", reduce_only=True, cl_ord_id="ro6")
    assert D(trader.positions()[0]["qty"]) == 0
    assert D(trader.positions()[0]["realized_pnl"]) != 0
    assert_balance_identities(trader.balance())
    assert_balance_identities(other_trader.balance())


def test_position_config_margin_mode_and_isolated_margin(trader: Trader) -> None:
    cfg = trader.get("/api/query_position_config", symbol="BTC-USD").json()
    assert cfg == {"symbol": "BTC-USD", "leverage": "10", "margin_mode": "cross"}
    trader.ok("/api/change_leverage", {"symbol": "BTC-USD", "leverage": 5})
    trader.ok("/api/change_margin_mode", {"symbol": "BTC-USD", "margin_mode": "isolated"})
    assert trader.get("/api/query_position_config", symbol="BTC-USD").json() == {
        "symbol": "BTC-USD",
        "leverage": "5",
        "margin_mode": "isolated",
    }
    # Open an isolated long.
    trader.order(side="buy", order_type="market", qty="0.010", time_in_force="ioc", leverage=5, margin_mode="isolated")
    [pos] = trader.positions()
    fills = trader.get("/api/query_trades").json()["result"]
    entry_value = sum((D(f["value"]) for f in fills), D(0))
    assert D(pos["entry_value"]) == entry_value
    assert sum(D(f["qty"]) for f in fills) == D(pos["qty"]) == D("0.010")
    assert pos["margin_mode"] == "isolated"
    assert D(pos["holding_margin"]) == entry_value / 5
    bal = trader.balance()
    assert_balance_identities(bal)
    assert D(bal["isolated_balance"]) == entry_value / 5
    assert D(bal["cross_balance"]) == D("100000") - entry_value / 5 - entry_value * TAKER
    # Mode changes are refused while a position (or an open order) exists.
    r = trader.post("/api/change_margin_mode", {"symbol": "BTC-USD", "margin_mode": "cross"})
    assert r.status_code == 400
    assert "position is open" in r.json()["message"]
    trader.order(symbol="ETH-USD", side="buy", order_type="limit", qty="0.10", price="4000", cl_ord_id="eth")
    r = trader.post("/api/change_margin_mode", {"symbol": "ETH-USD", "margin_mode": "isolated"})
    assert "orders are open" in r.json()["message"]
    # transfer_margin: add, remove the excess, refuse to remove more.
    trader.ok("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "100.5"})
    assert D(trader.positions()[0]["holding_margin"]) == entry_value / 5 + D("100.5")
    liq_before = D(trader.positions()[0]["liq_price"])
    trader.ok("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "-50"})
    assert D(trader.positions()[0]["liq_price"]) > liq_before
    r = trader.post("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "-51"})
    assert r.status_code == 400
    assert "not enough isolated margin" in r.json()["message"]
    r = trader.post("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "1000000"})
    assert "insufficient balance" in r.json()["message"]
    bal = trader.balance()
    assert_balance_identities(bal)
    assert D(bal["isolated_balance"]) == entry_value / 5 + D("50.5")


def test_pagination_and_filters(trader: Trader) -> None:
    for i in range(5):
        trader.order(side="buy", order_type="limit", qty="0.001", price=str(110000 + i), cl_ord_id=f"p{i}")
    trader.order(symbol="ETH-USD", side="sell", order_type="limit", qty="0.01", price="4300", cl_ord_id="e0")
    trader.ok("/api/cancel_order", {"cl_ord_id": "p1"})
    page1 = trader.get("/api/query_orders", limit=2).json()
    assert page1["code"] == 0
    assert page1["page_size"] == 2
    assert page1["total"] == 6
    assert [o["cl_ord_id"] for o in page1["result"]] == ["e0", "p4"]
    page2 = trader.get("/api/query_orders", limit=2, last_id=page1["result"][-1]["id"]).json()
    assert [o["cl_ord_id"] for o in page2["result"]] == ["p3", "p2"]
    page4 = trader.get("/api/query_orders", limit=2, last_id=min(o["id"] for o in page2["result"]) - 1).json()
    assert [o["cl_ord_id"] for o in page4["result"]] == ["p0"]
    btc = trader.get("/api/query_orders", symbol="BTC-USD").json()
    assert btc["total"] == 5
    canceled = trader.get("/api/query_orders", status="canceled").json()
    assert [o["cl_ord_id"] for o in canceled["result"]] == ["p1"]
    assert trader.get("/api/query_orders", order_type="market").json()["total"] == 0
    assert trader.get("/api/query_orders", start="2100-01-01T00:00:00Z").json()["total"] == 0
    assert trader.get("/api/query_orders", end="2000-01-01T00:00:00.5Z").json()["total"] == 0
    assert trader.get("/api/query_orders", end="2000-01-01").status_code == 400  # format: date-time
    assert trader.get("/api/query_orders", start="2000-01-01T00:00:00+00:00").json()["total"] == 6
    open_eth = trader.get("/api/query_open_orders", symbol="ETH-USD").json()
    assert [o["cl_ord_id"] for o in open_eth["result"]] == ["e0"]
    assert trader.get("/api/query_open_orders", limit=3).json()["page_size"] == 3
    assert trader.get("/api/query_trades", side="sell").json()["result"] == []
    by_id = trader.query_order(order_id=page1["result"][0]["id"])
    assert by_id["cl_ord_id"] == "e0"
    assert trader.get("/api/query_order", cl_ord_id="nope").status_code == 404


def test_market_maker_endpoint_and_reset(trader: Trader, fresh: MockServer) -> None:
    r = HTTP.post(fresh.base_url + "/mock/market_maker", json={"symbol": "ETH-USD", "levels": 2, "spread": "0.01"})
    assert r.status_code == 200
    assert r.json()["orders"] == 4
    eth = book(trader, "ETH-USD")
    assert len(eth["asks"]) == len(eth["bids"]) == 2
    assert eth["bids"][0][0] == D("4179.00")
    assert eth["asks"][0][0] == D("4221.00")
    assert HTTP.post(fresh.base_url + "/mock/market_maker", json={"symbol": "NOPE"}).status_code == 400
    trader.order(side="buy", order_type="limit", qty="0.001", price="100000")
    HTTP.post(fresh.base_url + "/mock/reset", json={})
    assert trader.get("/api/query_orders").json()["total"] == 0
    assert trader.balance()["cross_balance"] == "100000"
    assert len(book(trader, "ETH-USD")["asks"]) == 5


def test_mark_price_funding_and_overview(trader: Trader, fresh: MockServer) -> None:
    trader.order(side="buy", order_type="market", qty="0.010", time_in_force="ioc")
    entry = D(trader.positions()[0]["entry_price"])
    HTTP.post(fresh.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "125000"})
    [pos] = trader.positions()
    assert D(pos["upnl"]) == (D("125000") - entry) * D("0.010")
    assert D(trader.balance()["upnl"]) == D(pos["upnl"])
    r = HTTP.post(fresh.base_url + "/mock/funding", json={"symbol": "BTC-USD"})
    payments = [p for p in r.json()["payments"] if p["user"] == trader.user]
    history = trader.get("/api/query_funding_history").json()
    assert [h["id"] for h in history] == [p["id"] for p in payments]
    rate = D(trader.http.get("/api/query_symbol_market", params={"symbol": "BTC-USD"}).json()["funding_rate"])
    assert D(history[0]["qty"]) == -(D("0.010") * D("125000") * rate)
    assert trader.get("/api/query_funding_history", symbol="ETH-USD").json() == []
    rates = trader.http.get(
        "/api/query_funding_rates",
        params={"symbol": "BTC-USD", "start_time": 1754870400000, "end_time": 1754870400000 + 5 * 3600_000},
    ).json()
    assert [r["time"] for r in rates][:2] == ["2025-08-11T00:00:00.000000Z", "2025-08-11T01:00:00.000000Z"]
    assert len(rates) == 6
    overview = trader.http.get("/api/query_market_overview").json()
    assert overview["summary"]["symbol_count"] == 2
    btc = overview["symbols"][0]
    assert D(btc["open_interest"]) == D("0.010")
    assert D(btc["open_interest_notional"]) == D("0.010") * D("125000")


def test_take_profit_and_stop_loss_children(trader: Trader, fresh: MockServer) -> None:
    trader.order(
        side="buy",
        order_type="market",
        qty="0.004",
        time_in_force="ioc",
        tp_price="130000",
        sl_price="110000.50",
        cl_ord_id="parent",
    )
    parent = by_cl(trader, "parent")
    assert parent["status"] == "filled"
    children = [o for o in trader.get("/api/query_open_orders").json()["result"] if o["status"] == "untriggered"]
    assert sorted((c["remark"], c["price"], c["side"], c["qty"], c["reduce_only"]) for c in children) == [
        ("stop loss", "110000.50", "sell", "0.004", True),
        ("take profit", "130000.00", "sell", "0.004", True),
    ]
    assert trader.get("/api/query_orders", status="untriggered").json()["total"] == 2
    # A pending TP/SL pair blocks further reduce-only orders (the spec's reduce-only rule).
    trader.order(side="sell", order_type="market", qty="0.001", time_in_force="ioc", reduce_only=True, cl_ord_id="r")
    assert by_cl(trader, "r")["status"] == "rejected"
    # The mark price rising through the TP fires it (market, reduce-only) and cancels the SL.
    HTTP.post(fresh.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "131000"})
    after = {o["remark"].split(";")[0]: o for o in trader.get("/api/query_orders").json()["result"] if o["remark"]}
    assert after["take profit"]["status"] == "filled"
    assert D(after["take profit"]["fill_qty"]) == D("0.004")
    assert after["stop loss"]["status"] == "canceled"
    assert after["stop loss"]["remark"] == "stop loss; canceled: the other TP/SL order triggered"
    assert D(trader.positions()[0]["qty"]) == 0
    assert "tp_price" not in parent


def test_a_take_profit_larger_than_the_position_closes_it_and_cancels_the_rest(
    trader: Trader, fresh: MockServer
) -> None:
    trader.order(side="buy", order_type="market", qty="0.004", time_in_force="ioc", tp_price="130000")
    # A plain sell shrinks the position under the take profit's quantity (reduce-only ones are blocked).
    trader.order(side="sell", order_type="market", qty="0.003", time_in_force="ioc")
    HTTP.post(fresh.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "131000"})
    tp = next(o for o in trader.get("/api/query_orders").json()["result"] if o["remark"].startswith("take profit"))
    assert (tp["status"], D(tp["qty"]), D(tp["fill_qty"])) == ("canceled", D("0.004"), D("0.001"))
    assert tp["remark"] == "take profit; reduce only order canceled: the position is closed"
    assert D(trader.positions()[0]["qty"]) == 0
