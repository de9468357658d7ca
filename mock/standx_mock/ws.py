"""The exchange's two WebSocket endpoints: the market stream and the order response stream.

Both read their tables from the spec's `x-standx-streams`. Everything runs on the server's event loop.
State changes are detected at fixed points, after each HTTP request, admin call and order-stream
command (`StreamHub.publish`): orders, fills and public trades come from the engine's change journal,
prices, books, positions and balances are compared with what was last pushed. Frames are built under
the engine lock and queued per connection; one writer task per connection sends them, so a slow or
gone client never blocks the loop, HTTP requests or other clients.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import dispatch, wire
from .auth import HEADER_SIGN_VERSION, SIGN_VERSION, AuthError, TokenClaims
from .enums import REJECTED
from .limits import IpLimits
from .service import MockService
from .spec import Operation, Spec
from .spec_loader import SpecError
from .state import EngineError, Order
from .util import dumps, iso

logger = logging.getLogger("standx_mock")

STREAMS_KEY = "x-standx-streams"
ORDERS_RESPONSE_PTR = f"/{STREAMS_KEY}/orders/response"
#: Error frames of the market stream have no channel of their own; they share the auth reply's {code, msg}.
ERROR_CHANNEL = "error"
AUTH_CHANNEL = "auth"
PUBLIC_CHANNELS = ("price", "depth_book", "public_trade")
PRIVATE_CHANNELS = ("order", "position", "balance", "trade")
#: Close codes: `/mock/ws/drop`, the connection age limit, a frame that violates the spec, a slow reader,
#: a connection over the per-IP limits (`limits.IpLimits`), and the close after the documented 408 notice.
CLOSE_DROPPED = 1012
CLOSE_MAX_AGE = 1000
CLOSE_INVALID_FRAME = 1011
CLOSE_SLOW_CONSUMER = 1008
CLOSE_OVER_LIMIT = 1008
CLOSE_AFTER_NOTICE = 1000
# The exchange speaks JSON in text frames; nothing says it reads binary ones. The unkind choice: a binary frame
# ends the connection (1003, unsupported data), so a client that sends bytes without `text=True` fails here.
CLOSE_BINARY = 1003
#: The frame the exchange sends before it disconnects a client that stopped answering pings (docs, perps-ws).
DISCONNECT_NOTICE = {"code": 408, "message": "disconnecting due to not receive Pong within 5 minute period"}
#: `MockConfig.ws_error_frames="bare"`: an error frame is the error body of the HTTP answers, without an envelope.
BARE_ERROR_PTR = "/components/schemas/Error"
#: `MockConfig.ws_extra_fields`: the field added to every market-stream payload. Its value is nested and holds a
#: number, so a client that reads what it does not know (instead of dropping it) has something to trip over.
UNDOCUMENTED_FIELD = "mock_undocumented"
UNDOCUMENTED_VALUE: Mapping[str, object] = {"note": "a field the docs do not list", "ratio": Decimal("0.5"), "tags": ()}
#: Frames a connection may have queued before it is closed as a slow consumer.
MAX_QUEUED_FRAMES = 10_000


# ---------------------------------------------------------------------- the x-standx-streams table


@dataclass(frozen=True)
class Channel:
    name: str
    needs_symbol: bool
    needs_auth: bool
    schema_ptr: str


@dataclass(frozen=True)
class Command:
    method: str
    operation: Operation | None  # None: auth:login


@dataclass(frozen=True)
class StreamTable:
    channels: dict[str, Channel]
    commands: dict[str, Command]  # the login is the one without an operation
    #: Stream ("market", "orders") -> the path of its URL, where the mock serves it on its own host.
    paths: dict[str, str]

    @classmethod
    def from_spec(cls, spec: Spec) -> StreamTable:
        """Read `x-standx-streams`; SpecError when it names a channel or command the mock cannot serve."""
        raw = spec.doc.get(STREAMS_KEY) or {}
        channels: dict[str, Channel] = {}
        for name, entry in (raw.get("market", {}).get("channels") or {}).items():
            if name not in (*PUBLIC_CHANNELS, *PRIVATE_CHANNELS, AUTH_CHANNEL):
                raise SpecError(f"{STREAMS_KEY}: the mock does not implement the market channel {name!r}")
            if not isinstance(entry, dict) or "schema" not in entry:
                raise SpecError(f"{STREAMS_KEY}: market channel {name!r} has no schema")
            ptr = f"/{STREAMS_KEY}/market/channels/{name}/schema"
            spec.resolve(entry["schema"])  # SpecError when the $ref dangles
            channels[name] = Channel(name, bool(entry.get("symbol")), bool(entry.get("auth")), ptr)
        operations = {op.operation_id: op for op in spec.operations}
        commands: dict[str, Command] = {}
        for method, entry in (raw.get("orders", {}).get("commands") or {}).items():
            op_id = entry.get("operation")
            if op_id is None and all(c.operation is not None for c in commands.values()):  # the one login
                commands[method] = Command(method, None)
            elif op_id in operations and operations[op_id].body_ptr is not None:  # params: the operation's body
                commands[method] = Command(method, operations[op_id])
            else:
                raise SpecError(f"{STREAMS_KEY}: order-stream command {method!r} names no operation with a JSON body")
        if commands:
            if "response" not in raw["orders"]:
                raise SpecError(f"{STREAMS_KEY}: orders has no response schema")
            spec.resolve(raw["orders"]["response"])
        paths = {}
        for kind in ("market", "orders"):
            url = raw.get(kind, {}).get("url")
            if not isinstance(url, str) or not urlsplit(url).path.startswith("/"):
                raise SpecError(f"{STREAMS_KEY}: {kind} has no wss:// URL with a path")
            paths[kind] = urlsplit(url).path
        return cls(channels, commands, paths)


# ---------------------------------------------------------------------- payloads


def order_outcome(order: Order) -> tuple[int, str]:
    """Terminal order-stream result of an order the engine accepted: rejected during matching (e.g. an ALO
    that would cross) or not."""
    if order.status == REJECTED:
        return 400, order.remark or "order rejected"
    return 0, "success"


def _prune(last: dict[str, Any], followed: Mapping[str, object]) -> None:
    """Forget what was last pushed for the keys (symbols, users) nobody follows any more."""
    for key in [key for key in last if key not in followed]:
        del last[key]


def _without_time(price: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in price.items() if k != "time"}


# ---------------------------------------------------------------------- connections


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class Connection:
    """One WebSocket: an outbound queue drained by its writer task, plus what the client asked for."""

    def __init__(self, websocket: WebSocket, kind: str) -> None:
        self.websocket = websocket
        self.kind = kind  # "market" or "orders"
        self.queue: asyncio.Queue[str | _Close] = asyncio.Queue()
        self.closing = False
        self.seq = 0
        self.claims: TokenClaims | None = None
        #: The vault this connection acts for (auth `impersonate`), if any.
        self.vault: str | None = None
        #: The account its private channels and order commands act for (the vault's, when impersonating); set
        #: with `claims` at login.
        self.user: str | None = None
        self.subscriptions: set[tuple[str, str | None]] = set()
        self.session_id: str | None = None

    def put(self, text: str) -> None:
        if self.closing:
            return
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:
            self.close(CLOSE_SLOW_CONSUMER, "slow consumer: too many frames queued")
            return
        self.queue.put_nowait(text)

    def close(self, code: int, reason: str, last: str | None = None) -> None:
        """Close after the frame being sent (and `last`, a final notice); queued frames are lost, as on a real
        disconnect."""
        if self.closing:
            return
        self.closing = True
        while not self.queue.empty():
            self.queue.get_nowait()
        if last is not None:
            self.queue.put_nowait(last)
        self.queue.put_nowait(_Close(code, reason))

    async def write_loop(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, _Close):
                    await self.websocket.close(item.code, item.reason)
                    return
                await self.websocket.send_text(item)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:  # the client went away
            logger.debug("websocket writer stopped: %r", exc)
            self.closing = True


# ---------------------------------------------------------------------- the hub


class StreamHub:
    """Open connections, order-stream sessions, and what was last pushed (to push only changes)."""

    def __init__(self, service: MockService) -> None:
        self.service = service
        self.table = StreamTable.from_spec(service.spec)
        self.connections: set[Connection] = set()
        #: Order-stream session id -> the connection that logged in with it.
        self.sessions: dict[str, Connection] = {}
        self._prices: dict[str, dict[str, Any]] = {}
        self._books: dict[str, dict[str, Any]] = {}
        self._positions: dict[str, dict[int, dict[str, Any]]] = {}
        self._balances: dict[str, dict[str, Any]] = {}
        self._balance_versions: dict[str, int] = {}
        config = service.config
        self.limits = IpLimits(config.ws_max_connections_per_ip, config.ws_max_new_connections_per_minute)
        position = self.table.channels.get("position")
        properties = service.spec.resolve({"$ref": "#" + position.schema_ptr}).get("properties", {}) if position else {}
        #: StreamPosition is a subset of the HTTP Position: the fields its schema declares (`wire.position_base`).
        self._position_fields = tuple(properties)

    # ------------------------------------------------------------ connection life

    async def serve(self, websocket: WebSocket, kind: str) -> None:
        ip = websocket.client.host if websocket.client else "unknown"
        refused = self.limits.admit(ip)
        if refused is not None:
            await self._refuse(websocket, refused)
            return
        try:
            await self._serve(websocket, kind)
        finally:
            self.limits.release(ip)

    async def _refuse(self, websocket: WebSocket, reason: str) -> None:
        logger.info("websocket refused: %s", reason)
        if self.service.config.ws_limit_refusal == "http":
            await websocket.send_denial_response(JSONResponse({"code": 429, "message": reason}, status_code=429))
        else:
            await websocket.accept()
            await websocket.close(CLOSE_OVER_LIMIT, reason)

    async def _serve(self, websocket: WebSocket, kind: str) -> None:
        await websocket.accept()
        conn = Connection(websocket, kind)
        self.connections.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        max_age = self.service.config.ws_max_age_s
        timer = None
        if max_age is not None:
            timer = asyncio.get_running_loop().call_later(
                max_age, conn.close, CLOSE_MAX_AGE, "maximum connection age reached"
            )
        on_message = self.on_market_message if kind == "market" else self.on_order_message
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if conn.closing:
                    continue
                if text is None:
                    conn.close(CLOSE_BINARY, "binary frames are not accepted: send JSON in text frames")
                    continue
                try:
                    on_message(conn, text)
                except Exception:  # a mock bug: make it visible, keep the server up
                    logger.exception("websocket %s message handler failed", kind)
                    conn.close(CLOSE_INVALID_FRAME, "mock internal error")
        finally:
            if timer is not None:
                timer.cancel()
            self._forget(conn)
            if conn.closing:  # let the close frame go out
                await asyncio.wait([writer], timeout=5)
            writer.cancel()

    def _forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for session, owner in list(self.sessions.items()):
            if owner is conn:
                del self.sessions[session]

    def drop(self, notice: bool = False) -> int:
        """`POST /mock/ws/drop`: close every open connection with 1012; with `notice`, send the documented
        408 notice first and close with 1000, as the exchange does to a client that stopped answering pings."""
        open_ = [c for c in self.connections if not c.closing]
        for conn in open_:
            if notice:
                conn.close(CLOSE_AFTER_NOTICE, "disconnecting", last=dumps(DISCONNECT_NOTICE).decode("utf-8"))
            else:
                conn.close(CLOSE_DROPPED, "dropped by /mock/ws/drop")
        return len(open_)

    def reset(self) -> None:
        """After a reset without kept accounts: drop every connection, forget what was pushed, and start the
        minute of new connections afresh (the next test must not inherit the previous one's connections)."""
        self.drop()
        self.limits.recent.clear()
        for last in (self._prices, self._books, self._positions, self._balances, self._balance_versions):
            last.clear()

    def _invalid(self, conn: Connection, what: str, errors: list[str]) -> None:
        message = f"mock websocket frame ({what}) violates the spec: {'; '.join(errors[:5])}"
        logger.error(message)
        self.service.response_errors.append(message)
        conn.close(CLOSE_INVALID_FRAME, "mock frame violates the spec")

    # ------------------------------------------------------------ frames

    def _frame(self, conn: Connection, channel: str, data: dict[str, Any], symbol: str | None = None) -> None:
        """Queue one market-stream envelope (validated against the channel's schema when asked to)."""
        if conn.closing:
            return
        if self.service.config.ws_extra_fields:
            data = {**data, UNDOCUMENTED_FIELD: UNDOCUMENTED_VALUE}  # a copy: `data` may be what was last pushed
        if self.service.config.validate_responses:
            schema = self.table.channels.get(AUTH_CHANNEL if channel == ERROR_CHANNEL else channel)
            errors = self.service.spec.errors(schema.schema_ptr, data) if schema else ["no schema for this channel"]
            if errors:
                self._invalid(conn, f"channel {channel}", errors)
                return
        conn.seq += 1
        envelope: dict[str, Any] = {"seq": conn.seq, "channel": channel}
        if symbol is not None:
            envelope["symbol"] = symbol
        envelope["data"] = data
        conn.put(dumps(envelope).decode("utf-8"))

    def _error(self, conn: Connection, code: int, msg: str) -> None:
        """A market-stream error frame, in the configured shape (`MockConfig.ws_error_frames`)."""
        config = self.service.config
        if config.ws_error_frames == "channel":
            self._frame(conn, ERROR_CHANNEL, {"code": code, "msg": msg})
            return
        frame: dict[str, Any] = {"code": code, "message": msg}
        if config.ws_extra_fields:
            frame[UNDOCUMENTED_FIELD] = UNDOCUMENTED_VALUE
        self._put_checked(conn, frame, BARE_ERROR_PTR, "bare error")

    def _reply(self, conn: Connection, code: int, request_id: str, message: str | None = None) -> None:
        """Queue one order-stream frame; `message=None` is the gateway's acknowledgement, in the configured shape
        (`MockConfig.ws_ack`; "none" sends nothing)."""
        config = self.service.config
        if message is None and config.ws_ack == "none":
            return
        frame: dict[str, Any] = {"code": code}
        if message is None and config.ws_ack == "status":
            frame["status"] = "accepted"
        else:
            frame["message"] = "accepted" if message is None else message
        frame["request_id"] = request_id
        if config.ws_extra_fields and conn.session_id is not None:
            frame["session_id"] = conn.session_id
        self._put_checked(conn, frame, ORDERS_RESPONSE_PTR, "order response")

    def _put_checked(self, conn: Connection, frame: dict[str, Any], schema_ptr: str, what: str) -> None:
        """Queue a frame without an envelope (validated against `schema_ptr` when asked to)."""
        if conn.closing:
            return
        if self.service.config.validate_responses:
            errors = self.service.spec.errors(schema_ptr, frame)
            if errors:
                self._invalid(conn, what, errors)
                return
        conn.put(dumps(frame).decode("utf-8"))

    # ------------------------------------------------------------ market stream messages

    def on_market_message(self, conn: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError as exc:
            self._error(conn, 400, f"invalid JSON: {exc}")
            return
        kinds = ("auth", "subscribe", "unsubscribe")
        if not isinstance(message, dict) or len(message) != 1 or next(iter(message)) not in kinds:
            self._error(conn, 400, 'expected {"auth": {...}}, {"subscribe": {...}} or {"unsubscribe": {...}}')
            return
        kind, body = next(iter(message.items()))
        if not isinstance(body, dict):
            self._error(conn, 400, f"{kind} must be a JSON object")
        elif kind == "auth":
            self._auth(conn, body)
        elif kind == "subscribe":
            self._subscribe(conn, body)
        else:
            self._unsubscribe(conn, body)

    def _auth(self, conn: Connection, body: dict[str, Any]) -> None:
        try:
            claims, vault, acting = self._login(body)
        except (AuthError, EngineError) as exc:
            code = exc.status if isinstance(exc, EngineError) else 401
            self._frame(
                conn, AUTH_CHANNEL, {"code": code, "msg": exc.message if isinstance(exc, EngineError) else str(exc)}
            )
            return
        streams = body.get("streams", [])
        self.publish()  # pending changes go out under the old identity
        conn.claims, conn.vault, conn.user = claims, vault, acting
        self._frame(conn, AUTH_CHANNEL, {"code": 200, "msg": "success"})
        self._baseline_user(acting)
        if not isinstance(streams, list):
            self._error(conn, 400, "auth.streams must be a list of {channel, symbol?}")
            return
        for stream in streams:
            if isinstance(stream, dict):
                self._subscribe(conn, stream)
            else:
                self._error(conn, 400, "auth.streams must be a list of {channel, symbol?}")

    def _channel(self, conn: Connection, body: dict[str, Any]) -> tuple[str, str | None] | None:
        """The (channel, symbol) a subscribe/unsubscribe names, or None after sending the error frame."""
        name = body.get("channel")
        channel = self.table.channels.get(name) if isinstance(name, str) else None
        if channel is None or channel.name == AUTH_CHANNEL:
            known = ", ".join(c for c in self.table.channels if c != AUTH_CHANNEL)
            self._error(conn, 400, f"unknown channel {name!r} (known: {known})")
            return None
        if channel.needs_auth and conn.claims is None:
            self._error(conn, 401, f"channel {channel.name} needs authentication: send auth first")
            return None
        if not channel.needs_symbol:
            return channel.name, None
        symbol = body.get("symbol")
        if symbol is None:
            self._error(conn, 400, f"channel {channel.name} needs a symbol")
            return None
        if not isinstance(symbol, str) or symbol not in self.service.exchange.symbols:
            self._error(conn, 400, f"unknown symbol {symbol!r}")
            return None
        return channel.name, symbol

    def _subscribe(self, conn: Connection, body: dict[str, Any]) -> None:
        key = self._channel(conn, body)
        if key is None:
            return
        channel, symbol = key
        self.publish()  # others get pending changes first; the snapshot below is then the baseline
        conn.subscriptions.add(key)
        with self.service.engine.lock:
            if channel == "price" and symbol is not None:
                price = wire.stream_price(self.service.exchange, symbol)
                self._prices[symbol] = _without_time(price)
                self._frame(conn, channel, price, symbol)
            elif channel == "depth_book" and symbol is not None:
                book = wire.depth_book_json(self.service.exchange, symbol)
                self._books[symbol] = book
                self._frame(conn, channel, book, symbol)
            elif conn.user is not None:
                self._baseline_user(conn.user)

    def _unsubscribe(self, conn: Connection, body: dict[str, Any]) -> None:
        key = self._channel(conn, body)
        if key is not None:
            self.publish()
            conn.subscriptions.discard(key)

    # ------------------------------------------------------------ order response stream messages

    def on_order_message(self, conn: Connection, text: str) -> None:
        try:
            envelope = json.loads(text)
        except ValueError as exc:
            self._reply(conn, 400, "", f"invalid JSON: {exc}")
            return
        if not isinstance(envelope, dict):
            self._reply(conn, 400, "", "the request must be a JSON object")
            return
        request_id = envelope.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            self._reply(conn, 400, "", "request_id (a non-empty string) is required")
            return
        method = envelope.get("method")
        command = self.table.commands.get(method) if isinstance(method, str) else None
        if command is None:
            self._reply(conn, 400, request_id, f"unknown method {method!r} (known: {', '.join(self.table.commands)})")
            return
        params = envelope.get("params")
        if not isinstance(params, str):
            self._reply(conn, 400, request_id, "params must be a string holding JSON")
            return
        if command.operation is None:
            self._session_login(conn, envelope.get("session_id"), request_id, params)
        else:
            self._order_command(conn, command.operation, envelope.get("header"), request_id, params)

    def _login(self, body: dict[str, Any]) -> tuple[TokenClaims, str | None, str]:
        """The claims of a market-stream `auth` or an `auth:login`, the vault it impersonates and the
        account it then acts for; AuthError (401) or EngineError (403: a vault the caller does not own)."""
        token = body.get("token")
        claims = self.service.verify_token(token if isinstance(token, str) else "")
        vault = body.get("impersonate")
        if vault is None:
            return claims, None, claims.user
        return claims, str(vault), self.service.engine.acting_user(claims.user, str(vault))

    def _session_login(self, conn: Connection, session_id: object, request_id: str, params: str) -> None:
        try:
            body = json.loads(params)
        except ValueError as exc:
            self._reply(conn, 400, request_id, f"params is not valid JSON: {exc}")
            return
        try:
            claims, vault, acting = self._login(body if isinstance(body, dict) else {})
        except AuthError as exc:
            self._reply(conn, 401, request_id, str(exc))
            return
        except EngineError as exc:
            self._reply(conn, exc.status, request_id, exc.message)
            return
        if not isinstance(session_id, str) or not session_id:
            self._reply(conn, 400, request_id, "session_id (a non-empty string) is required")
            return
        if conn.session_id is not None and self.sessions.get(conn.session_id) is conn:
            del self.sessions[conn.session_id]
        conn.claims, conn.vault, conn.user = claims, vault, acting
        conn.session_id = session_id
        self.sessions[session_id] = conn
        self._reply(conn, 0, request_id, "success")

    def _order_command(self, conn: Connection, op: Operation, header: object, request_id: str, params: str) -> None:
        """An order command (order:new, order:cancel...): the HTTP operation through the one dispatch, `params` as
        its body and the envelope's `header` as its headers; the session's login stands in for the bearer JWT."""
        if conn.claims is None:
            login = next(c.method for c in self.table.commands.values() if c.operation is None)
            self._reply(conn, 401, request_id, f"not logged in: send {login} first")
            return
        headers = {str(k).lower(): str(v) for k, v in header.items()} if isinstance(header, dict) else {}
        headers.setdefault(HEADER_SIGN_VERSION, SIGN_VERSION)  # optional in the envelope
        if conn.vault is not None:
            headers[dispatch.IMPERSONATE_HEADER] = conn.vault
        outcome = dispatch.run(
            self.service,
            op,
            request_id=request_id,
            headers=headers,
            body=params.encode("utf-8"),
            content_type="application/json",
            claims=conn.claims,
        )
        if outcome.status == 401:  # the gateway's checks failed: one frame, nothing ran
            self._reply(conn, 401, request_id, outcome.message)
            return
        self._reply(conn, 0, request_id)  # accepted: the gateway checks passed
        if outcome.status != 200:
            self._reply(conn, outcome.status, request_id, outcome.message)
        elif outcome.order is not None:
            code, message = order_outcome(outcome.order)
            self._reply(conn, code, request_id, message)
        else:
            self._reply(conn, 0, request_id, "success")
        self.publish()

    def notify_session(self, session_id: str, user: str, request_id: str, order: Order) -> None:
        """An HTTP new_order/cancel_order sent with `x-session-id`: its result goes to that session."""
        conn = self.sessions.get(session_id)
        if conn is not None and conn.user == user:
            code, message = order_outcome(order)
            self._reply(conn, code, request_id, message)

    # ------------------------------------------------------------ pushes

    def publish(self) -> None:
        """Push what changed since the last call to the market-stream subscribers."""
        with self.service.engine.lock:
            changes = self.service.exchange.drain_changes()
            subscribed = [c for c in self.connections if c.kind == "market" and not c.closing and c.subscriptions]
            by_channel: dict[str, list[Connection]] = {}
            for conn in subscribed:
                # Each connection once per channel, however many symbols it follows there: one frame per match.
                for channel in {channel for channel, _ in conn.subscriptions}:
                    by_channel.setdefault(channel, []).append(conn)
            self._push_orders(by_channel.get("order", []), changes.orders.values())
            for conn in by_channel.get("trade", []):
                for trade in changes.trades:
                    if trade.user == conn.user:
                        self._frame(conn, "trade", wire.trade_json(self.service.exchange, trade))
            self._push_positions(by_channel.get("position", []))
            self._push_balances(by_channel.get("balance", []))
            for conn in by_channel.get("public_trade", []):
                for pt in changes.public_trades:
                    if ("public_trade", pt.symbol) in conn.subscriptions:
                        self._frame(conn, "public_trade", wire.public_trade_json(self.service.exchange, pt), pt.symbol)
            self._push_books(by_channel.get("depth_book", []))
            self._push_prices(by_channel.get("price", []))

    def _push_orders(self, conns: list[Connection], orders: Iterable[Order]) -> None:
        users = {c.user for c in conns}
        payloads = [(o.user, wire.order_json(self.service.exchange, o)) for o in orders if o.user in users]
        for conn in conns:
            for user, payload in payloads:
                if user == conn.user:
                    self._frame(conn, "order", payload)

    def _symbol_subscribers(self, conns: list[Connection], channel: str) -> dict[str, list[Connection]]:
        """Subscribers per symbol, symbols in configuration order (so frame order is deterministic)."""
        out: dict[str, list[Connection]] = {}
        for symbol in self.service.exchange.symbols:
            targets = [c for c in conns if (channel, symbol) in c.subscriptions]
            if targets:
                out[symbol] = targets
        return out

    def _push_prices(self, conns: list[Connection]) -> None:
        self._push_symbol_channel(
            conns, "price", self._prices, lambda symbol: wire.stream_price(self.service.exchange, symbol)
        )

    def _push_books(self, conns: list[Connection]) -> None:
        self._push_symbol_channel(
            conns, "depth_book", self._books, lambda symbol: wire.depth_book_json(self.service.exchange, symbol)
        )

    def _push_symbol_channel(
        self,
        conns: list[Connection],
        channel: str,
        last: dict[str, dict[str, Any]],
        build: Callable[[str], dict[str, Any]],
    ) -> None:
        """Push a per-symbol snapshot to its subscribers when it differs from the last one pushed (the
        time stamp aside); forget symbols nobody follows any more."""
        subscribers = self._symbol_subscribers(conns, channel)
        _prune(last, subscribers)
        for symbol, targets in subscribers.items():
            payload = build(symbol)
            if last.get(symbol) != _without_time(payload):
                last[symbol] = _without_time(payload)
                for conn in targets:
                    self._frame(conn, channel, payload, symbol)

    def _user_subscribers(self, conns: list[Connection]) -> dict[str, list[Connection]]:
        out: dict[str, list[Connection]] = {}
        for conn in conns:
            if conn.user is not None and conn.user in self.service.exchange.accounts:
                out.setdefault(conn.user, []).append(conn)
        return out

    def _stream_positions(self, user: str) -> dict[int, dict[str, Any]]:
        exchange = self.service.exchange
        out: dict[int, dict[str, Any]] = {}
        for pos in exchange.user_positions(user):
            base = wire.position_base(exchange, pos)
            out[pos.id] = {k: base[k] for k in self._position_fields if k in base}
        return out

    def _push_positions(self, conns: list[Connection]) -> None:
        subscribers = self._user_subscribers(conns)
        _prune(self._positions, subscribers)
        for user, targets in subscribers.items():
            current = self._stream_positions(user)
            last = self._positions.get(user, {})
            self._positions[user] = current
            for pid, payload in current.items():
                if last.get(pid) != payload:
                    for conn in targets:
                        self._frame(conn, "position", payload)

    def _push_balances(self, conns: list[Connection]) -> None:
        subscribers = self._user_subscribers(conns)
        _prune(self._balances, subscribers)
        for user, targets in subscribers.items():
            current = wire.stream_balance(self.service.exchange, user)
            if self._balances.get(user) == current:
                continue
            self._balances[user] = current
            version = self._balance_versions.get(user, 0) + 1
            self._balance_versions[user] = version
            payload = {**current, "version": version, "updated_at": iso(self.service.exchange.clock.now())}
            for conn in targets:
                self._frame(conn, "balance", payload)

    def _baseline_user(self, user: str) -> None:
        """What a new subscriber of the user's position/balance channels starts from (changes are pushed)."""
        with self.service.engine.lock:
            if user in self.service.exchange.accounts:
                self._positions.setdefault(user, self._stream_positions(user))
                self._balances.setdefault(user, wire.stream_balance(self.service.exchange, user))


# ---------------------------------------------------------------------- Starlette endpoints


async def market_stream(websocket: WebSocket) -> None:
    hub: StreamHub = websocket.app.state.hub
    await hub.serve(websocket, "market")


async def order_stream(websocket: WebSocket) -> None:
    hub: StreamHub = websocket.app.state.hub
    await hub.serve(websocket, "orders")
