"""The mock's WebSocket endpoints: the market stream (/ws-stream/v1) and the order response stream (/ws-api/v1).

Real loopback servers and a real WebSocket client (`websockets.sync`). Every recv has a timeout, and
"nothing else was sent" is proved by ordering (frames of one connection arrive in order), never by waiting.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from mock_helpers import HTTP, Trader, now_ms, sign
from nacl.signing import SigningKey
from standx_mock import MockConfig, MockServer, SymbolConfig, serve_server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection

from tests.frame_shapes import SHAPES

TIMEOUT = 10.0
PRIVATE = [{"channel": "order"}, {"channel": "trade"}, {"channel": "position"}, {"channel": "balance"}]
KNOWN_CHANNELS = "price, depth_book, public_trade, order, position, balance, trade"


# ---------------------------------------------------------------------------- fixtures and helpers


def ws_config(**options: Any) -> MockConfig:
    # This module opens a connection or two per test: more than 30 a minute. The per-IP limits are tested
    # on servers of their own (test_*_limit*), so this one lifts the new-connections limit.
    return MockConfig(seed=7, market_maker=True, validate_responses=True, ws_max_new_connections_per_minute=None,
                      **options)  # fmt: skip


@pytest.fixture(scope="module")
def ws_server() -> Iterator[MockServer]:
    with serve_server(ws_config()) as server:
        yield server


def fresh(server: MockServer) -> Iterator[MockServer]:
    """The server reset to its seeded book; every HTTP response and WS frame must have conformed."""
    assert HTTP.post(server.base_url + "/mock/reset", json={}).status_code == 200
    yield server
    errors = list(server.state.response_errors)
    server.state.response_errors.clear()
    assert not errors, errors


@pytest.fixture
def server(ws_server: MockServer) -> Iterator[MockServer]:
    yield from fresh(ws_server)


@pytest.fixture
def trader(server: MockServer) -> Trader:
    return Trader(server.base_url)


def open_ws(server: MockServer, path: str) -> ClientConnection:
    return connect(server.base_url.replace("http://", "ws://") + path, open_timeout=TIMEOUT, close_timeout=5)


def market(server: MockServer) -> ClientConnection:
    return open_ws(server, "/ws-stream/v1")


def orders(server: MockServer) -> ClientConnection:
    return open_ws(server, "/ws-api/v1")


def send(ws: Connection, message: Any) -> None:
    ws.send(json.dumps(message))


def recv(ws: Connection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return frame


def close_code(ws: Connection) -> tuple[int, str]:
    """Read until the server closes the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        for _ in range(100):
            ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


def auth(ws: Connection, trader: Trader, streams: list[dict[str, str]] | None = None) -> dict[str, Any]:
    send(ws, {"auth": {"token": trader.token, **({"streams": streams} if streams else {})}})
    return recv(ws)


def send_login(ws: Connection, trader: Trader, session_id: str = "session-1") -> None:
    params = json.dumps({"token": trader.token})
    send(ws, {"session_id": session_id, "request_id": "login-1", "method": "auth:login", "params": params})


def login(ws: Connection, trader: Trader, session_id: str = "session-1") -> dict[str, Any]:
    send_login(ws, trader, session_id)
    return recv(ws)


def command(
    ws: Connection,
    trader: Trader,
    method: str,
    params: dict[str, Any],
    request_id: str,
    *,
    key: SigningKey | None = None,
    timestamp: int | None = None,
    signed: bool = True,
) -> None:
    """An order-stream command, its `params` string signed like an HTTP body."""
    text = json.dumps(params, separators=(",", ":"))
    envelope: dict[str, Any] = {"session_id": "session-1", "request_id": request_id, "method": method, "params": text}
    if signed:
        ts = str(now_ms() if timestamp is None else timestamp)
        signature = sign(key or trader.key, request_id, ts, text.encode())
        envelope["header"] = {"x-request-id": request_id, "x-request-timestamp": ts, "x-request-signature": signature}
    send(ws, envelope)


def limit(side: str, qty: str, price: str, tif: str = "gtc", **extra: Any) -> dict[str, Any]:
    return {"symbol": "BTC-USD", "side": side, "order_type": "limit", "qty": qty, "price": price,
            "time_in_force": tif, "reduce_only": False, **extra}  # fmt: skip


def market_order(side: str, qty: str) -> dict[str, Any]:
    return {"symbol": "BTC-USD", "side": side, "order_type": "market", "qty": qty, "time_in_force": "ioc",
            "reduce_only": False}  # fmt: skip


