"""The documented per-account rate limit, emulated when `MockConfig.rate_limit` is on."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """The documented per-account credit bucket: 45 credits per request, 1000/s refill, 900 burst."""

    COST = 45.0
    REFILL = 1000.0
    CAPACITY = 900.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._clock = clock

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self._clock()
        level, last = self._buckets.get(key, (self.CAPACITY, now))
        level = min(self.CAPACITY, level + (now - last) * self.REFILL)
        if level < self.COST:
            self._buckets[key] = (level, now)
            return (self.COST - level) / self.REFILL
        self._buckets[key] = (level - self.COST, now)
        return 0.0
