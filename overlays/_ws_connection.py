"""One WebSocket connection per stream, as an explicit state machine.

    NEW ──connect()──> CONNECTING ──set up──> OPEN <──reopened── RECONNECTING
                           │                   │ dropped ──────────> │
                           │ failed            │ dropped, no retry   │ gave up
                           v                   v                     v
                        CLOSED <──close()── FAILED <─────────────────┘

What holds in every state:

- **At most one socket.** A new socket is opened only by `_establish()`, and only after the previous one was
  closed (`_drop()`); a socket whose set-up fails is closed before the error leaves `_establish()`.
- **At most one piece of connection work.** Connecting and reconnecting run in one worker task at a time
  (OrderStream's reader is the worker between connections), so `close()` can cancel it and wait for it:
  cancellation closes whatever socket it was opening.
- **Nothing after close().** `close()` moves to CLOSED first, cancels and awaits the worker, then closes the
  socket; no transition leaves CLOSED.
- **Budget.** A stream holds a slot of the process-wide `ConnectionBudget` from CONNECTING until FAILED or
  CLOSED, and every opening attempt goes through its window (`_ws_budget.py`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, WebSocketException
except ImportError as exc:  # pragma: no cover - depends on the install
    from ._install import install_hint

    raise ImportError(f"{__name__} needs websockets: {install_hint('ws')}") from exc

from ._base import _check_option, _seconds, secure_url
from ._ws_budget import ConnectionBudget, _Attempt, budget_key
from .exceptions import StandXError, StreamClosedError, TransportError
from .retry import RetryPolicy

logger = logging.getLogger(f"{__package__}.streams")  # one logger for everything the streams do

T = TypeVar("T")


class StreamState(enum.StrEnum):
    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CLOSED = "closed"


_NEXT: dict[StreamState, frozenset[StreamState]] = {
    StreamState.NEW: frozenset({StreamState.CONNECTING, StreamState.CLOSED}),
    StreamState.CONNECTING: frozenset({StreamState.OPEN, StreamState.CLOSED}),
    StreamState.OPEN: frozenset({StreamState.RECONNECTING, StreamState.FAILED, StreamState.CLOSED}),
    StreamState.RECONNECTING: frozenset({StreamState.OPEN, StreamState.FAILED, StreamState.CLOSED}),
    StreamState.FAILED: frozenset({StreamState.CLOSED}),
    StreamState.CLOSED: frozenset(),
}
_HOLDS_SLOT = frozenset({StreamState.CONNECTING, StreamState.OPEN, StreamState.RECONNECTING})


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The stream was reopened (re-authenticated, re-subscribed or logged in again): frames may have been
    missed. `reason` says why it was reopened, `attempts` how many openings it took."""

    reason: str
    attempts: int


def check_ws_url(url: str) -> str:
    """wss:// only, except on loopback (the local mock exchange)."""
    return secure_url("stream", "url", url, "wss://perps.standx.com/ws-stream/v1", "wss", "ws")


def close_reason(closed: ConnectionClosed) -> str:
    """Why a socket ended, in words: the close code and reason the server sent, or what we sent."""
    frame = closed.rcvd or closed.sent
    if frame is None:
        return "connection lost without a close frame"
    who = "server" if closed.rcvd is not None else "client"
    return f"closed by the {who} with code {frame.code}" + (f" ({frame.reason})" if frame.reason else "")


async def close_socket(ws: ClientConnection) -> None:
    """Close a socket: the closing handshake, or at once (abort) when the caller is being cancelled."""
    try:
        await ws.close()
    except (OSError, WebSocketException):
        ws.transport.abort()
    except BaseException:
        ws.transport.abort()
        raise


