"""The client-side WebSocket connection budget: the exchange's per-IP limits, shared by every stream of the process.

StandX allows a number of WebSocket connections per IP open at once and a number of new connections per
minute (the spec's x-standx-limits.websocket, from the rate-limits page). One budget per exchange host is shared
by all streams of the process (and by every thread: sync faces run their loops in background threads), so the
process as a whole stays inside them:

- **Concurrent connections: raise.** A stream holds one slot from `connect()` until it is closed (or gives
  up), whether or not its socket is up at that moment; one stream never has more than one socket, so the
  sockets stay within the slots. One stream more's `connect()` raises `ConnectionLimitError` at once:
  waiting for another stream to close could wait forever, and it is a configuration mistake to surface.
- **New connections per minute: wait.** Every opening attempt, successful or not, takes a place in a
  sliding window; when the window is full the attempt waits (asyncio sleep, logged) until the oldest
  leaves it. The wait is bounded by the window (60 s) and is cancelled by `close()`.

An attempt's place is stamped again when the attempt ends, so the client's window is never shorter than
the server's view of it (the server sees the connection between the two stamps).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._tables import WEBSOCKET_CONNECTIONS, WEBSOCKET_NEW_PER_MINUTE
from .exceptions import ConnectionLimitError


@dataclass(frozen=True)
class ConnectionLimits:
    """The documented WebSocket limits per IP (the spec's): concurrent connections, new ones per window."""

    max_open: int = WEBSOCKET_CONNECTIONS
    max_new: int = WEBSOCKET_NEW_PER_MINUTE
    window: float = 60.0  # seconds: the documented figure is per minute

    def __post_init__(self) -> None:
        if self.max_open < 1 or self.max_new < 1 or not self.window > 0:
            raise ValueError(f"connection limits must be positive: {self}")


class _Attempt:
    """One opening attempt's place in the window: stamped when it starts, again when it ends."""

    __slots__ = ("done", "stamp")

    def __init__(self, stamp: float) -> None:
        self.stamp = stamp
        self.done = False


class _Host:
    __slots__ = ("attempts", "open")

    def __init__(self) -> None:
        self.open = 0
        self.attempts: list[_Attempt] = []  # at most max_new plus those in flight: a short list


def budget_key(url: str) -> str:
    """The budget a URL counts against: its host and port (both StandX streams share one)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    return f"{parts.hostname}:{port}"


class ConnectionBudget:
    """Slots (concurrent connections) and a sliding window of opening attempts, per exchange host."""

    def __init__(self, limits: ConnectionLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or ConnectionLimits()
        self._clock = clock
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, key: str) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        return host

    def hold(self, key: str) -> None:
        """Take a stream's slot; ConnectionLimitError when every slot is taken."""
        with self._lock:
            host = self._host(key)
            if host.open >= self.limits.max_open:
                raise ConnectionLimitError(
                    f"{key}: {host.open} streams are already open, the most the exchange allows per IP; "
                    "close one first",
                    limit=self.limits.max_open,
                )
            host.open += 1

    def release(self, key: str) -> None:
        with self._lock:
            host = self._host(key)
            host.open = max(0, host.open - 1)

    def try_attempt(self, key: str) -> tuple[_Attempt | None, float]:
        """A place in the window for one opening attempt, or None and the seconds to wait before asking again."""
        window, max_new = self.limits.window, self.limits.max_new
        with self._lock:
            now = self._clock()
            host = self._host(key)
            host.attempts = [a for a in host.attempts if not a.done or a.stamp > now - window]
            if len(host.attempts) < max_new:
                attempt = _Attempt(now)
                host.attempts.append(attempt)
                return attempt, 0.0
            ended = [a.stamp for a in host.attempts if a.done]
            # All places taken by attempts still in flight (a tiny max_new): ask again shortly.
            return None, max(min(ended) + window - now, 0.001) if ended else 0.01

    def finish(self, attempt: _Attempt) -> None:
        """The attempt ended (opened or failed): it counts from now until a window from now."""
        with self._lock:
            attempt.stamp = self._clock()
            attempt.done = True

    def open_count(self, key: str) -> int:
        with self._lock:
            return self._host(key).open


#: The budget every stream uses unless given `budget=`: one per process.
DEFAULT_BUDGET = ConnectionBudget()

__all__ = ["DEFAULT_BUDGET", "ConnectionBudget", "ConnectionLimits", "budget_key"]
