"""The WebSocket streams against a scripted WebSocket server on loopback (real sockets, real ed25519).

Frames come from tests/fixtures/ws_examples.json (the documented frames of standx-api-notes.md §4). Signed
commands are checked with PyNaCl's VerifyKey over the documented message, not with the client's signer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import nacl.signing
import pytest
from standx_client import AuthenticationError, BadRequestError, OrderStatusUnknownError, StreamClosedError
from standx_client import ValidationError as StandXValidationError
from standx_client.models import Order, OrderStatus, StreamPrice
from standx_client.retry import RetryPolicy
from standx_client.streams import MarketStream, OrderStream, Reconnected, StreamMessage, StreamState
from websockets.asyncio.server import ServerConnection, serve

from tests.conftest import JWT, SEED_HEX, load_fixture

WS = load_fixture("ws_examples.json")
FAST = RetryPolicy(attempts=5, base=0.001, cap=0.004)
VERIFY_KEY = nacl.signing.SigningKey(bytes.fromhex(SEED_HEX)).verify_key

Handler = Callable[[ServerConnection, list[dict[str, Any]]], Awaitable[None]]


async def with_server(handler: Handler, body: Callable[[str, list[dict[str, Any]]], Awaitable[None]]) -> None:
    """Run `body(url, received)` against a server whose connections run `handler`; `received` logs every
    client frame (decoded) across connections, with {"connection": n} markers when one opens."""
    received: list[dict[str, Any]] = []
    connections = 0

    async def run(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        received.append({"connection": connections})
        await handler(ws, received)

    async with serve(run, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        await asyncio.wait_for(body(f"ws://127.0.0.1:{port}", received), 10)


async def recv(ws: ServerConnection, received: list[dict[str, Any]]) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.recv())
    received.append(frame)
    return frame


def frames(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in received if "connection" not in f]


# --- market stream ------------------------------------------------------------------------------------------


async def market_server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
    """Auth reply, then the documented price and order frames once subscribed; keeps the connection open."""
    auth = await recv(ws, received)
    assert auth == {"auth": {"token": JWT}}
    await ws.send(json.dumps(WS["auth_ok"]))
    while True:
        message = await recv(ws, received)
        channel = message["subscribe"]["channel"]
        await ws.send(json.dumps(WS[channel]))


def test_market_stream_authenticates_subscribes_and_types_the_documented_frames() -> None:
    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(jwt=JWT, url=url) as stream:
            await stream.subscribe("price", "BTC-USD")
            price = await anext(stream)
            await stream.subscribe("order")
            order = await anext(stream)
        assert isinstance(price, StreamMessage) and isinstance(order, StreamMessage)
        assert (price.seq, price.channel, price.symbol) == (3, "price", "BTC-USD")
        assert isinstance(price.data, StreamPrice)
        assert price.data.mark_price == Decimal(WS["price"]["data"]["mark_price"])
        assert price.data.spread == [Decimal(v) for v in WS["price"]["data"]["spread"]]
        assert price.data.time.microsecond == 923602  # nanoseconds truncated, never rounded up
        assert isinstance(order.data, Order) and order.data.status is OrderStatus.FILLED
        assert order.data.price == Decimal(WS["order"]["data"]["price"])
        assert stream.last_seq == 35
        assert frames(received)[1:] == [
            {"subscribe": {"channel": "price", "symbol": "BTC-USD"}},
            {"subscribe": {"channel": "order"}},
        ]

    asyncio.run(with_server(market_server, body))


@pytest.mark.parametrize(
    ("channel", "symbol", "jwt", "field"),
    [
        ("tickers", "BTC-USD", JWT, "channel"),  # not a channel of the spec
        ("auth", None, JWT, "channel"),  # a reply channel, not a subscription
        ("price", None, JWT, "symbol"),  # public channels need a symbol
        ("order", "BTC-USD", JWT, "symbol"),  # account channels take none
        ("balance", None, None, "jwt"),  # account channels need the JWT
        ("price", "btc-usd", None, "symbol"),  # the spec's Symbol pattern (HTTP refuses it too)
        ("depth_book", "BTC-USD ", None, "symbol"),
        ("public_trade", "DOGE-USD", None, "unknown symbol"),  # not in the loaded symbol rules
    ],
)
def test_bad_subscriptions_are_refused_before_anything_is_sent(
    channel: str, symbol: str | None, jwt: str | None, field: str
) -> None:
    from standx_client.models import SymbolInfo
    from standx_client.precision import SymbolRules

    from tests.conftest import DOC_EXAMPLES

    rules = {"BTC-USD": SymbolRules.from_info(SymbolInfo.from_dict(DOC_EXAMPLES["query_symbol_info"]["response"][0]))}

    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        async for message in ws:
            frame = json.loads(message)
            received.append(frame)
            if "auth" in frame:
                await ws.send(json.dumps(WS["auth_ok"]))

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(url=url, jwt=jwt, symbol_rules=rules) as stream:
            with pytest.raises(StandXValidationError, match=field):
                await stream.subscribe(channel, symbol)
            await stream.subscribe("price", "BTC-USD")  # a good one goes out, and only it
            while len(frames(received)) < (2 if jwt else 1):
                await asyncio.sleep(0.005)
        assert [f for f in frames(received) if "auth" not in f] == [
            {"subscribe": {"channel": "price", "symbol": "BTC-USD"}}
        ]

    asyncio.run(with_server(server, body))


def test_plain_ws_only_on_loopback() -> None:
    with pytest.raises(StandXValidationError, match="wss://"):
        MarketStream(url="ws://perps.standx.com/ws-stream/v1")
    assert "wss://perps.standx.com" in repr(MarketStream())


def test_refused_auth_is_a_typed_error() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await recv(ws, received)
        await ws.send(json.dumps({"seq": 1, "channel": "auth", "data": {"code": 401, "msg": "invalid token"}}))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        with pytest.raises(AuthenticationError, match="invalid token"):
            await MarketStream(jwt=JWT, url=url, reconnect=None).connect()

    asyncio.run(with_server(server, body))


def test_error_frames_raise_and_the_stream_goes_on() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await ws.send(json.dumps({"seq": 1, "channel": "error", "data": {"code": 400, "msg": "unknown symbol"}}))
        await ws.send(json.dumps(WS["depth_book"]))
        await ws.send("not json")
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        from standx_client import ResponseDecodeError

        async with MarketStream(url=url) as stream:
            with pytest.raises(BadRequestError, match="unknown symbol"):
                await anext(stream)
            book = await anext(stream)
            assert isinstance(book, StreamMessage)
            assert book.data.asks[0] == [Decimal(v) for v in WS["depth_book"]["data"]["asks"][0]]
            with pytest.raises(ResponseDecodeError):
                await anext(stream)

    asyncio.run(with_server(server, body))


def test_a_dropped_connection_is_reopened_reauthenticated_and_resubscribed() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await recv(ws, received)
        await ws.send(json.dumps({**WS["auth_ok"]}))
        await recv(ws, received)  # the subscription
        if sum("connection" in f for f in received) == 1:
            await ws.close(1012)  # service restart: the client must come back
            return
        await ws.send(json.dumps(WS["price"]))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(jwt=JWT, url=url) as stream:
            await stream.subscribe("price", "BTC-USD")
            event = await anext(stream)
            assert isinstance(event, Reconnected)
            assert "1012" in event.reason and event.attempts == 1
            price = await anext(stream)
            assert isinstance(price, StreamMessage) and price.channel == "price"
        subscribe = {"subscribe": {"channel": "price", "symbol": "BTC-USD"}}
        auth = {"auth": {"token": JWT}}
        assert received == [{"connection": 1}, auth, subscribe, {"connection": 2}, auth, subscribe]

    asyncio.run(with_server(server, body))


def test_connections_are_renewed_at_the_age_limit_and_without_reconnect_a_close_is_an_error() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(url=url, max_age=0.2) as stream:
            event = await anext(stream)
            assert event == Reconnected("connection age limit", 1)
        assert sum("connection" in f for f in received) == 2
        # The renewal is the stream's own doing: it reopens even with reconnecting off.
        async with MarketStream(url=url, max_age=0.2, reconnect=None) as stream:
            assert await anext(stream) == Reconnected("connection age limit", 1)

    asyncio.run(with_server(server, body))

    async def closing(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await ws.close(1001)

    async def no_reconnect(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(url=url, reconnect=None) as stream:
            with pytest.raises(StreamClosedError, match="1001"):
                await anext(stream)

    asyncio.run(with_server(closing, no_reconnect))


# --- order response stream ----------------------------------------------------------------------------------

ORDER = {
    "symbol": "BTC-USD",
    "side": "buy",
    "order_type": "limit",
    "qty": Decimal("0.1"),
    "price": Decimal("50000"),
    "time_in_force": "alo",
    "reduce_only": False,
}


def verify_command(envelope: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The documented envelope, and a signature PyNaCl accepts over `v1,{id},{ts},{params}`."""
    assert set(envelope) == {"session_id", "request_id", "method", "header", "params"}
    assert envelope["session_id"] == session_id
    header, params = envelope["header"], envelope["params"]
    assert isinstance(params, str)  # a JSON text, not an object
    assert header["x-request-id"] == envelope["request_id"]
    message = f"v1,{header['x-request-id']},{header['x-request-timestamp']},{params}".encode()
    VERIFY_KEY.verify(message, base64.b64decode(header["x-request-signature"]))
    return dict(json.loads(params))


