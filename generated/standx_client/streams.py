# Copied from overlays/streams.py by `make generate`. Do not edit here: edit overlays/streams.py.
"""WebSocket streams (`pip install 'standx-client[ws]'`): market and account data, and order responses.

URLs, channels and payload models come from the spec's `x-standx-streams` table (`_streams.py`). REST
calls never import this module, nor `websockets`. Connection handling (one socket per stream, bounded
reconnects, the per-IP connection budget) is in `_ws_connection.py` and `_ws_budget.py`.

    async with MarketStream(jwt=jwt) as stream:
        await stream.subscribe("price", "BTC-USD")
        await stream.subscribe("order")
        async for event in stream:
            if isinstance(event, Reconnected):
                ...  # frames may have been missed while it was down: resync from REST
            elif event.channel == "price":
                print(event.data.mark_price)  # a Decimal

    async with OrderStream(jwt=jwt, signing_key=key) as orders:
        client = AsyncStandX(jwt=jwt, signing_key=key, session_id=orders.session_id)
        result = await orders.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.01",
                                        price="50000", time_in_force="alo", reduce_only=False)
        sent = await client.new_order(...)             # over HTTP: its result arrives on the stream
        frame = await orders.wait_for(sent.request_id)

`SyncMarketStream` is the market stream for synchronous code (`_ws_sync.py`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

try:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import ConnectionClosed
except ImportError as exc:  # pragma: no cover - depends on the install
    from ._install import install_hint

    raise ImportError(f"{__name__} needs websockets: {install_hint('ws')}") from exc

from . import _json
from ._base import DEFAULT_SETTLE_MARGIN, _check_option, _seconds
from ._decode import SpecMismatch, market_frame, order_frame
from ._ids import new_request_id
from ._operations import OPERATIONS
from ._streams import CHANNELS, LOGIN_COMMAND, MARKET_URL, ORDER_COMMANDS, ORDERS_URL, OrderCommands
from ._tables import WEBSOCKET_MAX_AGE_SECONDS
from ._validate import prepare
from ._ws_budget import DEFAULT_BUDGET, ConnectionBudget, ConnectionLimits
from ._ws_connection import Connection, Reconnected, StreamState, close_reason, close_socket
from .exceptions import (
    APIError,
    ConnectionLimitError,
    OrderStatusUnknownError,
    RequestTimeoutError,
    ResponseDecodeError,
    StreamClosedError,
    TransportError,
    ValidationError,
    error_class,
)
from .ledger import Ledger, UnresolvedOrder
from .models.order_stream_response import OrderStreamResponse
from .precision import SymbolRules
from .retry import RetryPolicy
from .signing import SigningKey, signature_headers

logger = logging.getLogger(__name__)

# The exchange ends a connection at its age limit (the spec's); reopen ten minutes before, on our own terms.
MAX_AGE_S = WEBSOCKET_MAX_AGE_SECONDS - 10 * 60
# Reconnect backoff (full jitter): at most 10 tries in a row, 0.5 s doubling up to 30 s.
RECONNECT = RetryPolicy(attempts=10, base=0.5, cap=30.0)
# Client pings (seconds): a silent or half-open connection is noticed and reopened. The exchange pings too.
PING_INTERVAL = 20.0
PING_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One market-stream frame: `data` is the channel's typed model (a dict for a channel the spec lacks)."""

    seq: int
    channel: str
    data: Any
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The outcome of an order-stream command: its terminal frame (code 0) and whether it was accepted first."""

    request_id: str
    cl_ord_id: str | None
    accepted: bool
    response: OrderStreamResponse


@dataclass(frozen=True, slots=True)
class DisconnectNotice:
    """The exchange's notice that it is about to close the connection (code 408): a reason to reopen."""

    reason: str


# --- frame decoding: raw frame -> typed payload, one function per stream ---------------------------------------


def _undecodable(raw: str | bytes, problem: str, operation: str) -> ResponseDecodeError:
    body = raw.encode() if isinstance(raw, str) else raw
    return ResponseDecodeError(problem, status_code=101, body=body[:2000], operation=operation)


def _loads(raw: str | bytes) -> Any:
    """A frame the typed decode refused, as plain JSON (exact, depth-checked), or None if it is not JSON."""
    try:
        return _json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested too deep to decode
        return None


