"""Orders whose outcome is unknown, and the three answers a resolution can give.

An order is *in flight* from the moment it is handed to the transport until its settle time: the later of
(send time + the attempt's read timeout) and the moment the client gave up, plus a settle margin
(`StandX(settle_margin=...)`). StandX documents no timestamp tolerance and no processing deadline, so
the settle time is an assumption: an order the exchange has not shown by then is taken never to land.
Until then a lookup that does not find the order proves nothing, and a resolution answers
`OrderUnknown`, never `OrderAbsent`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .exceptions import APIError, RequestTimeoutError, ResponseDecodeError, StandXError, TransportError, ValidationError

if TYPE_CHECKING:
    from .models.order import Order

# Why an order's outcome is unknown, by what ended its call: the first class it is an instance of (anything else:
# the calling task was cancelled, by asyncio, wait_for's timeout or a bug below us).
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (RequestTimeoutError, "timeout"),
    (TransportError, "connection lost"),
    (ResponseDecodeError, "undecodable answer"),
    (APIError, "server error"),
    (StandXError, "no usable answer"),
    (KeyboardInterrupt, "interrupted"),
)


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))  # wire values are decimal strings: exact


@dataclass(frozen=True, slots=True)
class UnresolvedOrder:
    """One order whose outcome is unknown: it may or may not be at the exchange."""

    cl_ord_id: str
    operation: str
    #: The request body as sent (wire values: decimals are strings).
    request: Mapping[str, object] = field(repr=False)
    #: Unix seconds when the request was handed to the transport.
    sent_at: float
    #: Unix seconds after which the original can no longer land (see the module docstring).
    settles_at: float
    #: Why the outcome is unknown: "timeout", "connection lost", "server error", "undecodable answer",
    #: "cancelled" (the calling task), "interrupted" (KeyboardInterrupt) ...
    reason: str

    @property
    def symbol(self) -> str | None:
        value = self.request.get("symbol")
        return value if isinstance(value, str) else None

    @property
    def side(self) -> str | None:
        value = self.request.get("side")
        return value if isinstance(value, str) else None

    @property
    def qty(self) -> Decimal | None:
        return _decimal(self.request.get("qty"))

    @property
    def price(self) -> Decimal | None:
        return _decimal(self.request.get("price"))


@dataclass(frozen=True, slots=True)
class OrderFound:
    """The exchange has the order: it was placed. Do not resend."""

    cl_ord_id: str
    order: Order


@dataclass(frozen=True, slots=True)
class OrderAbsent:
    """The exchange does not have the order and its in-flight window has passed: resend it with the same
    `cl_ord_id` if you still want it."""

    cl_ord_id: str


@dataclass(frozen=True, slots=True)
class OrderUnknown:
    """Still unknown: the original may yet land (or the lookup failed). Ask again after `settles_at`."""

    cl_ord_id: str
    #: Unix seconds after which a lookup that does not find the order means it never landed.
    settles_at: float
    reason: str


Resolution = OrderFound | OrderAbsent | OrderUnknown


class Ledger:
    """The client's unresolved orders, by `cl_ord_id`; safe to share between threads and tasks."""

    def __init__(self) -> None:
        self._entries: dict[str, UnresolvedOrder] = {}
        self._lock = threading.Lock()

    def __contains__(self, cl_ord_id: object) -> bool:
        return cl_ord_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, cl_ord_id: str) -> UnresolvedOrder | None:
        return self._entries.get(cl_ord_id)

    def record(self, operation: str, request: Mapping[str, Any], cl_ord_id: str, sent_at: float,
               settles_at: float, reason: str) -> UnresolvedOrder:  # fmt: skip
        entry = UnresolvedOrder(cl_ord_id, operation, MappingProxyType(dict(request)), sent_at, settles_at, reason)
        with self._lock:
            known = self._entries.get(cl_ord_id)
            if known is not None:  # the same id unresolved twice: keep the first send, the later settle time
                entry = UnresolvedOrder(cl_ord_id, operation, known.request, known.sent_at,
                                        max(known.settles_at, settles_at), reason)  # fmt: skip
            self._entries[cl_ord_id] = entry
        return entry

    def settle(self, cl_ord_id: str) -> UnresolvedOrder | None:
        """Forget `cl_ord_id`; the entry it had, if any."""
        with self._lock:
            return self._entries.pop(cl_ord_id, None)

    def refuse_resend(self, operation: str, cl_ord_id: str | None, hint: str) -> None:
        """Sending an id again while its earlier attempt may still land could place the order twice."""
        if cl_ord_id is not None and cl_ord_id in self._entries:
            raise ValidationError(
                operation, "cl_ord_id", f"{cl_ord_id} has an earlier attempt whose outcome is unknown: it may still "
                f"land, so sending it again could place the order twice; {hint}",
            )  # fmt: skip

    def unknown(self, operation: str, request: Mapping[str, Any], cl_ord_id: str, exc: BaseException,
                sent_at: float, deadline: float, margin: float, where: str) -> float | None:  # fmt: skip
        """A call of an order ended with `exc` and no answer. Not sent (`sent_at` 0): nothing can land, and a
        cancellation or interrupt gets a note saying so; None. Sent: the order is recorded, settling at the
        later of `deadline` and now, plus `margin`; a cancellation or interrupt (which propagates as itself)
        gets a note naming the id and `where` to settle it. Returns the settle time."""
        if not sent_at:
            if not isinstance(exc, StandXError):
                exc.add_note(f"standx: {operation} cl_ord_id={cl_ord_id} was not sent")
            return None
        reason = next((why for cls, why in _REASONS if isinstance(exc, cls)), "cancelled")
        settles_at = max(time.time(), deadline) + margin
        self.record(operation, request, cl_ord_id, sent_at, settles_at, reason)
        if not isinstance(exc, StandXError):
            exc.add_note(
                f"standx: {operation} cl_ord_id={cl_ord_id} was sent and its outcome is unknown ({reason}); it is in "
                f"{where}"
            )
        return settles_at

    def snapshot(self) -> tuple[UnresolvedOrder, ...]:
        with self._lock:
            return tuple(sorted(self._entries.values(), key=lambda entry: entry.settles_at))