def reply(name: str, request_id: str) -> str:
    return json.dumps({**WS[name], "request_id": request_id})


async def login(ws: ServerConnection, received: list[dict[str, Any]]) -> dict[str, Any]:
    envelope = await recv(ws, received)
    assert envelope["method"] == "auth:login" and "header" not in envelope
    assert json.loads(envelope["params"]) == {"token": JWT}
    await ws.send(reply("ws_api_success", envelope["request_id"]))
    return envelope


def test_order_stream_logs_in_and_sends_a_signed_validated_order() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        for answers in (("ws_api_accepted", "ws_api_success"), ("ws_api_accepted", "ws_api_rejected")):
            command = await recv(ws, received)
            for name in answers:
                await ws.send(reply(name, command["request_id"]))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url) as orders:
            result = await orders.new_order(**ORDER)
            with pytest.raises(BadRequestError, match="alo order rejected") as rejected:
                await orders.new_order(**ORDER)
            with pytest.raises(StandXValidationError, match="side"):
                await orders.new_order(**{**ORDER, "side": "long"})
            session_id = orders.session_id
            assert JWT not in repr(orders) and SEED_HEX not in repr(orders)
        login_frame, first, second = frames(received)
        assert login_frame["session_id"] == session_id
        params = verify_command(first, session_id)
        assert params == {
            "symbol": "BTC-USD",
            "side": "buy",
            "order_type": "limit",
            "qty": "0.1",
            "price": "50000",
            "time_in_force": "alo",
            "reduce_only": False,
            "cl_ord_id": result.cl_ord_id,
        }
        assert first["params"] == json.dumps(params, separators=(",", ":"))  # compact: the signed text is sent
        assert (result.request_id, result.accepted, result.response.code) == (first["request_id"], True, 0)
        assert result.cl_ord_id is not None and len(result.cl_ord_id) == 26
        verify_command(second, session_id)
        assert rejected.value.request_id == second["request_id"]

    asyncio.run(with_server(server, body))