def http_book(trader: Trader) -> dict[str, Any]:
    data: dict[str, Any] = trader.http.get("/api/query_depth_book", params={"symbol": "BTC-USD"}).json()
    return data


def orders_of(trader: Trader) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = HTTP.get(trader.base_url + "/mock/orders", params={"user": trader.user}).json()[
        "result"
    ]
    return result


# ---------------------------------------------------------------------------- market stream


def test_auth_reply_frames_and_seq(server: MockServer) -> None:
    expired = Trader(server.base_url, expires_seconds=0)
    good = Trader(server.base_url)
    with market(server) as ws:
        send(ws, {"auth": {"token": "not.a.jwt"}})
        assert recv(ws) == {"seq": 1, "channel": "auth", "data": {"code": 401, "msg": "missing or invalid token"}}
        send(ws, {"auth": {"token": expired.token}})
        assert recv(ws) == {"seq": 2, "channel": "auth", "data": {"code": 401, "msg": "token expired"}}
        send(ws, {"subscribe": {"channel": "order"}})  # still not authenticated
        assert recv(ws)["data"] == {"code": 401, "msg": "channel order needs authentication: send auth first"}
        assert auth(ws, good) == {"seq": 4, "channel": "auth", "data": {"code": 200, "msg": "success"}}
        send(ws, {"auth": {"token": good.token, "impersonate": "cv_1"}})
        assert recv(ws) == {
            "seq": 5,
            "channel": "auth",
            "data": {"code": 403, "msg": "Forbidden - the caller does not own vault cv_1"},
        }


