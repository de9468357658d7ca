"""The documented rate limits (the spec's x-standx-limits, from the generated tables), emulated as written
when `MockConfig.rate_limit` is on."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ._tables import ACCOUNT_CAPACITY, ACCOUNT_COST, ACCOUNT_REFILL_PER_SECOND, IP_REQUESTS_PER_SECOND


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
        window = self._ips.setdefault(ip, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.IP_PER_SECOND:
            return window[0] + 1.0 - now
        window.append(now)
        return 0.0