def test_a_lost_answer_is_order_status_unknown_with_the_cl_ord_id() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        command = await recv(ws, received)
        if command["method"] == "order:new" and sum("connection" in f for f in received) == 1:
            await ws.send(reply("ws_api_accepted", command["request_id"]))
            await ws.close(1011)  # the answer is lost with the connection
            return
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, timeout=5) as orders:
            with pytest.raises(OrderStatusUnknownError) as lost:
                await orders.new_order(**ORDER)
            sent = json.loads(frames(received)[1]["params"])
            assert lost.value.cl_ord_id == sent["cl_ord_id"]
            # It logs in again on a new connection with the same session id.
            while orders.reconnects < 1:
                await asyncio.sleep(0.005)
            assert sum("connection" in f for f in received) == 2
            relogin = frames(received)[2]
            assert (relogin["method"], relogin["session_id"]) == ("auth:login", orders.session_id)

    asyncio.run(with_server(server, body))


def test_no_terminal_frame_in_time_is_order_status_unknown() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        command = await recv(ws, received)
        await ws.send(reply("ws_api_accepted", command["request_id"]))  # then silence
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, timeout=0.3) as orders:
            with pytest.raises(OrderStatusUnknownError, match="no answer") as unknown:
                await orders.new_order(**ORDER)
            (order,) = orders.unresolved_orders
            assert (order.cl_ord_id, order.reason) == (unknown.value.cl_ord_id, "timeout")

    asyncio.run(with_server(server, body))


