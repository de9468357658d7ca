# Copied from overlays/retry.py by `make generate`. Do not edit here: edit overlays/retry.py.
"""Retries for idempotent requests, and the client-side rate limiter (the exchange's credit bucket)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._tables import ACCOUNT_CAPACITY, ACCOUNT_COST, ACCOUNT_REFILL_PER_SECOND, IP_REQUESTS_PER_SECOND
from .exceptions import APIError, RateLimitError, ResponseDecodeError, StandXError, TransportError

#: The client's policy on the documented limits (the spec's x-standx-limits): stay this fraction under them.
#: The client sends in step with its own clock, but the exchange counts arrivals, and network jitter bunches them.
SAFETY_MARGIN = 0.1


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

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be an int >= 1, got {self.attempts!r}")
        for name in ("base", "cap", "retry_after_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
                raise ValueError(f"RetryPolicy.{name} must be a non-negative number of seconds, got {value!r}")
        if not isinstance(self.retry_writes, bool):
            raise ValueError(f"RetryPolicy.retry_writes must be a bool, got {self.retry_writes!r}")

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
    """A token bucket: each request costs `cost`, at most `capacity` saved up, `refill_per_second` back.

    The default is the documented per-account credit bucket (the spec's x-standx-limits.account) with
    `SAFETY_MARGIN` taken off its burst and refill.
    """

    cost: float = float(ACCOUNT_COST)
    capacity: float = ACCOUNT_CAPACITY * (1 - SAFETY_MARGIN)
    refill_per_second: float = ACCOUNT_REFILL_PER_SECOND * (1 - SAFETY_MARGIN)

    def __post_init__(self) -> None:
        for name in ("cost", "capacity", "refill_per_second"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                raise ValueError(f"RateLimit.{name} must be a positive number, got {value!r}")
        if self.capacity < self.cost:
            raise ValueError(f"RateLimit.capacity ({self.capacity}) must be at least one request's cost ({self.cost})")


#: The documented per-IP limit (x-standx-limits.ip: requests a second, whatever the account), `SAFETY_MARGIN` under
#: it. A bucket admits at most `capacity + refill_per_second` requests in any one second: a burst of `_IP_BURST`
#: of the documented rate, the rest as refill.
_IP_BURST = 0.1
IP_RATE_LIMIT = RateLimit(
    cost=1.0,
    capacity=IP_REQUESTS_PER_SECOND * _IP_BURST,
    refill_per_second=IP_REQUESTS_PER_SECOND * (1 - SAFETY_MARGIN - _IP_BURST),
)


class CreditBucket:
    """A token bucket shared by every thread and task of one client (or, for the per-IP limit, of the process).

    `reserve()` takes the credits at once (the level may go negative) and returns how long the caller must
    wait before sending; waiting happens outside the lock, with time.sleep or asyncio.sleep.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] | None = None) -> None:
        self._limit = limit
        self._clock = clock = clock or time.monotonic  # looked up now, so a test can move the clock
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


_ip_buckets: dict[tuple[str, RateLimit], CreditBucket] = {}
_ip_lock = threading.Lock()


def ip_bucket(host: str, limit: RateLimit) -> CreditBucket:
    """The process-wide bucket of one host's per-IP limit: every client of the process with the same host
    and limit shares it, so ten clients together stay under the limit too."""
    with _ip_lock:
        bucket = _ip_buckets.get((host, limit))
        if bucket is None:
            bucket = _ip_buckets[(host, limit)] = CreditBucket(limit)
        return bucket
