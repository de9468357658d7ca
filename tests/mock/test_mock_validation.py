"""Spec-driven request validation (400), routing (404/405) and business-rule rejections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from mock_helpers import HTTP, Trader
from standx_mock import MockConfig, MockServer, serve_server

ORDER: dict[str, Any] = {
    "symbol": "BTC-USD",
    "side": "buy",
    "order_type": "limit",
    "qty": "0.001",
    "price": "100000",
    "time_in_force": "gtc",
    "reduce_only": False,
}


def bad_request(r: httpx.Response) -> str:
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == 400
    assert body["request_id"]
    message: str = body["message"]
    return message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"side": "long"}, "side"),
        ({"time_in_force": "fok"}, "time_in_force"),
        ({"order_type": "stop"}, "order_type"),
        ({"qty": "1,5"}, "qty"),
        ({"qty": "1e-3"}, "qty"),
        ({"qty": "-0.1"}, "qty"),
        ({"qty": "0"}, "qty"),
        ({"qty": 0.1}, "qty"),
        ({"price": "50000.0.0"}, "price"),
        ({"reduce_only": "false"}, "reduce_only"),
        ({"leverage": "10"}, "leverage"),
        ({"leverage": 0}, "leverage"),
        ({"symbol": "btc usd"}, "symbol"),
        ({"cl_ord_id": "has space"}, "cl_ord_id"),
        ({"zzz": 1}, "zzz"),
    ],
)
def test_new_order_body_schema(trader: Trader, change: dict[str, Any], expected: str) -> None:
    message = bad_request(trader.post("/api/new_order", {**ORDER, **change}))
    assert expected in message
    assert message.startswith("invalid request body")


@pytest.mark.parametrize("missing", ["symbol", "side", "order_type", "qty", "time_in_force", "reduce_only"])
def test_new_order_missing_field(trader: Trader, missing: str) -> None:
    body = {k: v for k, v in ORDER.items() if k != missing}
    assert f"'{missing}' is a required property" in bad_request(trader.post("/api/new_order", body))


def test_conditional_price_rules(trader: Trader) -> None:
    body = {k: v for k, v in ORDER.items() if k != "price"}
    assert "price is required when order_type is limit" in bad_request(trader.post("/api/new_order", body))
    market = {**ORDER, "order_type": "market", "time_in_force": "ioc"}
    assert "price is not allowed when order_type is market" in bad_request(trader.post("/api/new_order", market))


def test_require_one_of_in_bodies_and_queries(trader: Trader) -> None:
    assert "at least one of order_id, cl_ord_id is required" in bad_request(trader.post("/api/cancel_order", {}))
    assert "order_id_list, cl_ord_id_list" in bad_request(trader.post("/api/cancel_orders", {}))
    assert "order_id, cl_ord_id" in bad_request(trader.get("/api/query_order"))
    assert "order_id" in bad_request(trader.post("/api/cancel_order", {"order_id": "12"}))


def test_query_parameters(trader: Trader, base_url: str) -> None:
    assert "unknown query parameter 'depth'" in bad_request(
        HTTP.get(base_url + "/api/query_depth_book", params={"symbol": "BTC-USD", "depth": 5})
    )
    assert "missing required query parameter 'symbol'" in bad_request(HTTP.get(base_url + "/api/query_symbol_price"))
    assert "'limit'" in bad_request(trader.get("/api/query_orders", limit="abc"))
    assert "maximum" in bad_request(trader.get("/api/query_orders", limit=501))
    assert "minimum" in bad_request(trader.get("/api/query_orders", limit=0))
    assert "'status'" in bad_request(trader.get("/api/query_orders", status="cancelled"))
    assert "'side'" in bad_request(trader.get("/api/query_trades", side="long"))
    assert "'resolution'" in bad_request(
        HTTP.get(base_url + "/api/kline/history", params={"symbol": "BTC-USD", "from": 0, "to": 10, "resolution": "4h"})
    )
    assert "'start'" in bad_request(trader.get("/api/query_orders", start="yesterday"))
    assert "'limit'" in bad_request(trader.get("/api/query_orders", limit=["1", "2"]))
    assert trader.get("/api/query_orders", limit=500, status="new", start="2025-01-01T00:00:00Z").status_code == 200


def test_headers_body_encoding_and_content_type(trader: Trader, base_url: str) -> None:
    raw = b'{"symbol":"BTC-USD","leverage":5}'
    headers = {**trader.signed_headers(raw), "Content-Type": "text/plain"}
    assert "content-type" in bad_request(HTTP.post(base_url + "/api/change_leverage", content=raw, headers=headers))
    headers = trader.signed_headers(raw)
    del headers["Content-Type"]
    assert "content-type" in bad_request(HTTP.post(base_url + "/api/change_leverage", content=raw, headers=headers))
    broken = b'{"symbol":"BTC-USD",'
    r = HTTP.post(base_url + "/api/change_leverage", content=broken, headers=trader.signed_headers(broken))
    assert "not valid JSON" in bad_request(r)
    r = HTTP.post(base_url + "/api/change_leverage", content=b"", headers=trader.signed_headers(b""))
    assert "request body is required" in bad_request(r)
    r = trader.post("/api/change_leverage", {"symbol": "BTC-USD", "leverage": 5}, headers={"x-impersonate": "vault1"})
    assert "x-impersonate" in bad_request(r)
    r = trader.post("/api/change_leverage", {"symbol": "BTC-USD", "leverage": 5}, headers={"x-impersonate": "cv_abc"})
    assert r.status_code == 403
    r = trader.post("/api/new_order", ORDER, headers={"x-session-id": "6f1c2a9e"})
    assert r.status_code == 200


def test_routing_404_and_405(base_url: str) -> None:
    r = HTTP.get(base_url + "/api/does_not_exist")
    assert r.status_code == 404
    assert r.json()["code"] == 404
    assert HTTP.get(base_url + "/api/health/").status_code == 404
    for method in ("POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        r = HTTP.request(method, base_url + "/api/query_balance")
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET"
    r = HTTP.get(base_url + "/api/new_order")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"qty": "0.0015"}, "not a multiple of the qty tick 0.001"),
        ({"qty": "0.0001"}, "not a multiple of the qty tick"),
        ({"price": "100000.005"}, "not a multiple of the price tick 0.01"),
        ({"price": "1000"}, "outside the allowed band"),
        ({"qty": "101"}, "above the maximum order qty 100"),
        ({"symbol": "DOGE-USD"}, "unknown symbol"),
        ({"leverage": 3}, "does not match the position's leverage 10"),
        ({"margin_mode": "isolated"}, "does not match the position's cross"),
    ],
)
def test_order_business_rules(trader: Trader, change: dict[str, Any], expected: str) -> None:
    assert expected in bad_request(trader.post("/api/new_order", {**ORDER, **change}))


def test_min_qty_and_margin(trader: Trader) -> None:
    eth = {**ORDER, "symbol": "ETH-USD", "price": "4200", "qty": "0.005"}
    assert "below the minimum order qty 0.01" in bad_request(trader.post("/api/new_order", eth))
    big = {**ORDER, "qty": "99", "price": "121000"}
    assert "insufficient margin" in bad_request(trader.post("/api/new_order", big))


def test_duplicate_client_order_id_accepted_by_default(trader: Trader, fresh: MockServer) -> None:
    """Nothing says StandX refuses a reused cl_ord_id, so by default the mock does not either."""
    first = trader.order(side="buy", order_type="limit", qty="0.001", price="100000", cl_ord_id="dup-1")
    second = trader.order(side="buy", order_type="limit", qty="0.001", price="100001", cl_ord_id="dup-1")
    assert first["code"] == second["code"] == 0
    rows = HTTP.get(fresh.base_url + "/mock/orders", params={"user": trader.user}).json()["result"]
    assert sorted(Decimal(o["price"]) for o in rows if o["cl_ord_id"] == "dup-1") == [100000, 100001]
    assert Decimal(trader.query_order(cl_ord_id="dup-1")["price"]) == 100000  # the id finds the first order


def test_duplicate_client_order_id_rejected_when_configured() -> None:
    with serve_server(MockConfig(seed=7, duplicate_cl_ord_id="reject")) as server:
        trader, other = Trader(server.base_url), Trader(server.base_url)
        trader.order(side="buy", order_type="limit", qty="0.001", price="100000", cl_ord_id="dup-1")
        assert "duplicate cl_ord_id" in bad_request(trader.post("/api/new_order", {**ORDER, "cl_ord_id": "dup-1"}))
        # cl_ord_id is per user
        other.order(side="buy", order_type="limit", qty="0.001", price="100000", cl_ord_id="dup-1")
        trader.close()
        other.close()


def test_leverage_and_transfer_rules(trader: Trader) -> None:
    assert "between 1 and 20" in bad_request(trader.post("/api/change_leverage", {"symbol": "BTC-USD", "leverage": 21}))
    assert "no isolated position" in bad_request(
        trader.post("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "10"})
    )
    assert "amount_in" in bad_request(trader.post("/api/transfer_margin", {"symbol": "BTC-USD", "amount_in": "1e3"}))