def _frame_error(code: int, message: str, operation: str, request_id: str | None = None) -> APIError:
    """A refusal carried by a frame, as the typed error its code means over HTTP."""
    return error_class(code)(message, status_code=code, code=code, request_id=request_id, operation=operation)


def _coded(body: Mapping[str, Any], raw: str | bytes, operation: str) -> DisconnectNotice:
    """A `{code, message}` (or `{code, msg}`) frame without a payload: the 408 disconnect notice, or an error."""
    code, message = body.get("code"), body.get("message", body.get("msg"))
    if type(code) is not int or code < 400:
        raise _undecodable(raw, "frame without seq, channel or data", operation)
    if code == 408:
        return DisconnectNotice(f"code 408: {message}")
    raise _frame_error(code, str(message), operation)


def decode_market_frame(raw: str | bytes) -> StreamMessage | DisconnectNotice:
    """One market-stream frame -> a `StreamMessage` with the channel's typed payload (exact Decimals), or the
    exchange's disconnect notice. An error frame (`channel: "error"` or `{code, message}`) raises the typed
    error of its code; anything malformed (not JSON, too deep, wrong shape) raises `ResponseDecodeError`."""
    try:
        frame = market_frame(raw)  # envelope and the channel's model in one pass (overlays/_decode.py)
    except SpecMismatch as mismatch:  # not seq/channel/data: a `{code, message}` frame, or broken
        body = _loads(raw)
        if body.__class__ is dict and "seq" not in body:
            return _coded(body, raw, "ws-stream")
        raise _undecodable(raw, f"market frame does not match the spec: {mismatch}", "ws-stream") from None
    if frame.channel == "error":
        return _coded(frame.data if frame.data.__class__ is dict else {}, raw, "ws-stream")
    return StreamMessage(frame.seq, frame.channel, frame.data, frame.symbol)


def decode_order_frame(raw: str | bytes) -> OrderStreamResponse | DisconnectNotice:
    """One order-response frame -> its typed model, or the 408 disconnect notice (which has no request_id).
    Anything malformed raises `ResponseDecodeError`."""
    try:
        response: OrderStreamResponse = order_frame(raw)
    except SpecMismatch as mismatch:
        body = _loads(raw)
        if body.__class__ is dict and body.get("code") == 408 and body.get("request_id").__class__ is not str:
            return DisconnectNotice(f"code 408: {body.get('message', body.get('msg'))}")
        raise _undecodable(raw, f"order frame does not match the spec: {mismatch}", "ws-api") from None
    return response


def _is_ack(frame: OrderStreamResponse) -> bool:
    """The gateway's acknowledgement: `status: "accepted"` (docs) or `message: "accepted"` (a peer's variant)."""
    return frame.code == 0 and (frame.status == "accepted" or frame.message == "accepted")


async def _send(ws: ClientConnection, message: Mapping[str, Any]) -> None:
    """A command as compact JSON in a text frame (the exchange speaks text; the mock closes on binary)."""
    await ws.send(_json.dumps(message), text=True)


def _channel_ref(channel: str, symbol: str | None) -> dict[str, str]:
    return {"channel": channel, "symbol": symbol} if symbol else {"channel": channel}


# --- the market stream -----------------------------------------------------------------------------------------