def test_error_frames(server: MockServer) -> None:
    with market(server) as ws:
        sent: list[Any] = [
            {"subscribe": {"channel": "nope"}},
            {"subscribe": {"channel": "price"}},
            {"subscribe": {"channel": "depth_book", "symbol": "DOGE-USD"}},
            {"subscribe": {"channel": "balance"}},
            {"subscribe": {"channel": "auth"}},
            {"ping": {}},
        ]
        for message in sent:
            send(ws, message)
        ws.send("{not json")
        frames = [recv(ws) for _ in range(len(sent) + 1)]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5, 6, 7]
    assert all(f["channel"] == "error" and "symbol" not in f for f in frames)
    assert [f["data"] for f in frames] == [
        {"code": 400, "msg": f"unknown channel 'nope' (known: {KNOWN_CHANNELS})"},
        {"code": 400, "msg": "channel price needs a symbol"},
        {"code": 400, "msg": "unknown symbol 'DOGE-USD'"},
        {"code": 401, "msg": "channel balance needs authentication: send auth first"},
        {"code": 400, "msg": f"unknown channel 'auth' (known: {KNOWN_CHANNELS})"},
        {"code": 400, "msg": 'expected {"auth": {...}}, {"subscribe": {...}} or {"unsubscribe": {...}}'},
        {
            "code": 400,
            "msg": "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        },
    ]


def test_price_snapshot_then_push_on_mark_price(server: MockServer, trader: Trader) -> None:
    http = trader.http.get("/api/query_symbol_price", params={"symbol": "BTC-USD"}).json()
    with market(server) as ws:
        send(ws, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        snapshot = recv(ws)
        assert (snapshot["seq"], snapshot["channel"], snapshot["symbol"]) == (1, "price", "BTC-USD")
        data = snapshot["data"]
        assert {k: v for k, v in data.items() if k != "time"} == {
            "base": "BTC",
            "index_price": "121600.00",
            "last_price": None,
            "mark_price": "121600.00",
            "mid_price": http["mid_price"],
            "quote": "DUSD",
            "spread": [http["spread_bid"], http["spread_ask"]],
            "symbol": "BTC-USD",
        }
        # An ETH move is not pushed to a BTC subscriber: the next frame is the BTC one.
        assert HTTP.post(server.base_url + "/mock/mark_price", json={"symbol": "ETH-USD", "price": "4300"}).is_success
        assert HTTP.post(server.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "122000"}).is_success
        push = recv(ws)
        assert (push["seq"], push["channel"], push["symbol"]) == (2, "price", "BTC-USD")
        assert (push["data"]["mark_price"], push["data"]["index_price"]) == ("122000.00", "122000.00")
        assert push["data"]["spread"] == data["spread"]


def test_depth_book_snapshot_then_pushes(server: MockServer, trader: Trader) -> None:
    with market(server) as ws:
        send(ws, {"subscribe": {"channel": "depth_book", "symbol": "BTC-USD"}})
        snapshot = recv(ws)
        assert snapshot == {"seq": 1, "channel": "depth_book", "symbol": "BTC-USD", "data": http_book(trader)}
        assert len(snapshot["data"]["bids"]) == 5
        trader.order(**limit("buy", "0.010", "120000"))
        push = recv(ws)
        assert push == {"seq": 2, "channel": "depth_book", "symbol": "BTC-USD", "data": http_book(trader)}
        assert push["data"]["bids"][-1] == ["120000.00", "0.010"]
        # A market maker requote is a book change too.
        r = HTTP.post(server.base_url + "/mock/market_maker", json={"symbol": "BTC-USD", "spread": "0.001"})
        assert r.status_code == 200
        requote = recv(ws)
        assert requote == {"seq": 3, "channel": "depth_book", "symbol": "BTC-USD", "data": http_book(trader)}
        assert requote["data"] != push["data"]


def test_public_trade_pushes_each_trade(server: MockServer, trader: Trader) -> None:
    with market(server) as ws:
        send(ws, {"subscribe": {"channel": "public_trade", "symbol": "BTC-USD"}})
        trader.order(**market_order("buy", "0.050"))
        recent = trader.http.get("/api/query_recent_trades", params={"symbol": "BTC-USD"}).json()
        assert len(recent) >= 2  # 0.050 takes more than the first ask level
        frames = [recv(ws) for _ in recent]
    assert [f["seq"] for f in frames] == list(range(1, len(recent) + 1))
    assert {(f["channel"], f["symbol"]) for f in frames} == {("public_trade", "BTC-USD")}
    assert [f["data"] for f in frames] == list(reversed(recent))
    assert all(f["data"]["is_buyer_taker"] is True for f in frames)


def test_one_frame_per_match_when_a_connection_follows_several_symbols(server: MockServer, trader: Trader) -> None:
    """A connection on one channel for two symbols gets each trade and each price change once, not twice."""
    with market(server) as ws:
        for symbol in ("BTC-USD", "ETH-USD"):
            send(ws, {"subscribe": {"channel": "public_trade", "symbol": symbol}})
            send(ws, {"subscribe": {"channel": "price", "symbol": symbol}})
        snapshots = [recv(ws) for _ in range(2)]  # the price snapshots of the subscriptions
        assert {(f["channel"], f["symbol"]) for f in snapshots} == {("price", "BTC-USD"), ("price", "ETH-USD")}
        trader.order(**market_order("buy", "0.050"))
        recent = trader.http.get("/api/query_recent_trades", params={"symbol": "BTC-USD"}).json()
        assert HTTP.post(server.base_url + "/mock/mark_price", json={"symbol": "ETH-USD", "price": "4321"}).is_success
        send(ws, {"subscribe": {"channel": "depth_book", "symbol": "ETH-USD"}})  # its snapshot ends the pushes
        pushed = []
        while (frame := recv(ws))["channel"] != "depth_book":
            pushed.append(frame)
    trades = [f for f in pushed if f["channel"] == "public_trade"]
    assert [f["data"] for f in trades] == list(reversed(recent))  # each trade once
    eth_prices = [f for f in pushed if f["channel"] == "price" and f["symbol"] == "ETH-USD"]
    assert [f["data"]["mark_price"] for f in eth_prices] == ["4321.00"]  # the change once
    assert [f["seq"] for f in pushed] == list(range(3, 3 + len(pushed)))


def test_unsubscribe_stops_pushes(server: MockServer) -> None:
    with market(server) as ws:
        send(ws, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        assert recv(ws)["channel"] == "price"
        send(ws, {"unsubscribe": {"channel": "price", "symbol": "BTC-USD"}})
        send(ws, {"subscribe": {"channel": "depth_book", "symbol": "ETH-USD"}})  # the reply orders the stream
        assert recv(ws)["channel"] == "depth_book"
        assert HTTP.post(server.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "125000"}).is_success
        send(ws, {"subscribe": {"channel": "depth_book", "symbol": "BTC-USD"}})
        after = recv(ws)
    assert (after["seq"], after["channel"], after["symbol"]) == (3, "depth_book", "BTC-USD")


def test_http_fill_pushes_order_trade_position_balance(server: MockServer, trader: Trader) -> None:
    with market(server) as ws:
        assert auth(ws, trader, PRIVATE)["data"] == {"code": 200, "msg": "success"}
        trader.order(**market_order("buy", "0.050"), cl_ord_id="taker-1")
        order = trader.query_order(cl_ord_id="taker-1")
        trades = list(reversed(trader.get("/api/query_trades").json()["result"]))
        [position] = trader.positions()
        balance = {k: D(v) for k, v in trader.balance().items()}
        frames = [recv(ws) for _ in range(len(trades) + 3)]
    assert [f["channel"] for f in frames] == ["order", *["trade"] * len(trades), "position", "balance"]
    assert [f["seq"] for f in frames] == list(range(2, len(frames) + 2))
    assert all("symbol" not in f for f in frames)
    assert order["status"] == "filled"
    assert frames[0]["data"] == order
    assert [f["data"] for f in frames[1:-2]] == trades
    assert len(trades) >= 2
    pushed_position = frames[-2]["data"]
    assert pushed_position == {k: position[k] for k in pushed_position}
    assert set(pushed_position) == {
        "id", "symbol", "qty", "entry_price", "entry_value", "initial_margin", "leverage", "margin_asset",
        "margin_mode", "realized_pnl", "status", "user", "created_at", "updated_at",
    }  # fmt: skip
    assert pushed_position["qty"] == "0.050"
    pushed = frames[-1]["data"]
    occupied = balance["cross_margin"] + balance["isolated_balance"]
    assert (pushed["id"], pushed["token"], pushed["version"]) == (trader.user, "DUSD", 1)
    assert D(pushed["total"]) == balance["balance"]
    assert D(pushed["locked"]) == balance["locked"] == 0
    assert D(pushed["occupied"]) == occupied == D(position["initial_margin"])
    assert D(pushed["free"]) == balance["balance"] - occupied


def test_maker_fill_pushes_to_the_resting_order_owner(server: MockServer, trader: Trader) -> None:
    taker = Trader(server.base_url)
    with market(server) as ws:
        auth(ws, trader, [{"channel": "order"}, {"channel": "trade"}, {"channel": "balance"}])
        trader.order(**limit("buy", "0.010", "121600"), cl_ord_id="maker-1")  # inside the market maker's spread
        rested = recv(ws)
        locked = recv(ws)
        taker.order(**market_order("sell", "0.010"))  # other users' activity: only the maker's part is pushed
        frames = [recv(ws) for _ in range(3)]
    assert (rested["channel"], rested["data"]["status"], rested["data"]["cl_ord_id"]) == ("order", "open", "maker-1")
    assert (locked["channel"], locked["data"]["version"]) == ("balance", 1)
    assert D(locked["data"]["locked"]) == D("0.010") * 121600 / 10 + D("0.010") * 121600 * D("0.0004")
    assert [f["channel"] for f in frames] == ["order", "trade", "balance"]
    assert (frames[0]["data"]["status"], frames[0]["data"]["fill_qty"]) == ("filled", "0.01")
    assert (frames[1]["data"]["price"], frames[1]["data"]["qty"], frames[1]["data"]["side"]) == (
        "121600.00",
        "0.010",
        "buy",
    )
    assert frames[1]["data"]["order_id"] == rested["data"]["id"]
    assert (D(frames[2]["data"]["locked"]), frames[2]["data"]["version"]) == (D(0), 2)


# ---------------------------------------------------------------------------- order response stream


def test_login_replies(server: MockServer, trader: Trader) -> None:
    with orders(server) as ws:
        send(ws, {"session_id": "s", "request_id": "r1", "method": "auth:login", "params": '{"token":"bad"}'})
        assert recv(ws) == {"code": 401, "message": "missing or invalid token", "request_id": "r1"}
        send(ws, {"session_id": "s", "request_id": "r2", "method": "auth:login", "params": {"token": trader.token}})
        assert recv(ws) == {"code": 400, "message": "params must be a string holding JSON", "request_id": "r2"}
        send(ws, {"session_id": "s", "request_id": "r3", "method": "order:amend", "params": "{}"})
        assert recv(ws) == {
            "code": 400,
            "message": "unknown method 'order:amend' (known: auth:login, order:new, order:cancel)",
            "request_id": "r3",
        }
        ws.send("][")
        assert recv(ws) == {"code": 400, "message": "invalid JSON: Expecting value: line 1 column 1 (char 0)",
                            "request_id": ""}  # fmt: skip
        assert login(ws, trader) == {"code": 0, "message": "success", "request_id": "login-1"}


def test_order_new_before_login_is_refused(server: MockServer, trader: Trader) -> None:
    with orders(server) as ws:
        command(ws, trader, "order:new", limit("buy", "0.010", "120000"), "r1")
        assert recv(ws) == {"code": 401, "message": "not logged in: send auth:login first", "request_id": "r1"}
    assert orders_of(trader) == []


def test_signed_order_new_accepted_then_success_and_pushed(server: MockServer, trader: Trader) -> None:
    with market(server) as stream, orders(server) as ws:
        auth(stream, trader, [{"channel": "order"}])
        login(ws, trader)
        command(ws, trader, "order:new", limit("buy", "0.010", "120000", cl_ord_id="ws-1"), "req-1")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "req-1"}
        assert recv(ws) == {"code": 0, "message": "success", "request_id": "req-1"}
        order = trader.query_order(cl_ord_id="ws-1")
        assert (order["status"], order["price"], order["qty"]) == ("open", "120000.00", "0.010")
        assert recv(stream) == {"seq": 2, "channel": "order", "data": order}


