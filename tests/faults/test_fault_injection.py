"""Safe with money under faults, on an exchange that does NOT deduplicate cl_ord_id.

The mock runs in its own process and accepts a reused cl_ord_id (a second order), as an exchange that
promises nothing would. Seeded scenarios run a careful bot (one cl_ord_id per intent; on an unknown
outcome, resolve; resend the same id only on `OrderAbsent`) while a transport wrapper picks a fault for every
request on the wire: 5xx and proxy pages before and after execution, dropped connections, malformed and
truncated answers, 429, answers lost while the original is still executing (it lands after the client gave
up), answers slow after execution, tasks cancelled mid-request (`asyncio.wait_for`), and a real SIGINT
(KeyboardInterrupt) in the sync client. Some orders are cancelled again with retried idempotent writes.

Counted independently of the client: `new_order` requests on the wire per cl_ord_id (by the wrapper) and
orders at the exchange per cl_ord_id (the mock's own book). The run asserts 0 duplicates on the wire (a send
of an id beyond its first send and the bot's deliberate resends), 0 at the exchange, 0 lost intents, 0
untyped errors, 0 failed cancels, and prints its counts. The plan (which fault each request gets) comes from
the seed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standx_client import (
    AsyncStandX,
    OrderAbsent,
    OrderFound,
    OrderStatusUnknownError,
    OrderUnknown,
    RateLimitError,
    Resolution,
    RetryPolicy,
    SigningKey,
    StandX,
    StandXError,
    new_client_order_id,
)

SEED = int(os.environ.get("STANDX_FAULT_SEED", "1300"))
SCENARIOS = 200  # async scenarios, run CONCURRENT at a time
CONCURRENT = 25
INTERRUPTS = 8  # sync scenarios with a real SIGINT, on the main thread meanwhile
INTENTS = 8  # orders per scenario, every other one cancelled again
READS = 24
TIMEOUT = 0.3  # each attempt's read timeout
SETTLE = 1.0  # settle margin: the mock executes held requests within IN_FLIGHT s, far inside the window
IN_FLIGHT = 0.6  # a held request runs this long after arriving: after the client gave up at TIMEOUT
# Enough attempts that the fault rates below never exhaust them (0.45 ** 12 per call): a failure here is a bug.
RETRY = RetryPolicy(attempts=12, base=0.001, cap=0.004, retry_after_cap=0.004, retry_writes=True)

# (fault header or a harness action, weight) by operation kind. Weights are per request on the wire.
ORDER_FAULTS = [
    (None, 50), ("error=503; when=before", 5), ("error=500; when=after", 6), ("error_html=502; when=after", 4),
    ("drop; when=before", 4), ("drop; when=after", 5), ("malformed; when=after", 3), ("truncated; when=after", 3),
    ("rate_limit=0", 3), (f"latency={IN_FLIGHT}; when=before", 5), (f"latency={IN_FLIGHT}; when=after", 4),
    ("wait_for", 3), ("cancel_task", 3),
]  # fmt: skip
# Harness actions: the exchange holds the request while the caller gives up on it.
HELD = ("wait_for", "cancel_task", "interrupt")
CANCEL_FAULTS = [
    (None, 50), ("error=503; when=after", 10), ("drop; when=after", 8), ("truncated; when=after", 6),
    (f"latency={IN_FLIGHT}; when=after", 6), ("error=500; when=before", 6), ("rate_limit=0", 4),
]  # fmt: skip
READ_FAULTS = [
    (None, 70), ("error=503", 6), ("error_html=502", 4), ("drop", 4), ("malformed", 4), ("truncated", 4),
    ("rate_limit=0", 4), ("latency=0.005", 4),
]  # fmt: skip


class Plan:
    """The fault of each request on the wire, from the scenario's seed alone."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.planned: Counter[str] = Counter()
        self._next: dict[str, str | None] = {}

    def peek(self, path: str) -> str | None:
        """The fault the next request to `path` will get (the bot decides how to call from it)."""
        if path not in self._next:
            table = ORDER_FAULTS if path == "/api/new_order" else CANCEL_FAULTS if "cancel" in path else READ_FAULTS
            choices, weights = zip(*table, strict=True)
            self._next[path] = self.rng.choices(choices, weights)[0]
        return self._next[path]

    def draw(self, path: str) -> str | None:
        fault = self.peek(path)
        del self._next[path]
        self.planned[f"{path.rsplit('/', 1)[1]}:{fault}"] += 1
        return fault


