"""Fault injection: latency, 5xx bursts, 429, dropped connections, malformed and truncated bodies.

Per request, the header `x-mock-fault` selects a fault explicitly (and disables the run-level draw
for that request). Grammar: comma- or semicolon-separated items `name[=value]`:

    latency=<seconds>          add latency (combines with one of the kinds below); with when=before the
                               request is held before it runs (it still runs, even if the client hung up:
                               the answer is lost while the original is in flight), with when=after it
                               runs at once and its answer is held
    error[=<5xx status>]       JSON error body, default 500
    error_html[=<5xx status>]  HTML error body (a proxy page), default 502
    rate_limit[=<seconds>]     429 with `Retry-After: <seconds>`, default 1
    drop                       close the connection without any response
    malformed                  200 with a body that is not valid JSON
    truncated                  200 with the JSON body cut in half (Content-Length matches the cut body)
    when=before|after|random   before: the operation does not run (request lost; default);
                               after: it runs and its response is replaced (response lost)

Examples: `x-mock-fault: drop; when=after`, `x-mock-fault: error=503`, `x-mock-fault: latency=0.2`.

A fault in the same grammar can also be queued for the next requests of an operation (`POST
/mock/faults/next`), for a bot whose requests a test cannot add headers to. Per request it is the header
first, then the queue, then the run-level draw.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from .config import FAULT_WHENS, TERMINAL_FAULT_KINDS, FaultConfig

FAULT_HEADER = "x-mock-fault"


class FaultHeaderInvalid(ValueError):
    pass


@dataclass(frozen=True)
class FaultPlan:
    """What to do with one request."""

    latency: float = 0.0
    kind: str | None = None
    status: int | None = None
    retry_after: int = 1
    when: str = "before"


NO_FAULT = FaultPlan()


def _flip(rng: random.Random) -> str:
    """`when=random`: a coin from `rng` sends the fault before or after the operation."""
    return "before" if rng.random() < 0.5 else "after"


def parse_fault_header(text: str, rng: random.Random | None = None) -> FaultPlan:
    latency = 0.0
    kind: str | None = None
    status: int | None = None
    retry_after = 1
    when = "before"
    items = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not items:
        raise FaultHeaderInvalid("empty x-mock-fault header")
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if name == "latency":
            try:
                latency = float(value)
            except ValueError:
                raise FaultHeaderInvalid(f"latency needs a number of seconds, got {value!r}") from None
            if not 0 <= latency <= 60:
                raise FaultHeaderInvalid("latency must be between 0 and 60 seconds")
        elif name == "when":
            if value not in FAULT_WHENS:
                raise FaultHeaderInvalid(f"when must be before, after or random, got {value!r}")
            when = value
        elif name in TERMINAL_FAULT_KINDS:
            if kind is not None:
                raise FaultHeaderInvalid(f"only one fault kind per request ({kind} and {name} given)")
            kind = name
            if name in ("error", "error_html"):
                status = 500 if name == "error" else 502
                if sep:
                    if not value.isdigit() or not 500 <= int(value) <= 599:
                        raise FaultHeaderInvalid(f"{name} needs a 5xx status, got {value!r}")
                    status = int(value)
            elif name == "rate_limit" and sep:
                if not value.isdigit():
                    raise FaultHeaderInvalid(f"rate_limit needs a Retry-After in whole seconds, got {value!r}")
                retry_after = int(value)
            elif sep and name not in ("error", "error_html", "rate_limit"):
                raise FaultHeaderInvalid(f"{name} takes no value")
        else:
            known = ", ".join(("latency", *TERMINAL_FAULT_KINDS, "when"))
            raise FaultHeaderInvalid(f"unknown fault {name!r} (known: {known})")
    if when == "random":
        when = _flip(rng or random.Random())
    return FaultPlan(latency=latency, kind=kind, status=status, retry_after=retry_after, when=when)


@dataclass
class QueuedFault:
    """A fault (header grammar) for the next `count` requests of `operation` (None: any operation)."""

    fault: str
    operation: str | None
    count: int

    def to_dict(self) -> dict[str, object]:
        return {"fault": self.fault, "operation": self.operation, "count": self.count}


class FaultInjector:
    """Draws run-level faults from a seeded RNG, serves queued ones, and counts every injected fault."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._lock = threading.Lock()
        self._default_seed = seed
        self.counts: Counter[str] = Counter()
        self.when_counts: Counter[str] = Counter()
        self.queued: list[QueuedFault] = []
        self.configure(config)

    def queue(self, fault: str, operation: str | None = None, count: int = 1) -> QueuedFault:
        """Queue `fault` for the next `count` matching requests; FaultHeaderInvalid for a bad fault."""
        parse_fault_header(fault)  # refuse a bad one now, not on the request it was meant for
        if count < 1:
            raise FaultHeaderInvalid("count must be at least 1")
        entry = QueuedFault(fault, operation, count)
        with self._lock:
            self.queued.append(entry)
        return entry

    def clear(self) -> None:
        """No run-level faults and nothing queued."""
        self.configure(FaultConfig())
        with self._lock:
            self.queued.clear()

    def _take_queued(self, operation_id: str) -> str | None:
        for entry in self.queued:
            if entry.operation is None or entry.operation == operation_id:
                entry.count -= 1
                if entry.count == 0:
                    self.queued.remove(entry)
                return entry.fault
        return None

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self.rng = random.Random(f"faults:{config.seed if config.seed is not None else self._default_seed}")
            self._burst_left = 0
            self._burst_status = 500
            self._burst_html = False

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.when_counts.clear()

    def plan(self, operation_id: str, header: str | None) -> FaultPlan:
        """The fault for this request; FaultHeaderInvalid for a bad header."""
        with self._lock:
            if header is None:
                header = self._take_queued(operation_id)
            plan = parse_fault_header(header, self.rng) if header is not None else self._draw(operation_id)
            self._count(plan)
            return plan

    def _count(self, plan: FaultPlan) -> None:
        if plan.latency > 0:
            self.counts["latency"] += 1
        if plan.kind is not None:
            self.counts[plan.kind] += 1
            self.when_counts[plan.when] += 1

    def _draw(self, operation_id: str) -> FaultPlan:
        cfg = self.config
        if not cfg.active or (cfg.operations and operation_id not in cfg.operations):
            return NO_FAULT
        latency = cfg.latency
        if self._burst_left > 0:
            self._burst_left -= 1
            burst_kind = "error_html" if self._burst_html else "error"
            return FaultPlan(latency=latency, kind=burst_kind, status=self._burst_status, when=self._when())
        u = self.rng.random()
        kind: str | None = None
        for name, rate in (
            ("drop", cfg.drop_rate),
            ("error", cfg.error_rate),
            ("rate_limit", cfg.rate_limit_rate),
            ("malformed", cfg.malformed_rate),
            ("truncated", cfg.truncated_rate),
        ):
            if u < rate:
                kind = name
                break
            u -= rate
        if kind is None:
            return FaultPlan(latency=latency, when=self._when()) if latency > 0 else NO_FAULT
        status: int | None = None
        if kind == "error":
            status = self.rng.choice(cfg.error_statuses)
            html = cfg.html_rate > 0 and self.rng.random() < cfg.html_rate
            kind = "error_html" if html else "error"
            self._burst_left = cfg.burst - 1
            self._burst_status = status
            self._burst_html = html
        return FaultPlan(latency=latency, kind=kind, status=status, retry_after=cfg.retry_after, when=self._when())

    def _when(self) -> str:
        return _flip(self.rng) if self.config.when == "random" else self.config.when


def html_error_page(status: int, phrase: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def malformed_body(request_id: str) -> bytes:
    """Something that looks like JSON but is not: a doubled comma and a bare word."""
    return f'{{"code":0,"message":"success",,"request_id":{request_id}}}'.encode()


def truncate(body: bytes) -> bytes:
    cut = max(1, len(body) // 2)
    return body[:cut]