def test_alo_that_would_cross_is_rejected_on_the_stream(server: MockServer, trader: Trader) -> None:
    best_ask = http_book(trader)["asks"][0][0]
    with orders(server) as ws:
        login(ws, trader)
        command(ws, trader, "order:new", limit("buy", "0.010", best_ask, "alo", cl_ord_id="alo-1"), "req-alo")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "req-alo"}
        assert recv(ws) == {"code": 400, "message": "alo order rejected", "request_id": "req-alo"}
    order = trader.query_order(cl_ord_id="alo-1")
    assert (order["status"], order["remark"]) == ("rejected", "alo order rejected")


def test_invalid_order_body_is_accepted_then_rejected(server: MockServer, trader: Trader) -> None:
    with orders(server) as ws:
        login(ws, trader)
        body = limit("buy", "0.010", "120000")
        del body["price"]
        command(ws, trader, "order:new", body, "req-bad")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "req-bad"}
        assert recv(ws) == {
            "code": 400,
            "message": "invalid request body: price is required when order_type is limit",
            "request_id": "req-bad",
        }
        command(ws, trader, "order:new", limit("buy", "0.0101", "120000"), "req-tick")
        assert recv(ws)["request_id"] == "req-tick"
        assert recv(ws) == {"code": 400, "message": "qty 0.0101 is not a multiple of the qty tick 0.001",
                            "request_id": "req-tick"}  # fmt: skip
    assert orders_of(trader) == []