@dataclass
class Wire:
    """What the wrapper saw go out."""

    requests: int = 0
    new_orders: Counter[str] = field(default_factory=Counter)  # cl_ord_id -> new_order requests sent


def _stamp(request: httpx.Request, plan: Plan, wire: Wire) -> str | None:
    wire.requests += 1
    if request.url.path == "/api/new_order":
        wire.new_orders[json.loads(request.content)["cl_ord_id"]] += 1
    fault = plan.draw(request.url.path)
    if fault in HELD:  # the exchange holds it (it lands later) while the caller gives up on it
        request.headers["x-mock-fault"] = f"latency={IN_FLIGHT}; when=before"
    elif fault is not None:
        request.headers["x-mock-fault"] = fault  # not signed: the signature covers the body only
    return fault


class AsyncFaults(httpx.AsyncBaseTransport):
    def __init__(self, plan: Plan, wire: Wire, inner: httpx.AsyncBaseTransport) -> None:
        self.plan, self.wire, self.inner = plan, wire, inner
        self.cancel_target: asyncio.Task[Any] | None = None  # the bot's task running the call to cancel

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _stamp(request, self.plan, self.wire) == "cancel_task" and self.cancel_target is not None:
            asyncio.get_running_loop().call_later(0.1, self.cancel_target.cancel)  # mid-request, while held
            self.cancel_target = None
        return await self.inner.handle_async_request(request)


