# Copied from overlays/ledger.py by `make generate`. Do not edit here: edit overlays/ledger.py.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models.order import Order


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

    def settle(self, cl_ord_id: str) -> None:
        with self._lock:
            self._entries.pop(cl_ord_id, None)

    def snapshot(self) -> tuple[UnresolvedOrder, ...]:
        with self._lock:
            return tuple(sorted(self._entries.values(), key=lambda entry: entry.settles_at))