def test_bad_signatures_get_one_401_frame(server: MockServer, trader: Trader) -> None:
    body = limit("buy", "0.010", "120000")
    with orders(server) as ws:
        login(ws, trader)
        command(ws, trader, "order:new", body, "r-key", key=SigningKey.generate())
        command(ws, trader, "order:new", body, "r-old", timestamp=now_ms() - 10 * 60_000)
        command(ws, trader, "order:new", body, "r-none", signed=False)
        send_login(ws, trader)  # its reply right after the three 401s proves each got exactly one frame
        frames = [recv(ws) for _ in range(4)]
    assert frames == [
        {"code": 401, "message": "invalid body signature", "request_id": "r-key"},
        {"code": 401, "message": "stale timestamp", "request_id": "r-old"},
        {
            "code": 401,
            "message": "invalid body signature: missing header x-request-id, x-request-timestamp, x-request-signature",
            "request_id": "r-none",
        },
        {"code": 0, "message": "success", "request_id": "login-1"},
    ]
    assert orders_of(trader) == []


def test_order_cancel(server: MockServer, trader: Trader) -> None:
    trader.order(**limit("buy", "0.010", "120000", cl_ord_id="c-1"))
    order_id = trader.query_order(cl_ord_id="c-1")["id"]
    with orders(server) as ws:
        login(ws, trader)
        command(ws, trader, "order:cancel", {"order_id": order_id}, "cancel-1")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "cancel-1"}
        assert recv(ws) == {"code": 0, "message": "success", "request_id": "cancel-1"}
        assert trader.query_order(order_id=order_id)["status"] == "canceled"
        command(ws, trader, "order:cancel", {"order_id": order_id}, "cancel-2")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "cancel-2"}
        assert recv(ws) == {"code": 400, "message": f"order {order_id} is not open (status canceled)",
                            "request_id": "cancel-2"}  # fmt: skip
        command(ws, trader, "order:cancel", {"cl_ord_id": "never-placed"}, "cancel-3")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "cancel-3"}
        # One dispatch: the same engine outcome answers the same status on both paths (404, not 400).
        http = trader.post("/api/cancel_order", {"cl_ord_id": "never-placed"})
        assert http.status_code == 404
        assert recv(ws) == {"code": 404, "message": http.json()["message"], "request_id": "cancel-3"}
        assert http.json()["message"] == "order not found"


