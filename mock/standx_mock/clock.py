"""The exchange's clock: wall-clock time scaled by a speed, plus whatever a test advanced it by.

Only the exchange's own times follow it (order and trade times, funding, klines, `next_funding_time`);
JWT lifetimes and the signature timestamp window stay on real time, because the client signs with its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class MockClock:
    """`speed` mock seconds pass per real second (0 stops the clock: it then moves only by `advance`)."""

    def __init__(self, speed: float = 1.0, real: Callable[[], float] = time.time) -> None:
        if speed < 0:
            raise ValueError("clock speed must not be negative")
        self.speed = speed
        self._real = real
        #: The real time the clock started (or was reset) at: its mock time then too.
        self._origin = real()
        self._advanced = 0.0

    def reset(self) -> None:
        """Back to wall-clock time as of now, nothing advanced."""
        self._origin = self._real()
        self._advanced = 0.0

    def timestamp(self) -> float:
        return self._origin + (self._real() - self._origin) * self.speed + self._advanced

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._advanced += seconds

    def real_delay(self, mock_seconds: float) -> float | None:
        """Real seconds until `mock_seconds` have passed on this clock (None when it is stopped)."""
        return None if self.speed <= 0 else max(0.0, mock_seconds) / self.speed