def test_results_of_http_orders_are_found_by_request_id_before_or_after_waiting() -> None:
    cue = asyncio.Event()

    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        await ws.send(reply("ws_api_success", "http-1"))  # arrives before anyone waits for it
        await cue.wait()  # the test's cue that it waits for http-2
        await ws.send(reply("ws_api_accepted", "http-2"))
        await ws.send(reply("ws_api_rejected", "http-2"))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url) as orders:
            seen: list[Any] = []

            async def listen() -> None:
                async for frame in orders.responses():
                    status = frame.status if isinstance(frame.status, str) else None
                    seen.append((frame.request_id, frame.code, status))

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0.05)
            first = await orders.wait_for("http-1")
            waiting = asyncio.create_task(orders.wait_for("http-2"))
            await asyncio.sleep(0.05)
            cue.set()
            second = await waiting
            listener.cancel()
        assert (first.request_id, first.code, first.message) == ("http-1", 0, "success")
        assert (second.code, second.message) == (400, "alo order rejected")
        assert ("http-2", 0, "accepted") in seen and ("http-2", 400, None) in seen

    asyncio.run(with_server(server, body))


def test_refused_login_is_a_typed_error() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        envelope = await recv(ws, received)
        await ws.send(json.dumps({"code": 401, "message": "invalid token", "request_id": envelope["request_id"]}))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        orders = OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, reconnect=None)
        with pytest.raises(AuthenticationError, match="invalid token"):
            await orders.connect()
        await orders.close()

    asyncio.run(with_server(server, body))


def test_the_order_stream_renews_its_connection_at_the_age_limit_after_commands_in_flight() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        async for message in ws:
            command = json.loads(message)
            received.append(command)
            await asyncio.sleep(0.6)  # still in flight when the age limit passes
            await ws.send(reply("ws_api_success", command["request_id"]))

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, max_age=0.5, timeout=3) as orders:
            first = await orders.new_order(**ORDER)  # sent on connection 1, answered after the limit
            while orders.reconnects < 1:
                await asyncio.sleep(0.01)
        assert first.response.code == 0
        second = received.index({"connection": 2})
        relogin = received[second + 1]
        assert (relogin["method"], relogin["session_id"]) == ("auth:login", orders.session_id)
        assert received[1]["method"] == "auth:login" and received[2]["method"] == "order:new"

    asyncio.run(with_server(server, body))


def test_order_stream_checks_the_symbol_rules_before_sending() -> None:
    from standx_client.models import SymbolInfo
    from standx_client.precision import SymbolRules

    from tests.conftest import DOC_EXAMPLES

    rules = {"BTC-USD": SymbolRules.from_info(SymbolInfo.from_dict(DOC_EXAMPLES["query_symbol_info"]["response"][0]))}

    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        async for message in ws:
            received.append(json.loads(message))

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, symbol_rules=rules) as orders:
            with pytest.raises(StandXValidationError, match=r"qty: .*lot 0\.001"):
                await orders.new_order(**{**ORDER, "qty": Decimal("0.0005")})
        assert [f["method"] for f in frames(received)] == ["auth:login"]

    asyncio.run(with_server(server, body))


