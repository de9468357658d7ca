# Copied from overlays/_operation.py by `make generate`. Do not edit here: edit overlays/_operation.py.
"""The shape of one row of the generated operation table (`_operations.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Param:
    """One argument: its Python name, its name on the wire, where it goes, and the spec's rule for it."""

    py: str
    wire: str
    location: Literal["query", "header", "path", "body"]
    required: bool
    rule: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    """How to send one operation of the spec."""

    name: str
    method: str
    host: str  # the name of the operation's server in the spec's x-standx-hosts: "perps", "geo", "auth"
    path: str
    auth: bool  # bearer JWT required
    signed: bool  # ed25519 body signature required
    has_body: bool
    text: bool  # the 200 answer is text/plain
    params: tuple[Param, ...]
    require_one_of: tuple[tuple[str, ...], ...]  # Python names; exactly one of each group must be given
    # ("required" | "forbidden", field, other field, value), Python names: price is required when order_type is limit
    conditions: tuple[tuple[str, str, str, Any], ...]
    idempotent: bool  # repeating it cannot change the outcome (opt-in retries of writes)
    echo: tuple[tuple[str, str], ...]  # (response field, request field) the client fills in from its request
    generated: str | None = None  # the body field the client makes up (new_order's cl_ord_id): tracked outcome
    # A retried write refused because an earlier attempt already did it: (read operation, request fields passed
    # to it by Python name, the read's field, its values meaning "done", the answer to give instead).
    settle: tuple[str, tuple[str, ...], str, tuple[str, ...], dict[str, Any]] | None = None
