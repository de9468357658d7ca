"""The documented limits, emulated as written: the request rate limits (the spec's x-standx-limits, from the
generated tables) when `MockConfig.rate_limit` is on, and the WebSocket connection limits per IP."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

from ._tables import ACCOUNT_CAPACITY, ACCOUNT_COST, ACCOUNT_REFILL_PER_SECOND, IP_REQUESTS_PER_SECOND


def _window(windows: dict[str, deque[float]], key: str, now: float, length: float) -> deque[float]:
    """The times counted for `key` in the sliding `length` seconds up to `now` (older ones are dropped)."""
    times = windows.setdefault(key, deque())
    while times and times[0] <= now - length:
        times.popleft()
    return times


class RateLimiter:
    """Per account, the credit bucket: `COST` credits a request, `CAPACITY` at most, `REFILL` credits a second
    back. Per IP, whatever the account: at most `IP_PER_SECOND` requests in any sliding second (the strict
    reading of "requests per second"; a refused request is not counted)."""

    COST = float(ACCOUNT_COST)
    REFILL = float(ACCOUNT_REFILL_PER_SECOND)
    CAPACITY = float(ACCOUNT_CAPACITY)
    IP_PER_SECOND = IP_REQUESTS_PER_SECOND

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._ips: dict[str, deque[float]] = {}
        self._clock = clock

    def take(self, key: str) -> float:
        """A request of account `key`: 0 when allowed, else the seconds to wait."""
        now = self._clock()
        level, last = self._buckets.get(key, (self.CAPACITY, now))
        level = min(self.CAPACITY, level + (now - last) * self.REFILL)
        if level < self.COST:
            self._buckets[key] = (level, now)
            return (self.COST - level) / self.REFILL
        self._buckets[key] = (level - self.COST, now)
        return 0.0

    def take_ip(self, ip: str) -> float:
        """A request from address `ip`: 0 when allowed, else the seconds until the oldest leaves the window."""
        now = self._clock()
        window = _window(self._ips, ip, now, 1.0)
        if len(window) >= self.IP_PER_SECOND:
            return window[0] + 1.0 - now
        window.append(now)
        return 0.0


class IpLimits:
    """The documented WebSocket limits per client IP: connections open at once, and new connections in a
    sliding minute. The docs do not say how the exchange counts, so the mock takes the strict reading: both
    endpoints share the limits, and every attempt enters the minute, refused ones too."""

    def __init__(
        self,
        max_open: int | None,
        max_new: int | None,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_open = max_open
        self.max_new = max_new
        self.window = window
        self.clock = clock
        self.open: Counter[str] = Counter()
        self.recent: dict[str, deque[float]] = {}

    def admit(self, ip: str) -> str | None:
        """Count an attempt; None when it may open (the caller must `release` it), else why it is refused."""
        now = self.clock()
        recent = _window(self.recent, ip, now, self.window)
        recent.append(now)
        if self.max_new is not None and len(recent) > self.max_new:
            return f"too many new connections: more than {self.max_new} in {self.window:g} s from this IP"
        if self.max_open is not None and self.open[ip] >= self.max_open:
            return f"too many connections: {self.max_open} already open from this IP"
        self.open[ip] += 1
        return None

    def release(self, ip: str) -> None:
        self.open[ip] -= 1
        if self.open[ip] <= 0:
            del self.open[ip]