class MarketStream(Connection):
    """The market stream: public `price`, `depth_book`, `public_trade` (per symbol) and, with a JWT, the
    account's `order`, `position`, `balance` and `trade` events. Iterate it for `StreamMessage`s.

    A dropped connection (or the exchange's 408 notice) is reopened with backoff and jitter (`reconnect`),
    re-authenticated and re-subscribed; iteration then yields `Reconnected(reason, attempts)`, since frames
    may have been missed. When reopening gives up, iteration raises `StreamClosedError`. Connections are
    renewed before the exchange's 24-hour limit the same way. An error frame raises the typed error of its
    code (`BadRequestError` for 400 ...) and a malformed frame `ResponseDecodeError`; iteration can go on.
    """

    def __init__(
        self,
        *,
        jwt: str | None = None,
        impersonate: str | None = None,
        url: str | None = None,
        open_timeout: float = 10.0,
        reconnect: RetryPolicy | None = RECONNECT,
        max_age: float = MAX_AGE_S,
        ping_interval: float | None = PING_INTERVAL,
        ping_timeout: float | None = PING_TIMEOUT,
        budget: ConnectionBudget | None = DEFAULT_BUDGET,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
    ) -> None:
        super().__init__(
            url or MARKET_URL or "",
            open_timeout=open_timeout,
            reconnect=reconnect,
            max_age=max_age,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            budget=budget,
        )
        _check_option("jwt", jwt, str, where="stream")
        _check_option("impersonate", impersonate, str, where="stream")
        self._jwt = jwt
        self._impersonate = impersonate
        self.symbol_rules = dict(symbol_rules or {})  # when given, subscriptions name only these symbols
        self._subscriptions: dict[tuple[str, str | None], None] = {}  # ordered: replayed as given
        self._sent: set[tuple[str, str | None]] = set()  # what the current socket is subscribed to
        self._reason = ""  # why the current reopening started
        self._age_timer: asyncio.TimerHandle | None = None
        self._aged: ClientConnection | None = None  # the socket closed for its age
        self._chores: set[asyncio.Task[None]] = set()
        self.last_seq: int | None = None

    def __repr__(self) -> str:  # never the JWT
        subscribed = [f"{c}:{s}" if s else c for c, s in self._subscriptions]
        return (
            f"MarketStream(url={self._url!r}, state={self._state.value!r}, "
            f"authenticated={self._jwt is not None}, subscriptions={subscribed})"
        )

    async def _setup(self, ws: ClientConnection) -> None:
        """Authenticate when a JWT was given, then send the subscriptions, including those made meanwhile."""
        self.last_seq = None
        if self._jwt is not None:
            await self._authenticate(ws)
        sent: set[tuple[str, str | None]] = set()
        while True:  # subscribe()/unsubscribe() may run during the awaits below: settle on the latest set
            todo = [key for key in self._subscriptions if key not in sent]
            gone = [key for key in sent if key not in self._subscriptions]
            if not todo and not gone:
                break
            for key in todo:
                sent.add(key)
                await _send(ws, {"subscribe": _channel_ref(*key)})
            for key in gone:
                sent.discard(key)
                await _send(ws, {"unsubscribe": _channel_ref(*key)})
        self._sent = sent
        self._arm_age_limit(ws)

    async def _authenticate(self, ws: ClientConnection) -> None:
        auth: dict[str, Any] = {"token": self._jwt}
        if self._impersonate:
            auth["impersonate"] = self._impersonate
        try:
            await _send(ws, {"auth": auth})
            async with asyncio.timeout(self._open_timeout):  # the exchange sends nothing before the auth reply
                raw = await ws.recv()
        except TimeoutError:
            raise TransportError(f"{self._url}: no auth reply within {self._open_timeout} s") from None
        except ConnectionClosed as closed:
            raise TransportError(f"{self._url}: {close_reason(closed)} before the auth reply") from None
        try:
            event = decode_market_frame(raw)  # the spec's auth channel; a {code, message} refusal raises its type
        except ResponseDecodeError:
            event = None
        if isinstance(event, StreamMessage) and event.channel == "auth":
            if event.data.code == 200:
                return
            raise _frame_error(event.data.code, str(event.data.msg), "ws-stream auth")
        raise TransportError(f"{self._url}: no auth reply (got {str(raw)[:100]!r})")

    def _arm_age_limit(self, ws: ClientConnection) -> None:
        if self._age_timer is not None:
            self._age_timer.cancel()
        self._age_timer = asyncio.get_running_loop().call_later(max(self._max_age, 0.0), self._age_limit, ws)

    def _age_limit(self, ws: ClientConnection) -> None:
        """The connection reached its age limit: close it on our terms; the reader then reopens."""
        if ws is self._ws and self._state is StreamState.OPEN:
            self._aged = ws
            task = asyncio.get_running_loop().create_task(close_socket(ws))
            self._chores.add(task)
            task.add_done_callback(self._chores.discard)

    def _workers(self) -> Iterable[asyncio.Task[Any] | None]:
        return (self._worker, *self._chores)

    async def close(self) -> None:
        if self._age_timer is not None:
            self._age_timer.cancel()
        await super().close()

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(self, channel: str, symbol: str | None = None) -> None:
        """Subscribe to a channel; public channels need a symbol, account channels the JWT. Checked before
        anything is sent; also before connecting (sent on connect) and while reconnecting (sent once reopened)."""
        self._check_open("subscribe")
        self._check_channel(channel, symbol)
        key = (channel, symbol)
        self._subscriptions[key] = None
        await self._sync_subscription(key, "subscribe")

    async def unsubscribe(self, channel: str, symbol: str | None = None) -> None:
        self._check_open("unsubscribe")
        self._check_channel(channel, symbol)
        key = (channel, symbol)
        if key in self._subscriptions:
            del self._subscriptions[key]
            await self._sync_subscription(key, "unsubscribe")

    async def _sync_subscription(self, key: tuple[str, str | None], verb: str) -> None:
        """On an open socket, send the change now; otherwise the next set-up sends it."""
        ws = self._ws
        if self._state is not StreamState.OPEN or ws is None or (key in self._sent) == (verb == "subscribe"):
            return
        if verb == "subscribe":
            self._sent.add(key)
        else:
            self._sent.discard(key)
        try:
            await _send(ws, {verb: _channel_ref(*key)})
        except ConnectionClosed:
            pass  # the reader sees the close and reopens; the set-up then sends the current subscriptions

    def _check_open(self, operation: str) -> None:
        if self._state in (StreamState.CLOSED, StreamState.FAILED):
            raise StreamClosedError(f"{self._url}: {operation} on a {self._state} stream")

    def _check_channel(self, channel: str, symbol: str | None) -> None:
        spec = CHANNELS.get(channel)
        if spec is None or channel == "auth":
            known = ", ".join(name for name in CHANNELS if name != "auth")
            raise ValidationError("subscribe", "channel", f"unknown channel {channel!r}; one of: {known}")
        if spec.symbol and not symbol:
            raise ValidationError("subscribe", "symbol", f"channel {channel!r} needs a symbol")
        if not spec.symbol and symbol:
            raise ValidationError("subscribe", "symbol", f"channel {channel!r} takes no symbol")
        if symbol is not None:
            if not isinstance(symbol, str) or (spec.symbol_pattern and not re.search(spec.symbol_pattern, symbol)):
                raise ValidationError("subscribe", "symbol", f"{symbol!r} does not match {spec.symbol_pattern}")
            if self.symbol_rules and symbol not in self.symbol_rules:
                known = ", ".join(sorted(self.symbol_rules))
                raise ValidationError("subscribe", "symbol", f"unknown symbol {symbol!r}; one of: {known}")
        if spec.auth and self._jwt is None:
            raise ValidationError("subscribe", "jwt", f"channel {channel!r} is the account's: pass jwt=")

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> MarketStream:
        return self

    async def __anext__(self) -> StreamMessage | Reconnected:
        while True:
            ws = self._ws
            if self._state is StreamState.OPEN and ws is not None:
                try:
                    raw = await ws.recv()
                except ConnectionClosed as closed:
                    if self._state is StreamState.OPEN and self._ws is ws:
                        aged = self._aged is ws  # our own renewal: it reopens even with reconnecting off
                        await self._start_reopen("connection age limit" if aged else close_reason(closed), renew=aged)
                    continue
                event = decode_market_frame(raw)
                if isinstance(event, StreamMessage):
                    self.last_seq = event.seq
                    return event
                if self._state is StreamState.OPEN and self._ws is ws:
                    await self._start_reopen(event.reason)  # the 408 notice: the exchange closes next, reopen now
                continue
            if self._state is StreamState.RECONNECTING:
                if self._worker is not None:  # another task is reopening: wait for it, then read
                    await asyncio.wait([self._worker])
                    continue
                try:
                    attempts = await self._work(self._reopen(self._reason))
                except StreamClosedError:
                    if self.state is StreamState.CLOSED:  # closed meanwhile (the property: mypy narrowed _state)
                        raise StopAsyncIteration from None
                    raise
                return Reconnected(self._reason, attempts)
            if self._state in (StreamState.CLOSED, StreamState.FAILED):
                raise StopAsyncIteration
            raise StreamClosedError(f"{self._url}: not connected (use `async with` or `await stream.connect()`)")

    async def _start_reopen(self, reason: str, *, renew: bool = False) -> None:
        try:
            self._lost(reason, renew=renew)
        except StreamClosedError:  # reconnecting is off: FAILED, and the socket (maybe still open) goes too
            await self._drop()
            raise
        self._reason = reason


