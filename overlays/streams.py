"""WebSocket streams (`pip install 'standx-client[ws]'`): market and account data, and order responses.

URLs, channels and payload models come from the spec's `x-standx-streams` table (`_streams.py`). REST
calls never import this module, nor `websockets`.

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
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import import_module
from typing import Any, Self
from urllib.parse import urlsplit

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, WebSocketException
except ImportError as exc:  # pragma: no cover - depends on the install
    from ._install import install_hint

    raise ImportError(f"{__name__} needs websockets: {install_hint('ws')}") from exc

from ._base import _COMPACT_JSON, _is_loopback
from ._operations import OPERATIONS
from ._streams import CHANNELS, MARKET_URL, ORDER_COMMANDS, ORDER_RESPONSE, ORDERS_URL
from ._validate import prepare
from .exceptions import (
    APIError,
    OrderStatusUnknownError,
    ResponseDecodeError,
    StandXError,
    StreamClosedError,
    TransportError,
    ValidationError,
    error_class,
)
from .models.order_stream_response import OrderStreamResponse
from .precision import SymbolRules
from .retry import RetryPolicy
from .signing import SigningKey, signature_headers

logger = logging.getLogger(__name__)

# The exchange ends a connection after 24 h; reopen a little before, on our own terms.
MAX_AGE_S = 23 * 3600 + 50 * 60
# Reconnect backoff: the exchange allows 30 new connections a minute per IP.
RECONNECT = RetryPolicy(attempts=10, base=0.5, cap=30.0)


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One market-stream frame: `data` is the channel's typed model (a dict for a channel the spec lacks)."""

    seq: int
    channel: str
    data: Any
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The stream was reopened (and re-authenticated and re-subscribed): frames may have been missed."""

    reason: str
    attempts: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The outcome of an order-stream command: its terminal frame (code 0) and whether it was accepted first."""

    request_id: str
    cl_ord_id: str | None
    accepted: bool
    response: OrderStreamResponse


def _check_ws_url(url: str) -> str:
    """wss:// only, except on loopback (the local mock exchange)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "wss" and host:
        return url
    if parts.scheme == "ws" and (host == "localhost" or _is_loopback(host)):
        return url
    raise ValidationError("stream", "url", f"{url!r} must be a wss:// URL (plain ws only for loopback)")


@cache
def _model(module: str, name: str) -> Any:
    return getattr(import_module(module, __package__), name)


def _decode(raw: str | bytes, operation: str) -> dict[str, Any]:
    try:
        frame = json.loads(raw, parse_float=Decimal)
    except ValueError:
        frame = None
    if not isinstance(frame, dict):
        body = raw.encode() if isinstance(raw, str) else raw
        raise ResponseDecodeError("frame is not a JSON object", status_code=101, body=body, operation=operation)
    return frame


def _frame_error(code: int, message: str, operation: str, request_id: str | None = None) -> APIError:
    """A refusal carried by a frame, as the typed error its code means over HTTP."""
    return error_class(code)(message, status_code=code, code=code, request_id=request_id, operation=operation)


class _Connection:
    """Opening, backoff and the connection-age limit, shared by both streams."""

    def __init__(self, url: str, *, open_timeout: float, reconnect: RetryPolicy | None, max_age: float) -> None:
        self._url = _check_ws_url(url)
        self._open_timeout = open_timeout
        self._reconnect = reconnect
        self._max_age = max_age
        self._ws: ClientConnection | None = None
        self._opened_at = 0.0
        self._closing = False

    async def _open(self) -> ClientConnection:
        try:
            ws = await connect(self._url, open_timeout=self._open_timeout, max_size=2**24)
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransportError(f"cannot open {self._url}: {type(exc).__name__}: {exc}") from exc
        self._ws, self._opened_at = ws, time.monotonic()
        return ws

    def _age_left(self) -> float:
        return self._max_age - (time.monotonic() - self._opened_at)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection and set it up (authenticate, subscribe or log in)."""
        await self._open()
        await self._setup()

    async def _setup(self) -> None:
        raise NotImplementedError

    def _live(self) -> ClientConnection:
        if self._ws is None:
            raise StreamClosedError(f"{self._url}: not connected")
        return self._ws

    async def _send(self, message: Mapping[str, Any]) -> None:
        await self._live().send(_COMPACT_JSON(message))

    async def _reopen(self, reason: str) -> int:
        """Close, then open and set up again with backoff; the number of attempts it took."""
        await self._drop()
        policy = self._reconnect
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._open()
                await self._setup()
                logger.info("stream %s reopened after %s (%d attempt(s))", self._url, reason, attempt)
                return attempt
            except TransportError as error:
                await self._drop()
                delay = policy.delay(attempt, error) if policy is not None else None
                if delay is None:
                    raise StreamClosedError(f"{self._url}: closed ({reason}); reopening failed: {error}") from error
                await asyncio.sleep(delay)

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.close()
            except (OSError, WebSocketException):
                pass

    async def close(self) -> None:
        self._closing = True
        await self._drop()