class SyncFaults(httpx.BaseTransport):
    """Ctrl-C for real: SIGINT to the main thread while the exchange holds the new_order."""

    def __init__(self, plan: Plan, wire: Wire, inner: httpx.BaseTransport) -> None:
        self.plan, self.wire, self.inner = plan, wire, inner
        self.interrupt_next_order = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _stamp(request, self.plan, self.wire)
        if request.url.path == "/api/new_order" and self.interrupt_next_order:
            self.interrupt_next_order = False
            request.headers["x-mock-fault"] = f"latency={IN_FLIGHT}; when=before"
            threading.Timer(0.1, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
        return self.inner.handle_request(request)


@dataclass
class Tally:
    scenarios: int = 0
    interrupts: int = 0
    intents: int = 0
    calls: int = 0
    unknown: int = 0
    cancelled: int = 0
    interrupted: int = 0
    found: int = 0
    absent_resent: int = 0
    refused_resent: int = 0
    cancels_ok: int = 0
    cancels_failed: list[str] = field(default_factory=list)
    typed: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    wire_requests: int = 0
    wire_duplicates: int = 0
    exchange_duplicates: int = 0
    lost: int = 0
    planned: Counter[str] = field(default_factory=Counter)


@dataclass
class Bot:
    """Per-intent bookkeeping: the bot's deliberate resends are not duplicates."""

    resends: Counter[str] = field(default_factory=Counter)


def _order(cl_ord_id: str, n: int) -> dict[str, Any]:
    return dict(symbol="BTC-USD", side="buy", order_type="limit", qty="0.001", price=Decimal(90000 + n),
                time_in_force="gtc", reduce_only=False, cl_ord_id=cl_ord_id)  # fmt: skip


def _settled(result: Resolution, tally: Tally, bot: Bot, cl_ord_id: str) -> bool | None:
    """True: placed. False: absent, resend. None: ask again later."""
    if isinstance(result, OrderFound):
        tally.found += 1
        return True
    if isinstance(result, OrderAbsent):
        tally.absent_resent += 1
        bot.resends[cl_ord_id] += 1
        return False
    return None


async def _place_async(client: AsyncStandX, faults: AsyncFaults, tally: Tally, bot: Bot, n: int) -> str:
    cl_ord_id = new_client_order_id()
    tally.intents += 1
    for _ in range(30):
        tally.calls += 1
        how = faults.plan.peek("/api/new_order")
        try:
            if how == "wait_for":  # the bot gives up on a slow call
                await asyncio.wait_for(client.new_order(**_order(cl_ord_id, n)), 0.1)
            elif how == "cancel_task":  # the call's task is cancelled (by the transport, mid-request)
                faults.cancel_target = asyncio.create_task(client.new_order(**_order(cl_ord_id, n)))
                await faults.cancel_target
            else:
                await client.new_order(**_order(cl_ord_id, n))
            return cl_ord_id
        except OrderStatusUnknownError as unknown:
            assert unknown.cl_ord_id == cl_ord_id
            tally.unknown += 1
        except (TimeoutError, asyncio.CancelledError) as cancelled:  # the ledger has the id if it was sent
            if how not in ("wait_for", "cancel_task"):
                raise
            noted = cancelled.__cause__ if isinstance(cancelled, TimeoutError) else cancelled
            assert any(cl_ord_id in n for n in getattr(noted, "__notes__", [])), "the id is in a note"
            tally.cancelled += 1
        except RateLimitError:  # 429: refused before it ran, so resending is safe
            tally.refused_resent += 1
            bot.resends[cl_ord_id] += 1
            continue
        except StandXError as error:
            tally.typed[type(error).__name__] += 1
            raise
        except Exception as error:
            tally.untyped.append(repr(error))
            raise
        if cl_ord_id not in {e.cl_ord_id for e in client.unresolved_orders}:
            tally.refused_resent += 1  # cancelled before it was sent: nothing can land
            bot.resends[cl_ord_id] += 1
            continue
        while True:
            result = await client.resolve_order(cl_ord_id, wait=False)
            placed = _settled(result, tally, bot, cl_ord_id)
            if placed is not None:
                break
            assert isinstance(result, OrderUnknown)
            await asyncio.sleep(max(0.0, result.settles_at - time.time()))
        if placed:
            return cl_ord_id
    raise AssertionError(f"intent {cl_ord_id} neither placed nor resolved")


async def _read(client: AsyncStandX, step: int) -> None:
    match step % 3:
        case 0:
            assert (await client.query_symbol_price(symbol="BTC-USD")).symbol == "BTC-USD"
        case 1:
            await client.query_open_orders(symbol="BTC-USD")
        case _:
            assert (await client.query_balance()).balance > 0


def _account(url: str) -> tuple[SigningKey, dict[str, Any]]:
    key = SigningKey.generate()
    return key, httpx.post(f"{url}/mock/credentials", json={"public_key": key.public_key_b58}).json()


def _audit(url: str, user: str, intents: list[str], wire: Wire, bot: Bot, tally: Tally) -> None:
    rows = httpx.get(f"{url}/mock/orders", params={"user": user}).json()["result"]
    at_exchange = Counter(str(o["cl_ord_id"]) for o in rows)
    tally.exchange_duplicates += sum(n - 1 for n in at_exchange.values() if n > 1)
    tally.lost += sum(1 for cl_ord_id in intents if at_exchange[cl_ord_id] == 0)
    tally.wire_duplicates += sum(max(0, n - 1 - bot.resends[i]) for i, n in wire.new_orders.items())
    assert set(at_exchange) <= set(intents), "nothing but the intents at the exchange"
    tally.wire_requests += wire.requests


async def _scenario(url: str, seed: int, tally: Tally) -> None:
    key, account = _account(url)
    plan, wire, bot = Plan(seed), Wire(), Bot()
    faults = AsyncFaults(plan, wire, httpx.AsyncHTTPTransport())
    options: dict[str, Any] = dict(retry=RETRY, timeout=TIMEOUT, settle_margin=SETTLE, rate_limit=None,
                                   ip_rate_limit=None)  # fmt: skip
    async with AsyncStandX(jwt=account["token"], signing_key=key, base_url=url, transport=faults, **options) as client:
        intents: list[str] = []
        for step in range(READS):
            tally.calls += 1
            await _read(client, step)
            if step % 3 == 0 and len(intents) < INTENTS:
                intents.append(await _place_async(client, faults, tally, bot, len(intents)))
                if len(intents) % 2 == 0:  # cancel the previous one: retried through faults, settled if needed
                    tally.calls += 1
                    try:
                        await client.cancel_order(cl_ord_id=intents[-2])
                        tally.cancels_ok += 1
                    except StandXError as error:
                        tally.cancels_failed.append(repr(error))
    _audit(url, account["user"], intents, wire, bot, tally)
    tally.planned.update(plan.planned)
    tally.scenarios += 1


async def _all_scenarios(url: str, tally: Tally) -> None:
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(seed: int) -> None:
        async with gate:
            await _scenario(url, seed, tally)

    await asyncio.gather(*(one(SEED * 1000 + n) for n in range(SCENARIOS)))


@contextlib.contextmanager
def _sigint_armed() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt as usual (the test arms it only around the calls it interrupts)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted_scenario(url: str, seed: int, tally: Tally) -> None:
    """A sync bot whose new_order is hit by Ctrl-C while the exchange holds it; it settles through the ledger."""
    key, account = _account(url)
    plan, wire, bot = Plan(seed), Wire(), Bot()
    transport = SyncFaults(plan, wire, httpx.HTTPTransport())
    with StandX(jwt=account["token"], signing_key=key, base_url=url, retry=RETRY, timeout=TIMEOUT,
                settle_margin=SETTLE, rate_limit=None, ip_rate_limit=None, transport=transport) as client:  # fmt: skip
        cl_ord_id = new_client_order_id()
        tally.intents += 1
        transport.interrupt_next_order = True
        try:
            client.new_order(**_order(cl_ord_id, 0))
        except KeyboardInterrupt as ctrl_c:
            tally.interrupted += 1
            assert any(cl_ord_id in note for note in ctrl_c.__notes__)
        (entry,) = client.unresolved_orders
        assert (entry.cl_ord_id, entry.reason) == (cl_ord_id, "interrupted")
        placed = None
        while not placed:  # after Ctrl-C, the bot settles its ledger before doing anything else
            (result,) = client.resolve_all()
            placed = _settled(result, tally, bot, cl_ord_id)
            if placed is False:  # absent: resend, same id
                try:
                    client.new_order(**_order(cl_ord_id, 0))
                    placed = True
                except OrderStatusUnknownError:
                    tally.unknown += 1
    _audit(url, account["user"], [cl_ord_id], wire, bot, tally)
    tally.interrupts += 1


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """The mock in a process of its own (the second core), accepting duplicate cl_ord_ids."""
    child = subprocess.Popen(
        [sys.executable, "-m", "standx_mock", "--port", "0", "--seed", "3", "--market-maker",
         "--duplicate-cl-ord-id", "accept"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        child.terminate()
        child.wait(timeout=10)


def test_no_duplicate_and_no_lost_orders_under_seeded_faults(mock_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally()
    started = time.monotonic()
    errors: list[BaseException] = []

    def run_async() -> None:
        try:
            asyncio.run(_all_scenarios(mock_url, tally))
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=run_async, name="async scenarios")
    worker.start()
    with _sigint_armed():
        for n in range(INTERRUPTS):
            try:
                _interrupted_scenario(mock_url, SEED * 1000 + SCENARIOS + n, tally)
            except Exception as error:
                errors.append(error)
    worker.join()
    elapsed = time.monotonic() - started
    planned_faults = sum(n for key, n in tally.planned.items() if not key.endswith(":None"))
    with capsys.disabled():  # the counts belong in CI's output
        print(
            f"\nfault suite (seed {SEED}, mock accepting duplicate cl_ord_id): scenarios={tally.scenarios}+"
            f"{tally.interrupts} interrupted, intents={tally.intents}, calls={tally.calls}, "
            f"requests_on_wire={tally.wire_requests}, faults_planned={planned_faults}, "
            f"status_unknown={tally.unknown}, cancelled_calls={tally.cancelled}, ctrl_c={tally.interrupted}, "
            f"resolved_found={tally.found}, resent_after_absent={tally.absent_resent}, "
            f"resent_after_refusal={tally.refused_resent}, cancels_ok={tally.cancels_ok}, "
            f"cancels_failed={len(tally.cancels_failed)}, typed_errors={dict(tally.typed)}, "
            f"untyped_errors={len(tally.untyped)}, duplicates_on_wire={tally.wire_duplicates}, "
            f"duplicates_at_exchange={tally.exchange_duplicates}, lost={tally.lost}, seconds={elapsed:.1f}"
        )
    assert not errors, errors
    assert tally.untyped == [] and tally.cancels_failed == []
    assert tally.wire_duplicates == 0 and tally.exchange_duplicates == 0 and tally.lost == 0
    assert tally.scenarios == SCENARIOS and tally.interrupts == INTERRUPTS == tally.interrupted
    # the faults really happened, of every kind
    assert tally.wire_requests >= 10_000 and planned_faults > 1000
    assert tally.unknown > 50 and tally.cancelled > 10 and tally.found > 50 and tally.absent_resent > 20


def test_the_plan_comes_from_the_seed_alone() -> None:
    def draws(seed: int) -> list[str | None]:
        plan = Plan(seed)
        return [plan.draw(path) for path in ["/api/new_order", "/api/cancel_order", "/api/query_balance"] * 50]

    assert draws(SEED) == draws(SEED) and draws(SEED) != draws(SEED + 1)