def test_x_session_id_routes_http_results_to_the_session(server: MockServer, trader: Trader) -> None:
    stranger = Trader(server.base_url)
    best_ask = http_book(trader)["asks"][0][0]
    with orders(server) as ws:
        login(ws, trader, session_id="sess-A")
        placed = trader.ok("/api/new_order", limit("buy", "0.010", "120000", cl_ord_id="h-1"),
                           headers={"x-session-id": "sess-A"})  # fmt: skip
        assert recv(ws) == {"code": 0, "message": "success", "request_id": placed["request_id"]}
        alo = trader.ok("/api/new_order", limit("buy", "0.010", best_ask, "alo"), headers={"x-session-id": "sess-A"})
        assert recv(ws) == {"code": 400, "message": "alo order rejected", "request_id": alo["request_id"]}
        # Unknown session, and another user's request naming this session: the HTTP call works, nothing is pushed.
        trader.ok("/api/new_order", limit("buy", "0.010", "119000"), headers={"x-session-id": "sess-unknown"})
        stranger.ok("/api/new_order", limit("buy", "0.010", "119000"), headers={"x-session-id": "sess-A"})
        order_id = trader.query_order(cl_ord_id="h-1")["id"]
        canceled = trader.ok("/api/cancel_order", {"order_id": order_id}, headers={"x-session-id": "sess-A"})
        assert recv(ws) == {"code": 0, "message": "success", "request_id": canceled["request_id"]}


# ---------------------------------------------------------------------------- connection management


NOTICE_408 = {"code": 408, "message": "disconnecting due to not receive Pong within 5 minute period"}


@pytest.mark.parametrize("notice", [False, True])
def test_ws_drop_closes_every_connection(notice: bool) -> None:
    """1012 by default; with `notice`, the documented 408 frame first, then 1000 (the exchange's way)."""
    with serve_server(MockConfig(validate_responses=True)) as srv:
        trader = Trader(srv.base_url)
        with market(srv) as ws_market, orders(srv) as ws_orders:
            auth(ws_market, trader)
            login(ws_orders, trader)
            body = {"notice": True} if notice else None
            assert HTTP.post(srv.base_url + "/mock/ws/drop", json=body).json() == {"dropped": 2}
            for ws in (ws_market, ws_orders):
                if notice:
                    assert recv(ws) == NOTICE_408
                    assert close_code(ws) == (1000, "disconnecting")
                else:
                    assert close_code(ws) == (1012, "dropped by /mock/ws/drop")
        with market(srv) as again:  # reconnecting works
            assert auth(again, trader) == {"seq": 1, "channel": "auth", "data": {"code": 200, "msg": "success"}}
        assert srv.state.response_errors == []


def test_ws_max_age_closes_the_connection() -> None:
    with serve_server(MockConfig(ws_max_age_s=0.2)) as srv, market(srv) as ws:
        assert close_code(ws) == (1000, "maximum connection age reached")


@pytest.mark.parametrize("path", ["/ws-stream/v1", "/ws-api/v1"])
def test_a_binary_frame_ends_the_connection(server: MockServer, path: str) -> None:
    """The exchange speaks JSON in text frames; the mock does not read the same JSON sent as binary (unkind)."""
    with open_ws(server, path) as ws:
        ws.send(json.dumps({"subscribe": {"channel": "price", "symbol": "BTC-USD"}}).encode())
        assert close_code(ws) == (1003, "binary frames are not accepted: send JSON in text frames")


def test_frame_violating_the_spec_closes_with_1011() -> None:
    bad_symbol = SymbolConfig(symbol="btc_usd", base_asset="BTC", mark_price=D("100"))
    with serve_server(MockConfig(symbols=(bad_symbol,), validate_responses=True)) as srv, market(srv) as ws:
        send(ws, {"subscribe": {"channel": "price", "symbol": "btc_usd"}})
        assert close_code(ws) == (1011, "mock frame violates the spec")
        [error] = srv.state.response_errors
        assert error.startswith("mock websocket frame (channel price) violates the spec: symbol: ")