class MarketStream(_Connection):
    """The market stream: public `price`, `depth_book`, `public_trade` (per symbol) and, with a JWT, the
    account's `order`, `position`, `balance` and `trade` events. Iterate it for `StreamMessage`s.

    A dropped connection is reopened with backoff, re-authenticated and re-subscribed; iteration then
    yields a `Reconnected` marker, since frames may have been missed. Connections are renewed before the
    exchange's 24-hour limit the same way. Error frames raise the typed error of their code.
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
    ) -> None:
        super().__init__(url or MARKET_URL or "", open_timeout=open_timeout, reconnect=reconnect, max_age=max_age)
        self._jwt = jwt
        self._impersonate = impersonate
        self._subscriptions: dict[tuple[str, str | None], None] = {}  # ordered: replayed as given
        self.last_seq: int | None = None

    def __repr__(self) -> str:  # never the JWT
        subscribed = [f"{c}:{s}" if s else c for c, s in self._subscriptions]
        return f"MarketStream(url={self._url!r}, authenticated={self._jwt is not None}, subscriptions={subscribed})"

    async def _setup(self) -> None:
        """Authenticate when a JWT was given, and (re)send the subscriptions."""
        self.last_seq = None
        if self._jwt is not None:
            await self._authenticate()
        for channel, symbol in self._subscriptions:
            await self._send({"subscribe": _channel_ref(channel, symbol)})

    async def _authenticate(self) -> None:
        auth: dict[str, Any] = {"token": self._jwt}
        if self._impersonate:
            auth["impersonate"] = self._impersonate
        await self._send({"auth": auth})
        try:  # the exchange sends nothing before the auth reply
            frame = _decode(await asyncio.wait_for(self._live().recv(), self._open_timeout), "ws-stream auth")
        except (TimeoutError, ConnectionClosed) as exc:
            raise TransportError(f"no auth reply from {self._url}: {type(exc).__name__}") from exc
        data = frame.get("data") if frame.get("channel") == "auth" else None
        code = data.get("code") if isinstance(data, dict) else None
        if code != 200:
            message = str(data.get("msg") or data.get("message")) if isinstance(data, dict) else "no auth reply"
            raise _frame_error(code if isinstance(code, int) else 401, message, "ws-stream auth")

    async def subscribe(self, channel: str, symbol: str | None = None) -> None:
        """Subscribe to a channel; public channels need a symbol, account channels the JWT."""
        self._check_channel(channel, symbol)
        self._subscriptions[(channel, symbol)] = None
        if self._ws is not None:
            await self._send({"subscribe": _channel_ref(channel, symbol)})

    async def unsubscribe(self, channel: str, symbol: str | None = None) -> None:
        self._check_channel(channel, symbol)
        if (channel, symbol) in self._subscriptions:
            del self._subscriptions[(channel, symbol)]
            if self._ws is not None:
                await self._send({"unsubscribe": _channel_ref(channel, symbol)})

    def _check_channel(self, channel: str, symbol: str | None) -> None:
        spec = CHANNELS.get(channel)
        if spec is None or channel == "auth":
            known = ", ".join(name for name in CHANNELS if name != "auth")
            raise ValidationError("subscribe", "channel", f"unknown channel {channel!r}; one of: {known}")
        if spec.symbol and not symbol:
            raise ValidationError("subscribe", "symbol", f"channel {channel!r} needs a symbol")
        if not spec.symbol and symbol:
            raise ValidationError("subscribe", "symbol", f"channel {channel!r} takes no symbol")
        if spec.auth and self._jwt is None:
            raise ValidationError("subscribe", "jwt", f"channel {channel!r} is the account's: pass jwt=")

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamMessage | Reconnected:
        if self._closing:
            raise StopAsyncIteration
        try:
            raw = await asyncio.wait_for(self._live().recv(), max(self._age_left(), 0.0))
        except TimeoutError:  # the connection reached its age limit: renew it before the exchange does
            return Reconnected("connection age limit", await self._reopen("connection age limit"))
        except ConnectionClosed as closed:
            if self._closing:
                raise StopAsyncIteration from None
            reason = f"closed with code {closed.rcvd.code if closed.rcvd else 'none'}"
            if self._reconnect is None:
                raise StreamClosedError(f"{self._url}: {reason}") from closed
            return Reconnected(reason, await self._reopen(reason))
        return self._message(_decode(raw, "ws-stream"), raw)

    def _message(self, frame: dict[str, Any], raw: str | bytes) -> StreamMessage:
        seq, channel, data = frame.get("seq"), frame.get("channel"), frame.get("data")
        if not isinstance(seq, int) or not isinstance(channel, str) or not isinstance(data, dict):
            body = raw.encode() if isinstance(raw, str) else raw
            raise ResponseDecodeError("frame without seq, channel or data", status_code=101, body=body)
        self.last_seq = seq
        if channel == "error":
            code = data.get("code")
            raise _frame_error(code if isinstance(code, int) else 400, str(data.get("msg")), "ws-stream")
        spec = CHANNELS.get(channel)
        if spec is not None:
            try:
                data = _model(spec.module, spec.model).from_dict(data)
            except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
                body = raw.encode() if isinstance(raw, str) else raw
                message = f"{channel} frame does not match the spec: {type(exc).__name__}: {exc}"
                raise ResponseDecodeError(message, status_code=101, body=body, operation="ws-stream") from None
        symbol = frame.get("symbol")
        return StreamMessage(seq, channel, data, symbol if isinstance(symbol, str) else None)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("order stream could not be reopened: %s", task.exception())


def _channel_ref(channel: str, symbol: str | None) -> dict[str, str]:
    return {"channel": channel, "symbol": symbol} if symbol else {"channel": channel}


class _Pending:
    """A command (or a `wait_for`) waiting for its frames: first (maybe) `accepted`, then the terminal one."""

    def __init__(self, command: bool) -> None:
        self.command = command
        self.accepted = False
        self.done: asyncio.Future[OrderStreamResponse] = asyncio.get_running_loop().create_future()


class OrderStream(_Connection):
    """The order response stream: results of orders (sent here, or over HTTP with `x-session-id` set to
    `session_id`) and the `order:new` / `order:cancel` commands, validated and signed like HTTP ones.

    A command whose answer is lost (connection dropped, no terminal frame in `timeout`) raises
    `OrderStatusUnknownError` for new orders, exactly as over HTTP: resolve it by `cl_ord_id`.
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
        symbol_rules: Mapping[str, SymbolRules] | None = None,
    ) -> None:
        super().__init__(url or ORDERS_URL or "", open_timeout=open_timeout, reconnect=reconnect, max_age=max_age)
        self.symbol_rules = dict(symbol_rules or {})  # as on the HTTP client: checked before sending
        self._jwt = jwt
        self._key = signing_key if isinstance(signing_key, SigningKey) else SigningKey.parse(signing_key)
        self.session_id = session_id or str(uuid.uuid4())
        self._impersonate = impersonate
        self._timeout = timeout
        self._pending: dict[str, _Pending] = {}
        self._recent: OrderedDict[str, OrderStreamResponse] = OrderedDict()  # terminal frames nobody awaited
        self._listeners: set[asyncio.Queue[OrderStreamResponse]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._reopening: asyncio.Task[int] | None = None
        self._ready = asyncio.Event()

    def __repr__(self) -> str:  # never the JWT or the key
        return f"OrderStream(url={self._url!r}, session_id={self.session_id!r})"

    async def _setup(self) -> None:
        """Start reading, and log in (`auth:login`) with `session_id`."""
        self._reader = asyncio.create_task(self._read(self._live()))
        params: dict[str, str] = {"token": self._jwt}
        if self._impersonate:
            params["impersonate"] = self._impersonate
        request_id = str(uuid.uuid4())
        frame, _ = await self._exchange("auth:login", request_id, _COMPACT_JSON(params), header=None)
        if frame.code != 0:
            raise _frame_error(frame.code, str(frame.message or "login refused"), "auth:login", request_id)
        self._ready.set()

    async def close(self) -> None:
        await super().close()
        for task in (self._reopening, self._reader):
            if task is not None and not task.done():
                task.cancel()
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, StandXError):
                    pass
        self._reader = self._reopening = None

    async def new_order(self, **values: Any) -> OrderResult:
        """`order:new` with the arguments of `StandX.new_order` (the same checks, the same `cl_ord_id`)."""
        return await self._command("order:new", values)

    async def cancel_order(self, *, order_id: int | None = None, cl_ord_id: str | None = None) -> OrderResult:
        """`order:cancel` by exchange order id or client order id."""
        return await self._command("order:cancel", {"order_id": order_id, "cl_ord_id": cl_ord_id})

    async def _command(self, method: str, values: Mapping[str, object]) -> OrderResult:
        operation = ORDER_COMMANDS.get(method)
        if operation is None:
            raise ValidationError(method, "method", "not an order command of the spec")
        _, _, body = prepare(OPERATIONS[operation], values, self.symbol_rules)  # ValidationError: nothing sent
        params = _COMPACT_JSON(body or {})  # the exact text that is signed and sent
        request_id = str(uuid.uuid4())  # envelope id and x-request-id alike: the safe choice (notes §4.3)
        header = signature_headers(self._key, params.encode(), request_id, time.time_ns() // 1_000_000)
        cl_ord_id = body.get("cl_ord_id") if body else None
        await self._until_ready()
        try:
            frame, accepted = await self._exchange(method, request_id, params, header)
        except TransportError as error:
            if method == "order:new" and isinstance(cl_ord_id, str):
                raise OrderStatusUnknownError(method, cl_ord_id, error) from error
            raise
        if frame.code != 0:
            raise _frame_error(frame.code, str(frame.message or "rejected"), method, request_id)
        return OrderResult(request_id, cl_ord_id if isinstance(cl_ord_id, str) else None, accepted, frame)

    async def _until_ready(self) -> None:
        """While reconnecting, commands wait for the new login (up to `timeout`) rather than fail."""
        try:
            await asyncio.wait_for(self._ready.wait(), self._timeout)
        except TimeoutError:
            raise StreamClosedError(f"{self._url}: not logged in") from None

    async def _exchange(
        self, method: str, request_id: str, params: str, header: dict[str, str] | None
    ) -> tuple[OrderStreamResponse, bool]:
        """Send one command; its terminal frame, and whether an `accepted` frame came first."""
        pending = self._pending[request_id] = _Pending(command=True)
        envelope: dict[str, Any] = {"session_id": self.session_id, "request_id": request_id, "method": method}
        if header is not None:
            envelope["header"] = header
        envelope["params"] = params
        try:
            await self._send(envelope)
            return await asyncio.wait_for(asyncio.shield(pending.done), self._timeout), pending.accepted
        except TimeoutError:
            raise TransportError(f"{method}: no answer within {self._timeout} s", operation=method) from None
        except (ConnectionClosed, OSError) as exc:
            raise TransportError(f"{method}: connection lost: {exc}", operation=method) from exc
        finally:
            self._pending.pop(request_id, None)

    async def wait_for(self, request_id: str, timeout: float | None = None) -> OrderStreamResponse:
        """The terminal frame for `request_id`: an HTTP order's `request_id` (sent with `x-session-id`)."""
        frame = self._recent.pop(request_id, None)
        if frame is not None:
            return frame
        pending = self._pending.setdefault(request_id, _Pending(command=False))
        try:
            return await asyncio.wait_for(asyncio.shield(pending.done), timeout or self._timeout)
        except TimeoutError:
            raise TransportError(f"no frame for request_id {request_id} within {timeout or self._timeout} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def responses(self) -> AsyncIterator[OrderStreamResponse]:
        """Every frame from now on, including `accepted` ones and those of HTTP orders."""
        queue: asyncio.Queue[OrderStreamResponse] = asyncio.Queue(maxsize=10_000)
        self._listeners.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def _read(self, ws: ClientConnection) -> None:
        """Route frames to their waiting command, to `wait_for`, and to `responses()` listeners. At the
        connection-age limit, hold new commands, let those in flight finish (up to `timeout`), and reopen."""
        parse = _model(*ORDER_RESPONSE) if ORDER_RESPONSE else OrderStreamResponse
        draining_until: float | None = None
        reason = "connection age limit"
        try:
            while True:
                if draining_until is None:
                    wait = self._age_left()
                elif any(p.command for p in self._pending.values()) and time.monotonic() < draining_until:
                    wait = draining_until - time.monotonic()
                else:
                    await ws.close()
                    break
                try:
                    raw = await asyncio.wait_for(ws.recv(), max(wait, 0.0))
                except TimeoutError:
                    if draining_until is None:
                        self._ready.clear()
                        draining_until = time.monotonic() + self._timeout
                    continue
                try:
                    frame = parse.from_dict(_decode(raw, "ws-api"))
                except (StandXError, KeyError, ValueError, TypeError, AttributeError) as exc:
                    logger.warning("ws-api frame ignored: %s", exc)
                    continue
                self._route(frame)
        except ConnectionClosed:
            if draining_until is None:
                reason = f"closed with code {ws.close_code}"
        error = TransportError(f"{self._url}: {reason}")
        self._ready.clear()
        for pending in self._pending.values():  # their answers are lost with the connection
            if not pending.done.done():
                pending.done.set_exception(error)
        if not self._closing and (self._reconnect is not None or draining_until is not None):
            # Commands wait for the new login (_until_ready); a failed reopen is logged and they time out.
            self._reopening = asyncio.get_running_loop().create_task(self._reopen(str(error)))
            self._reopening.add_done_callback(_log_failure)

    def _route(self, frame: OrderStreamResponse) -> None:
        for queue in self._listeners:
            if not queue.full():
                queue.put_nowait(frame)
        pending = self._pending.get(frame.request_id)
        if frame.status == "accepted" and frame.code == 0:
            if pending is not None:
                pending.accepted = True
            return
        if pending is not None and not pending.done.done():
            pending.done.set_result(frame)
            return
        self._recent[frame.request_id] = frame
        while len(self._recent) > 1024:  # bounded: frames for HTTP orders nobody waits for
            self._recent.popitem(last=False)


__all__ = ["MAX_AGE_S", "RECONNECT", "MarketStream", "OrderResult", "OrderStream", "Reconnected", "StreamMessage"]