# --- the order response stream ---------------------------------------------------------------------------------


class _Pending:
    """A command (or a `wait_for`) waiting for its frames: first (maybe) `accepted`, then the terminal one."""

    __slots__ = ("accepted", "command", "done")

    def __init__(self, command: bool) -> None:
        self.command = command
        self.accepted = False
        self.done: asyncio.Future[OrderStreamResponse] = asyncio.get_running_loop().create_future()


class _Deadlines:
    """Fails the commands that got no terminal frame within `timeout`. Every command has the same timeout, so
    deadlines come in sending order: one queue and one timer for all, instead of a timer per command."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._queue: deque[tuple[float, _Pending, str]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, pending: _Pending, method: str) -> None:
        queue = self._queue
        while queue and queue[0][1].done.done():  # answered long before their deadline: forget them now
            queue.popleft()
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        queue.append((loop.time() + self.timeout, pending, method))
        if self._timer is None:
            self._timer = loop.call_at(queue[0][0], self._expire)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue = self._queue
        while queue and (queue[0][0] <= now or queue[0][1].done.done()):
            _, pending, method = queue.popleft()
            if not pending.done.done():
                error = RequestTimeoutError(f"{method}: no answer within {self.timeout} s", operation=method)
                pending.done.set_exception(error)
        if queue:
            self._timer = loop.call_at(queue[0][0], self._expire)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()


class _Disconnecting(Exception):
    """The 408 notice arrived: stop reading this socket and reopen."""


class OrderStream(OrderCommands[OrderResult], Connection):
    """The order response stream: results of orders (sent here, or over HTTP with `x-session-id` set to
    `session_id`) and the spec's order commands (`new_order`, `cancel_order`: generated in `_streams.py` with
    the typed arguments of the HTTP methods), validated and signed like HTTP ones.

    One reader task runs for the stream's life: it routes frames and, when the socket ends, reopens and logs
    in again with the same `session_id` (commands wait for that, up to `timeout`). A malformed frame is
    logged and counted (`bad_frames`), never fatal. A command whose answer is lost (connection dropped, no
    terminal frame in `timeout`) raises `OrderStatusUnknownError` for new orders, exactly as over HTTP, and
    is kept in `unresolved_orders` until settled: resolve it by `cl_ord_id`. Pass `ledger=client.ledger` to
    keep them in the HTTP client's ledger instead: then neither path resends an unresolved id, and
    `client.resolve_all()` settles the stream's orders too.
    """

    def __init__(
        self,
        *,
        jwt: str,
        signing_key: SigningKey | str | bytes,
        session_id: str | None = None,
        impersonate: str | None = None,
        url: str | None = None,
        open_timeout: float = 10.0,
        timeout: float = 10.0,
        reconnect: RetryPolicy | None = RECONNECT,
        max_age: float = MAX_AGE_S,
        ping_interval: float | None = PING_INTERVAL,
        ping_timeout: float | None = PING_TIMEOUT,
        budget: ConnectionBudget | None = DEFAULT_BUDGET,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
        settle_margin: float = DEFAULT_SETTLE_MARGIN,
        ledger: Ledger | None = None,
    ) -> None:
        super().__init__(
            url or ORDERS_URL or "",
            open_timeout=open_timeout,
            reconnect=reconnect,
            max_age=max_age,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            budget=budget,
        )
        _check_option("jwt", jwt, str, allow_none=False, where="stream")
        _check_option("session_id", session_id, str, where="stream")
        _check_option("impersonate", impersonate, str, where="stream")
        _check_option("ledger", ledger, Ledger, where="stream")
        self.symbol_rules = dict(symbol_rules or {})  # as on the HTTP client: checked before sending
        self._jwt = jwt
        self._key = signing_key if isinstance(signing_key, SigningKey) else SigningKey.parse(signing_key)
        self.session_id = session_id or new_request_id()
        self._impersonate = impersonate
        self._timeout = _seconds("timeout", timeout, where="stream")
        self._pending: dict[str, _Pending] = {}
        self._deadlines = _Deadlines(self._timeout)
        self._recent: OrderedDict[str, OrderStreamResponse] = OrderedDict()  # terminal frames nobody awaited
        self._listeners: weakref.WeakSet[Responses] = weakref.WeakSet()
        self._listening = False  # a listener was ever added (cheaper to test per frame than the WeakSet)
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()  # set: commands may go out (or the stream ended: they re-check the state)
        self._settle_margin = _seconds("settle_margin", settle_margin, allow_zero=True, where="stream")
        self._ledger = Ledger() if ledger is None else ledger  # orders whose outcome is unknown (ledger.py)
        self._unresolved_requests: dict[str, str] = {}  # their request ids: a late answer settles them
        self.bad_frames = 0  # frames that could not be decoded (logged and skipped)
        self.listener_overflows = 0  # frames a full `responses()` queue could not take (logged)

    def __repr__(self) -> str:  # never the JWT or the key
        return f"OrderStream(url={self._url!r}, state={self._state.value!r}, session_id={self.session_id!r})"

    @property
    def unresolved_orders(self) -> tuple[UnresolvedOrder, ...]:
        """New orders sent on this stream whose outcome is unknown (answer lost, call cancelled or interrupted
        after sending), soonest to settle first. A late answer on the stream settles one; otherwise look it up
        by `cl_ord_id` (`client.resolve_order`) and `settle_unresolved` it."""
        return self._ledger.snapshot()

    def settle_unresolved(self, cl_ord_id: str) -> UnresolvedOrder | None:
        """Remove an order from `unresolved_orders` once its outcome is known; the entry, if there was one."""
        self._unresolved_requests = {r: c for r, c in self._unresolved_requests.items() if c != cl_ord_id}
        return self._ledger.settle(cl_ord_id)

    def _state_changed(self) -> None:
        if self._state is StreamState.OPEN:
            self._ready.set()  # logged in
        elif self._state in (StreamState.FAILED, StreamState.CLOSED):
            self._ready.set()  # wake waiting commands: they see the state and raise
            for listener in self._listeners:  # end every responses() iteration
                if listener.queue.full():
                    listener.queue.get_nowait()
                listener.queue.put_nowait(None)
            self._listeners.clear()
        else:
            self._ready.clear()

    def _opened(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    def _workers(self) -> Iterable[asyncio.Task[Any] | None]:
        return (self._worker, self._reader)

    async def close(self) -> None:
        await super().close()
        self._fail_commands(StreamClosedError(f"{self._url}: closed"))
        self._deadlines.stop()

    # ------------------------------------------------------------------ reading

    async def _setup(self, ws: ClientConnection) -> None:
        """Log in (the spec's login command with `session_id`): frames that come before its answer are routed as
        usual."""
        params: dict[str, str] = {"token": self._jwt}
        if self._impersonate:
            params["impersonate"] = self._impersonate
        request_id = new_request_id()
        envelope = {
            "session_id": self.session_id,
            "request_id": request_id,
            "method": LOGIN_COMMAND,
            "params": _json.dumps(params).decode(),
        }
        try:
            await _send(ws, envelope)
            async with asyncio.timeout(self._open_timeout):
                answer = None
                while answer is None:
                    answer = self._on_frame(await ws.recv(decode=False), login=request_id)
        except TimeoutError:
            raise TransportError(f"{self._url}: no answer to {LOGIN_COMMAND} within {self._open_timeout} s") from None
        except ConnectionClosed as closed:
            raise TransportError(f"{self._url}: {close_reason(closed)} during {LOGIN_COMMAND}") from None
        except _Disconnecting as notice:
            raise TransportError(f"{self._url}: {notice} during {LOGIN_COMMAND}") from None
        if answer.code != 0:
            raise _frame_error(answer.code, str(answer.message or "login refused"), str(LOGIN_COMMAND), request_id)

    async def _read_forever(self) -> None:
        """The reader for the stream's life: serve the socket; when it ends, fail the commands in flight and
        reopen (the stream's one reconnect loop). Ends only when the stream fails or is closed."""
        while True:
            ws = self._ws
            if ws is None:  # pragma: no cover - OPEN always has a socket
                return
            reason, renew = await self._serve(ws)
            self._fail_commands(TransportError(f"{self._url}: {reason}"))
            try:
                self._lost(reason, renew=renew)
                await self._reopen(reason, self._reconnect or RetryPolicy(attempts=1))
            except StreamClosedError as error:
                logger.error("%s", error)
                await self._drop()
                return

    async def _serve(self, ws: ClientConnection) -> tuple[str, bool]:
        """Route the socket's frames until it ends; why it ended, and whether that was the age limit. At the
        age limit, hold new commands and let those in flight finish (up to `timeout`) before renewing."""
        deadline = asyncio.get_running_loop().time() + self._max_age
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    while True:
                        self._on_frame(await ws.recv(decode=False))
            except TimeoutError:
                pass
            self._ready.clear()
            try:
                async with asyncio.timeout(self._timeout):
                    while any(p.command for p in self._pending.values()):
                        self._on_frame(await ws.recv(decode=False))
            except TimeoutError:
                pass
            return "connection age limit", True
        except ConnectionClosed as closed:
            return close_reason(closed), False
        except _Disconnecting as notice:
            return str(notice), False
        except Exception as exc:  # a bug here must not leave the stream without a reader: reopen instead
            logger.exception("%s: reader error", self._url)
            return f"reader error: {type(exc).__name__}: {exc}", False

    def _on_frame(self, raw: str | bytes, login: str | None = None) -> OrderStreamResponse | None:
        """Decode and route one frame; during log-in, return the login's answer instead of routing it."""
        try:
            frame = decode_order_frame(raw)
        except ResponseDecodeError as error:
            self.bad_frames += 1
            logger.warning("%s: frame ignored (%d so far): %s", self._url, self.bad_frames, error)
            return None
        if isinstance(frame, DisconnectNotice):
            raise _Disconnecting(frame.reason)
        if login is not None and frame.request_id == login:
            return None if _is_ack(frame) else frame
        self._route(frame)
        return None

    def _route(self, frame: OrderStreamResponse) -> None:
        for listener in self._listeners if self._listening else ():
            try:
                listener.queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.listener_overflows += 1
                if self.listener_overflows == 1 or self.listener_overflows % 1000 == 0:
                    logger.warning(
                        "%s: responses() listener full: %d frames dropped", self._url, self.listener_overflows
                    )
        request_id = frame.request_id
        pending = self._pending.get(request_id)
        if frame.code == 0 and (frame.status == "accepted" or frame.message == "accepted"):  # _is_ack, inlined
            if pending is not None:
                pending.accepted = True
            return
        if pending is not None and not pending.done.done():
            pending.done.set_result(frame)
            return
        late = self._unresolved_requests.pop(request_id, None) if self._unresolved_requests else None
        if late is not None:  # a late answer settles an unknown outcome: placed (code 0) or not
            self._ledger.settle(late)
            logger.info("%s: late answer for cl_ord_id=%s: code %s", self._url, late, frame.code)
        self._recent[request_id] = frame
        while len(self._recent) > 1024:  # bounded: frames for HTTP orders nobody waits for
            self._recent.popitem(last=False)

    def _fail_commands(self, error: Exception) -> None:
        """The socket ended: the answers of commands in flight are lost with it (`wait_for` keeps waiting:
        an HTTP order's result comes to the session, on whichever connection is logged in)."""
        for pending in self._pending.values():
            if pending.command and not pending.done.done():
                pending.done.set_exception(error)

    # ------------------------------------------------------------------ commands

    async def _command(self, method: str, values: Mapping[str, object]) -> OrderResult:
        """Send one order command (the generated methods of `OrderCommands` call this): the operation's checks,
        then signed on the logged-in connection. Its client-generated id (new_order's `cl_ord_id`, from the
        spec as on HTTP) is tracked: an unknown outcome goes to the ledger."""
        operation = ORDER_COMMANDS.get(method)
        if operation is None:
            raise ValidationError(method, "method", "not an order command of the spec")
        op = OPERATIONS[operation]
        _, _, body = prepare(op, values, self.symbol_rules)  # ValidationError: nothing sent
        body = body or {}
        cl_ord_id = None if op.generated is None else str(body[op.generated])
        self._ledger.refuse_resend(method, cl_ord_id, "settle it first (settle_unresolved)")
        params = _json.dumps(body)  # the exact bytes that are signed and sent
        request_id = new_request_id()  # envelope id and x-request-id alike: the safe choice (notes §4.3)
        sent_at = 0.0
        try:
            ws = self._ws
            if ws is None or self._state is not StreamState.OPEN or not self._ready.is_set():
                ws = await self._until_ready()
            # Signed now, on a logged-in connection: never a timestamp from before a reconnect.
            header = signature_headers(self._key, params, request_id, time.time_ns() // 1_000_000)
            envelope = {
                "session_id": self.session_id,
                "request_id": request_id,
                "method": method,
                "header": header,
                "params": params.decode(),
            }
            pending = self._pending[request_id] = _Pending(command=True)
            self._deadlines.watch(pending, method)
            try:
                sent_at = time.time()
                await _send(ws, envelope)
                frame = await pending.done
            except (ConnectionClosed, OSError) as exc:
                raise TransportError(f"{method}: connection lost: {exc}", operation=method) from exc
            finally:
                self._pending.pop(request_id, None)
        except BaseException as exc:  # a lost answer (TransportError), the caller gave up (wait_for, cancel) or ^C
            if cl_ord_id is not None:
                where = "orders.unresolved_orders until its answer arrives or you settle it"
                settles_at = self._ledger.unknown(
                    method, body, cl_ord_id, exc, sent_at, sent_at + self._timeout, self._settle_margin, where
                )
                if settles_at is not None:
                    self._unresolved_requests[request_id] = cl_ord_id  # a late answer settles it
                    if isinstance(exc, TransportError):
                        raise OrderStatusUnknownError(method, cl_ord_id, exc, settles_at) from exc
            raise
        if frame.code != 0:
            raise _frame_error(frame.code, str(frame.message or "rejected"), method, request_id)
        return OrderResult(request_id, cl_ord_id, pending.accepted, frame)

    async def _until_ready(self) -> ClientConnection:
        """The logged-in socket; while (re)connecting, wait for the login (up to `timeout`) rather than fail."""
        deadline: float | None = None
        while True:
            state, ws = self._state, self._ws
            if state is StreamState.OPEN and ws is not None and self._ready.is_set():
                return ws
            if state in (StreamState.NEW, StreamState.CLOSED, StreamState.FAILED):
                why = f": {self._failure}" if self._failure else ""
                raise StreamClosedError(f"{self._url}: the stream is {state}{why}")
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self._timeout
            try:
                async with asyncio.timeout_at(deadline):
                    await self._ready.wait()
            except TimeoutError:
                raise StreamClosedError(f"{self._url}: not logged in within {self._timeout} s") from None

    async def wait_for(self, request_id: str, timeout: float | None = None) -> OrderStreamResponse:
        """The terminal frame for `request_id`: an HTTP order's `request_id` (sent with `x-session-id`)."""
        frame = self._recent.pop(request_id, None)
        if frame is not None:
            return frame
        if self._state in (StreamState.CLOSED, StreamState.FAILED):
            raise StreamClosedError(f"{self._url}: the stream is {self._state}")
        pending = self._pending.setdefault(request_id, _Pending(command=False))
        limit = timeout or self._timeout
        try:
            async with asyncio.timeout(limit):
                return await pending.done
        except TimeoutError:
            raise TransportError(f"no frame for request_id {request_id} within {limit} s") from None
        finally:
            self._pending.pop(request_id, None)

    def responses(self, maxsize: int = 10_000) -> Responses:
        """Every frame from this call on, including `accepted` ones and those of HTTP orders; the iteration
        ends when the stream closes. A listener `maxsize` frames behind loses the newest ones, counted in
        `listener_overflows` (and logged); dropping the iterator unregisters it."""
        listener = Responses(maxsize)
        if self._state in (StreamState.CLOSED, StreamState.FAILED):
            listener.queue.put_nowait(None)
        else:
            self._listeners.add(listener)
            self._listening = True
        return listener


class Responses:
    """An iterator over order-stream frames (`OrderStream.responses()`), fed by the stream's reader."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[OrderStreamResponse | None] = asyncio.Queue(maxsize=maxsize)

    def __aiter__(self) -> Responses:
        return self

    async def __anext__(self) -> OrderStreamResponse:
        frame = await self.queue.get()
        if frame is None:  # the stream ended
            self.queue.put_nowait(None)  # and stays ended
            raise StopAsyncIteration
        return frame


from ._ws_sync import SyncMarketStream  # noqa: E402  (it builds on MarketStream)

__all__ = [
    "DEFAULT_BUDGET",
    "MAX_AGE_S",
    "PING_INTERVAL",
    "PING_TIMEOUT",
    "RECONNECT",
    "ConnectionBudget",
    "ConnectionLimitError",
    "ConnectionLimits",
    "DisconnectNotice",
    "MarketStream",
    "OrderResult",
    "OrderStream",
    "Reconnected",
    "Responses",
    "StreamMessage",
    "StreamState",
    "SyncMarketStream",
    "UnresolvedOrder",
    "decode_market_frame",
    "decode_order_frame",
]