def test_a_vanished_client_does_not_break_others(server: MockServer, trader: Trader) -> None:
    with market(server) as gone:
        send(gone, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        assert recv(gone)["channel"] == "price"
        gone.socket.shutdown(socket.SHUT_RDWR)  # no close handshake
        gone.socket.close()
    with market(server) as ws:
        send(ws, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        assert recv(ws)["seq"] == 1
        assert HTTP.post(server.base_url + "/mock/mark_price", json={"symbol": "BTC-USD", "price": "123000"}).is_success
        assert recv(ws)["data"]["mark_price"] == "123000.00"
        assert trader.balance()["cross_balance"] == "100000"


def refusal(server: MockServer) -> tuple[int, str]:
    """What a connection over the limits gets (the "close" refusal): accepted, then closed at once."""
    with market(server) as ws:
        return close_code(ws)


def test_the_per_ip_limit_of_open_connections_closes_the_one_too_many() -> None:
    with serve_server(MockConfig(ws_max_connections_per_ip=2)) as srv, orders(srv):  # both endpoints count
        with market(srv):
            code, reason = refusal(srv)
            assert code == 1008 and "2 already open" in reason
        for _ in range(100):  # the server notices the close
            if srv.app.state.hub.limits.open.get("127.0.0.1") == 1:
                break
            threading.Event().wait(0.01)
        with market(srv) as again:
            send(again, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
            assert recv(again)["channel"] == "price"


def test_the_per_ip_limit_of_new_connections_counts_every_attempt() -> None:
    with serve_server(MockConfig(ws_max_new_connections_per_minute=3)) as srv:
        for _ in range(3):
            with market(srv):  # closed at once: only the minute's count grows
                pass
        code, reason = refusal(srv)
        assert code == 1008 and "more than 3 in 60 s" in reason
        code, _ = refusal(srv)  # a refused attempt counted too: still refused
        assert code == 1008


def test_the_http_refusal_answers_the_handshake_with_429() -> None:
    from websockets.exceptions import InvalidStatus

    config = MockConfig(ws_max_connections_per_ip=1, ws_limit_refusal="http")
    with serve_server(config) as srv, market(srv):
        with pytest.raises(InvalidStatus) as refused, market(srv):
            pass
        assert refused.value.response.status_code == 429
        assert json.loads(refused.value.response.body or b"{}")["code"] == 429


# ---------------------------------------------------------------------------- frame shapes the docs leave open

#: What `ws_extra_fields` adds to each market-stream payload (mock/README.md, "WebSocket streams").
UNDOCUMENTED = {"mock_undocumented": {"note": "a field the docs do not list", "ratio": 0.5, "tags": []}}


@pytest.fixture(scope="module")
def shaped_server(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """One server per frame shape (tests/frame_shapes.py), shared by the tests of that shape."""
    with serve_server(ws_config(**SHAPES[request.param])) as srv:
        yield srv


@pytest.fixture
def shaped(shaped_server: MockServer) -> Iterator[MockServer]:
    yield from fresh(shaped_server)


@pytest.mark.parametrize(
    ("shaped_server", "ack"),
    [
        ("documented", {"code": 0, "status": "accepted"}),  # notes §4.3, newest docs
        ("ack=message", {"code": 0, "message": "accepted"}),  # the variant a peer client handles (issue 14)
        ("ack=none", None),  # older docs: no acknowledgement, only the terminal frame
    ],
    indirect=["shaped_server"],
    ids=["documented", "ack=message", "ack=none"],
)
def test_order_stream_acknowledgement_shapes(shaped: MockServer, ack: dict[str, Any] | None) -> None:
    trader = Trader(shaped.base_url)
    best_ask = http_book(trader)["asks"][0][0]

    def acked(request_id: str, terminal: dict[str, Any]) -> list[dict[str, Any]]:
        return ([] if ack is None else [{**ack, "request_id": request_id}]) + [{**terminal, "request_id": request_id}]

    with orders(shaped) as ws:
        assert login(ws, trader) == {"code": 0, "message": "success", "request_id": "login-1"}
        command(ws, trader, "order:new", limit("buy", "0.010", "120000"), "req-1")
        command(ws, trader, "order:new", limit("buy", "0.010", best_ask, "alo"), "req-2")
        command(ws, trader, "order:cancel", {"cl_ord_id": "never-placed"}, "req-3")
        expected = [
            *acked("req-1", {"code": 0, "message": "success"}),
            *acked("req-2", {"code": 400, "message": "alo order rejected"}),
            *acked("req-3", {"code": 404, "message": "order not found"}),
        ]
        assert [recv(ws) for _ in expected] == expected  # one connection's frames arrive in order: none more or less
        # An HTTP order with x-session-id: only its terminal frame, whatever the acknowledgement shape.
        placed = trader.ok("/api/new_order", limit("buy", "0.010", "119000"), headers={"x-session-id": "session-1"})
        assert recv(ws) == {"code": 0, "message": "success", "request_id": placed["request_id"]}


@pytest.mark.parametrize(
    ("shaped_server", "bare", "extra"),
    [
        ("documented", False, {}),  # the envelope of notes §4.2 around the auth reply's {code, msg}
        ("errors=bare", True, {}),  # notes §6.3 / §4.1: the {code, message} body peers parse, the 408 notice's shape
        ("errors=bare+extra", True, UNDOCUMENTED),
    ],
    indirect=["shaped_server"],
    ids=["documented", "errors=bare", "errors=bare+extra"],
)
def test_market_stream_error_frame_shapes(shaped: MockServer, bare: bool, extra: dict[str, Any]) -> None:
    def error(seq: int, code: int, msg: str) -> dict[str, Any]:
        if bare:  # no envelope, so no seq: the stream's seq counts the enveloped frames only
            return {"code": code, "message": msg, **extra}
        return {"seq": seq, "channel": "error", "data": {"code": code, "msg": msg, **extra}}

    with market(shaped) as ws:
        send(ws, {"subscribe": {"channel": "depth_book", "symbol": "DOGE-USD"}})
        send(ws, {"subscribe": {"channel": "balance"}})
        send(ws, {"auth": {"token": "not.a.jwt"}})  # the auth reply keeps its documented shape
        send(ws, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        frames = [recv(ws) for _ in range(4)]
    seq = [0, 0, 1, 2] if bare else [1, 2, 3, 4]
    assert frames[:2] == [
        error(seq[0], 400, "unknown symbol 'DOGE-USD'"),
        error(seq[1], 401, "channel balance needs authentication: send auth first"),
    ]
    assert frames[2] == {"seq": seq[2], "channel": "auth", "data": {"code": 401, "msg": "missing or invalid token",
                                                                    **extra}}  # fmt: skip
    assert (frames[3]["seq"], frames[3]["channel"], frames[3]["symbol"]) == (seq[3], "price", "BTC-USD")


@pytest.mark.parametrize(
    ("shaped_server", "extra"), [("documented", False), ("extra", True)], indirect=["shaped_server"], ids=str
)
def test_extra_fields_in_every_frame(shaped: MockServer, extra: bool) -> None:
    """With `ws_extra_fields`, each frame is the documented one plus fields the docs lack: `session_id` in the
    order stream's (notes §4.3: the docs do not say; polibee tolerates it), one in each market-stream payload."""
    trader = Trader(shaped.base_url)
    more = UNDOCUMENTED if extra else {}
    session = {"session_id": "session-1"} if extra else {}
    with market(shaped) as stream, orders(shaped) as ws:
        assert auth(stream, trader, [{"channel": "order"}]) == {
            "seq": 1, "channel": "auth", "data": {"code": 200, "msg": "success", **more},
        }  # fmt: skip
        send(stream, {"subscribe": {"channel": "depth_book", "symbol": "BTC-USD"}})
        book = recv(stream)
        assert book == {"seq": 2, "channel": "depth_book", "symbol": "BTC-USD", "data": {**http_book(trader), **more}}
        send(stream, {"subscribe": {"channel": "price", "symbol": "BTC-USD"}})
        price = recv(stream)["data"]
        documented = {"base", "index_price", "last_price", "mark_price", "mid_price", "quote", "spread", "symbol",
                      "time"}  # notes §4.2, price  # fmt: skip
        assert set(price) == documented | set(more) and {k: price[k] for k in more} == more

        assert login(ws, trader) == {"code": 0, "message": "success", "request_id": "login-1", **session}
        command(ws, trader, "order:new", limit("buy", "0.010", "120000", cl_ord_id="x-1"), "req-1")
        assert recv(ws) == {"code": 0, "status": "accepted", "request_id": "req-1", **session}
        assert recv(ws) == {"code": 0, "message": "success", "request_id": "req-1", **session}
        placed = trader.ok("/api/new_order", limit("buy", "0.010", "119000"), headers={"x-session-id": "session-1"})
        assert recv(ws) == {"code": 0, "message": "success", "request_id": placed["request_id"], **session}
        order = recv(stream)
        assert order == {"seq": 4, "channel": "order", "data": {**trader.query_order(cl_ord_id="x-1"), **more}}


def test_frame_shape_options_from_the_command_line() -> None:
    from standx_mock.__main__ import build_parser, config_from_args

    default = config_from_args(build_parser().parse_args([]))
    assert (default.ws_ack, default.ws_error_frames, default.ws_extra_fields) == ("status", "channel", False)
    args = build_parser().parse_args(["--ws-ack", "none", "--ws-error-frames", "bare", "--ws-extra-fields"])
    config = config_from_args(args)
    assert (config.ws_ack, config.ws_error_frames, config.ws_extra_fields) == ("none", "bare", True)
    with pytest.raises(ValueError, match="ws_ack must be one of status, message, none; got 'accepted'"):
        MockConfig(ws_ack="accepted")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ws_error_frames must be one of channel, bare; got 'error'"):
        MockConfig(ws_error_frames="error")  # type: ignore[arg-type]