class Connection:
    """The connection plumbing both streams share: states, the budget, opening, backoff and closing."""

    def __init__(
        self,
        url: str,
        *,
        open_timeout: float,
        reconnect: RetryPolicy | None,
        max_age: float,
        ping_interval: float | None,
        ping_timeout: float | None,
        budget: ConnectionBudget | None,
    ) -> None:
        self._url = check_ws_url(url)
        _check_option("reconnect", reconnect, RetryPolicy, where="stream")
        _check_option("budget", budget, ConnectionBudget, where="stream")
        self._budget = budget
        self._budget_key = budget_key(url)
        self._open_timeout = _seconds("open_timeout", open_timeout, where="stream")
        self._reconnect = reconnect
        self._max_age = _seconds("max_age", max_age, where="stream")
        # None turns the client's pings off (the exchange still pings); otherwise seconds, > 0.
        self._ping_interval = (
            None if ping_interval is None else _seconds("ping_interval", ping_interval, where="stream")
        )
        self._ping_timeout = None if ping_timeout is None else _seconds("ping_timeout", ping_timeout, where="stream")
        self._state = StreamState.NEW
        self._ws: ClientConnection | None = None
        self._worker: asyncio.Task[Any] | None = None  # the task connecting or reconnecting, if any
        self._failure: BaseException | None = None  # why the stream FAILED
        self.reconnects = 0  # successful reopenings so far

    @property
    def state(self) -> StreamState:
        return self._state

    def _to(self, state: StreamState) -> None:
        """The only place the state changes; a transition the diagram lacks is a bug in this module."""
        previous = self._state
        if state not in _NEXT[previous]:
            raise RuntimeError(f"stream {self._url}: no transition {previous} -> {state}")
        self._state = state
        if previous in _HOLDS_SLOT and state not in _HOLDS_SLOT and self._budget is not None:
            self._budget.release(self._budget_key)
        self._state_changed()

    def _state_changed(self) -> None:
        """Hook: OrderStream wakes the commands waiting for a login."""

    # ------------------------------------------------------------------ opening

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection and set it up (authenticate and subscribe, or log in). When this raises, nothing
        is left open or running; a stream connects once (make a new one after close)."""
        if self._state is not StreamState.NEW:
            raise StreamClosedError(f"{self._url}: the stream is {self._state}; a stream connects once")
        if self._budget is not None:
            self._budget.hold(self._budget_key)  # ConnectionLimitError: nothing opened, still NEW
        self._to(StreamState.CONNECTING)
        try:
            await self._work(self._establish())
        except BaseException:
            await self.close()
            raise
        self._to(StreamState.OPEN)
        self._opened()

    def _opened(self) -> None:
        """Hook: the first connection is up (OrderStream starts its reader)."""

    async def _work(self, work: Coroutine[Any, Any, T]) -> T:
        """Run connection work in the worker task, so that close() can cancel it and wait for it."""
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(work)
        self._worker = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and self._state is StreamState.CLOSED and current and not current.cancelling():
                raise StreamClosedError(f"{self._url}: closed") from None
            raise
        finally:
            if self._worker is task:
                self._worker = None

    async def _establish(self) -> None:
        """Open one socket and set it up; on any failure the socket is closed before the error propagates."""
        ws = await self._open()
        try:
            await self._setup(ws)
        except BaseException:
            await close_socket(ws)
            raise
        self._ws = ws

    async def _open(self) -> ClientConnection:
        attempt = await self._admit()
        try:
            return await connect(
                self._url,
                open_timeout=self._open_timeout,
                close_timeout=self._open_timeout,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                max_size=2**24,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransportError(f"cannot open {self._url}: {type(exc).__name__}: {exc}") from exc
        finally:
            if attempt is not None and self._budget is not None:
                self._budget.finish(attempt)

    async def _admit(self) -> _Attempt | None:
        """A place in the budget's window of new connections: wait (logged) while it is full."""
        if self._budget is None:
            return None
        while True:
            attempt, wait = self._budget.try_attempt(self._budget_key)
            if attempt is not None:
                return attempt
            logger.warning("%s: %.1f s until a new connection fits the per-IP limit", self._url, wait)
            await asyncio.sleep(wait)

    async def _setup(self, ws: ClientConnection) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ reopening

    def _lost(self, reason: str, *, renew: bool = False) -> None:
        """The socket ended: RECONNECTING, or FAILED (StreamClosedError) when reconnecting is off. A renewal
        (the connection-age limit) reopens even then."""
        if self._reconnect is None and not renew:
            raise self._fail(f"{self._url}: {reason}")
        self._to(StreamState.RECONNECTING)

    def _fail(self, message: str) -> StreamClosedError:
        error = StreamClosedError(message)
        self._failure = error
        self._to(StreamState.FAILED)
        return error

    async def _reopen(self, reason: str, policy: RetryPolicy | None = None) -> int:
        """In state RECONNECTING: close the socket, then open and set up a new one with backoff and jitter.
        Returns the attempts it took (state OPEN); StreamClosedError (state FAILED) when the policy gives up."""
        policy = policy or self._reconnect
        await self._drop()
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._establish()
            except StandXError as error:  # cannot open, no or a bad set-up answer, refused log-in
                delay = policy.delay(attempt, error) if policy is not None else None
                if delay is None:
                    message = f"{self._url}: {reason}; reopening failed after {attempt} attempt(s): {error}"
                    raise self._fail(message) from error
                logger.warning("%s: reopening failed (attempt %d): %s; next in %.2fs", self._url, attempt, error, delay)
                await asyncio.sleep(delay)
            else:
                self._to(StreamState.OPEN)
                self.reconnects += 1
                logger.info("%s: reopened after %s (%d attempt(s))", self._url, reason, attempt)
                return attempt

    # ------------------------------------------------------------------ closing

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await close_socket(ws)

    def _workers(self) -> Iterable[asyncio.Task[Any] | None]:
        return (self._worker,)

    async def close(self) -> None:
        """Stop: cancel connection work in progress, close the socket. Idempotent; the stream cannot reopen."""
        if self._state is StreamState.CLOSED:
            return
        self._to(StreamState.CLOSED)
        current = asyncio.current_task()
        tasks = [t for t in self._workers() if t is not None and t is not current and not t.done()]
        try:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
        finally:
            await self._drop()


__all__ = ["Connection", "Reconnected", "StreamState", "check_ws_url", "close_reason", "close_socket"]
