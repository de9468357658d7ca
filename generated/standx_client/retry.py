# Copied from overlays/retry.py by `make generate`. Do not edit here: edit overlays/retry.py.
"""Retries for idempotent requests, and the client-side rate limiter (the exchange's credit bucket)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .exceptions import APIError, RateLimitError, ResponseDecodeError, StandXError, TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring Retry-After (capped).

    Reads (GET) are retried on transport errors, timeouts, 429, 5xx and undecodable bodies. Writes are
    never retried, unless `retry_writes=True` and the spec marks the operation idempotent
    (`x-standx-idempotent`: cancels, leverage and margin-mode changes). new_order is never retried.
    Every attempt is signed afresh (new request id and timestamp).
    """

    attempts: int = 4  # total tries, the first included; 1 turns retries off
    base: float = 0.25  # seconds
    cap: float = 8.0  # largest backoff, seconds
    retry_after_cap: float = 30.0  # largest Retry-After honoured, seconds
    retry_writes: bool = False

    def delay(self, attempt: int, error: StandXError, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None when `error` must be raised now."""
        if attempt >= self.attempts or not self.retryable(error):
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return min(error.retry_after, self.retry_after_cap)
        return rng() * min(self.cap, self.base * 2.0 ** (attempt - 1))

    @staticmethod
    def retryable(error: StandXError) -> bool:
        if isinstance(error, TransportError | RateLimitError | ResponseDecodeError):
            return True
        return isinstance(error, APIError) and error.status_code >= 500


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class RateLimit:
    """The documented per-account credit bucket: each request costs 45 credits, burst 900, refill 1000/s."""

    cost: float = 45.0
    capacity: float = 900.0
    refill_per_second: float = 1000.0


class CreditBucket:
    """A token bucket shared by every thread and task of one client.

    `reserve()` takes the credits at once (the level may go negative) and returns how long the caller must
    wait before sending; waiting happens outside the lock, with time.sleep or asyncio.sleep.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._level = limit.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        limit = self._limit
        with self._lock:
            now = self._clock()
            self._level = min(limit.capacity, self._level + (now - self._stamp) * limit.refill_per_second)
            self._stamp = now
            self._level -= limit.cost
            return 0.0 if self._level >= 0 else -self._level / limit.refill_per_second