# --- every frame shape (tests/fixtures/ws_examples.json names each one's source) -------------------------------


def test_both_error_frame_shapes_raise_their_typed_error_and_iteration_goes_on() -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await ws.send(json.dumps(WS["code_message_error"]))  # {code, message}
        await ws.send(json.dumps(WS["market_error_envelope"]))  # channel "error", {code, msg}
        await ws.send(json.dumps({"code": 401, "msg": "token expired"}))
        await ws.send(json.dumps(WS["price"]))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with MarketStream(url=url) as stream:
            with pytest.raises(BadRequestError) as first:
                await anext(stream)
            assert (first.value.code, first.value.message) == (400, WS["code_message_error"]["message"])
            with pytest.raises(BadRequestError, match="unknown symbol") as second:
                await anext(stream)
            assert second.value.code == 400
            with pytest.raises(AuthenticationError, match="token expired"):
                await anext(stream)
            assert isinstance(await anext(stream), StreamMessage)

    asyncio.run(with_server(server, body))


@pytest.mark.parametrize("ack", ["ws_api_accepted", "ws_api_accepted_message"])
def test_both_acknowledgement_variants_count_and_a_later_rejection_raises(ack: str) -> None:
    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        for terminal in ("ws_api_success", "ws_api_rejected"):
            command = await recv(ws, received)
            await ws.send(reply(ack, command["request_id"]))
            await ws.send(reply(terminal, command["request_id"]))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url) as orders:
            result = await orders.new_order(**ORDER)
            assert result.accepted and result.response.message == "success"
            with pytest.raises(BadRequestError, match="alo order rejected"):
                await orders.new_order(**ORDER)

    asyncio.run(with_server(server, body))


def test_an_order_waiting_for_a_reconnect_is_signed_after_the_new_login() -> None:
    """The command waits for the new login; its x-request-timestamp is taken after the login was answered."""
    answered_ms: list[int] = []

    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        envelope = await recv(ws, received)
        if sum("connection" in f for f in received) == 1:
            await ws.send(reply("ws_api_success", envelope["request_id"]))
            await ws.close(1012)
            return
        await asyncio.sleep(0.2)  # a slow login on the new connection
        answered_ms.append(time.time_ns() // 1_000_000)
        await ws.send(reply("ws_api_success", envelope["request_id"]))
        command = await recv(ws, received)
        await ws.send(reply("ws_api_success", command["request_id"]))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url, reconnect=FAST, timeout=5) as orders:
            while orders.state is StreamState.OPEN:  # the drop is noticed
                await asyncio.sleep(0.005)
            await orders.new_order(**ORDER)
            command = frames(received)[-1]
            verify_command(command, orders.session_id)
            assert int(command["header"]["x-request-timestamp"]) >= answered_ms[0]

    asyncio.run(with_server(server, body))


def test_a_full_listener_loses_frames_counted_never_silently() -> None:
    listening = asyncio.Event()

    async def server(ws: ServerConnection, received: list[dict[str, Any]]) -> None:
        await login(ws, received)
        await listening.wait()
        for i in range(5):
            await ws.send(reply("ws_api_success", f"http-{i}"))
        await ws.wait_closed()

    async def body(url: str, received: list[dict[str, Any]]) -> None:
        async with OrderStream(jwt=JWT, signing_key=SEED_HEX, url=url) as orders:
            listener = orders.responses(maxsize=2)  # listening from here on
            listening.set()
            await orders.wait_for("http-4")
            assert orders.listener_overflows == 3  # http-0/1 queued, http-2/3/4 lost
            assert [(await anext(listener)).request_id for _ in range(2)] == ["http-0", "http-1"]
        assert [f async for f in listener] == []  # the iteration ends with the stream

    asyncio.run(with_server(server, body))
