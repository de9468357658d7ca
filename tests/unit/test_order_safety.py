"""Order safety that does not lean on the exchange deduplicating cl_ord_id (issue 13), on httpx.MockTransport.

The ledger of unresolved orders, the three outcomes of a resolution and its in-flight window, cancelled and
interrupted calls, typed errors for every failure, options checked at construction, closed clients, settled
retried cancels, and the per-IP pacing. Expected bodies come from the docs' examples (tests/fixtures).
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import re
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standx_client import (
    AsyncStandX,
    BadRequestError,
    ClientClosedError,
    OrderAbsent,
    OrderFound,
    OrderStatusUnknownError,
    OrderUnknown,
    RateLimit,
    ResponseDecodeError,
    RetryPolicy,
    StandX,
    StandXError,
    TransportError,
    ValidationError,
)
from standx_client._json import TooDeepError, check_depth

from tests.conftest import DOC_EXAMPLES, JWT, SEED_HEX, Recorder, json_response

ORDER = dict(symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000", time_in_force="gtc",
             reduce_only=False)  # fmt: skip
ACK = DOC_EXAMPLES["new_order"]["response"]
FOUND = DOC_EXAMPLES["query_order"]["response"]
NOT_FOUND = {"code": 404, "message": "order not found", "request_id": "t"}
FAST = RetryPolicy(attempts=4, base=0.001, cap=0.002)
# Small windows so the tests wait little: the read timeout bounds the attempt, plus the settle margin.
WINDOW = dict(timeout=0.05, settle_margin=0.1)


def _raise(exc: BaseException) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _client(routes: dict[str, Callable[[httpx.Request], httpx.Response]], **options: Any) -> tuple[StandX, Recorder]:
    recorder = Recorder(routes)
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder), **options)
    return client, recorder


def _sent(recorder: Recorder, path: str) -> list[httpx.Request]:
    return [r for r in recorder.requests if r.url.path == path]


# --------------------------------------------------------------------------- the ledger and the three outcomes


def test_a_lost_answer_is_recorded_and_never_absent_inside_its_window() -> None:
    lookups: list[float] = []

    def query_order(request: httpx.Request) -> httpx.Response:
        lookups.append(time.time())
        return httpx.Response(404, json=NOT_FOUND)

    client, recorder = _client(
        {"/api/new_order": _raise(httpx.ReadTimeout("no answer")), "/api/query_order": query_order}, **WINDOW
    )
    with pytest.raises(OrderStatusUnknownError) as info:
        client.new_order(**ORDER, cl_ord_id="intent-1")
    error = info.value
    assert error.cl_ord_id == "intent-1" and error.settles_at is not None and error.settles_at > time.time()
    (entry,) = client.unresolved_orders
    assert (entry.cl_ord_id, entry.symbol, entry.side, entry.reason) == ("intent-1", "BTC-USD", "buy", "timeout")
    assert (entry.qty, entry.price) == (Decimal("0.1"), Decimal("50000"))
    assert entry.settles_at == error.settles_at and entry.sent_at < entry.settles_at

    # Looked up at once: not found proves nothing while the original may still land.
    early = client.resolve_order("intent-1", wait=False)
    assert isinstance(early, OrderUnknown) and early.settles_at == entry.settles_at
    # Resending the id while it is unresolved is refused before anything is sent.
    with pytest.raises(ValidationError, match="outcome is unknown"):
        client.new_order(**ORDER, cl_ord_id="intent-1")
    assert len(_sent(recorder, "/api/new_order")) == 1

    assert client.resolve_order("intent-1") == OrderAbsent("intent-1")  # waits out the window
    assert lookups[-1] >= entry.settles_at  # the lookup that proved absence began after the window
    assert client.unresolved_orders == ()
    recorder.routes["/api/new_order"] = json_response(ACK)
    assert client.new_order(**ORDER, cl_ord_id="intent-1").cl_ord_id == "intent-1"  # now safe to resend


def test_an_order_that_lands_late_is_found_by_polling() -> None:
    answers = iter([404, 404, 200])

    def query_order(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json=FOUND if status == 200 else NOT_FOUND)

    client, recorder = _client(
        {"/api/new_order": _raise(httpx.RemoteProtocolError("peer closed")), "/api/query_order": query_order},
        timeout=5.0,
        settle_margin=5.0,
    )
    with pytest.raises(OrderStatusUnknownError):
        client.new_order(**ORDER, cl_ord_id=FOUND["cl_ord_id"])
    assert client.unresolved_orders[0].reason == "connection lost"
    result = client.resolve_order(FOUND["cl_ord_id"])
    assert isinstance(result, OrderFound) and result.order.id == FOUND["id"]
    assert len(_sent(recorder, "/api/query_order")) == 3 and client.unresolved_orders == ()


def test_resolve_all_settles_the_ledger_and_keeps_what_it_could_not_look_up() -> None:
    lost = {"/api/new_order": _raise(httpx.ReadTimeout("x"))}
    client, recorder = _client({**lost, "/api/query_order": json_response(NOT_FOUND, 404)}, **WINDOW)
    for n in range(3):
        with pytest.raises(OrderStatusUnknownError):
            client.new_order(**ORDER, cl_ord_id=f"intent-{n}")
    assert [e.cl_ord_id for e in client.unresolved_orders] == ["intent-0", "intent-1", "intent-2"]
    assert client.resolve_all() == [OrderAbsent(f"intent-{n}") for n in range(3)]
    assert client.unresolved_orders == ()

    with pytest.raises(OrderStatusUnknownError):
        client.new_order(**ORDER, cl_ord_id="intent-9")
    recorder.routes["/api/query_order"] = _raise(httpx.ConnectError("down"))
    (result,) = client.resolve_all()
    assert isinstance(result, OrderUnknown) and "lookup failed" in result.reason
    assert [e.cl_ord_id for e in client.unresolved_orders] == ["intent-9"]


def test_a_definite_answer_is_not_recorded() -> None:
    rejected = json_response({"code": 400, "message": "insufficient margin", "request_id": "r"}, 400)
    client, _ = _client({"/api/new_order": rejected})
    with pytest.raises(BadRequestError):
        client.new_order(**ORDER)
    client2, _ = _client({"/api/new_order": _raise(httpx.ConnectError("refused"))})
    with pytest.raises(TransportError) as info:
        client2.new_order(**ORDER)  # never connected: nothing reached the exchange
    assert not isinstance(info.value, OrderStatusUnknownError)
    assert client.unresolved_orders == () and client2.unresolved_orders == ()


# --------------------------------------------------------------------------- cancelled and interrupted calls


def _hanging() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await asyncio.Event().wait()  # the exchange never answers
        raise AssertionError("unreachable")

    return httpx.MockTransport(handler), seen


@pytest.mark.anyio
async def test_wait_for_timeout_keeps_the_id_in_a_note_and_in_the_ledger() -> None:
    transport, seen = _hanging()
    async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=transport, **WINDOW) as client:
        with pytest.raises(TimeoutError) as info:
            await asyncio.wait_for(client.new_order(**ORDER, cl_ord_id="mid-flight"), 0.05)
        assert len(seen) == 1
        cancelled = info.value.__cause__
        assert isinstance(cancelled, asyncio.CancelledError)  # wait_for's TimeoutError chains the cancellation
        assert any("cl_ord_id=mid-flight" in note for note in cancelled.__notes__)
        assert "resolve_order('mid-flight')" in "".join(traceback.format_exception(info.value))
        (entry,) = client.unresolved_orders
        assert (entry.cl_ord_id, entry.reason) == ("mid-flight", "cancelled")

        task = asyncio.create_task(client.new_order(**ORDER, cl_ord_id="cancelled-task"))
        while len(seen) < 2:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as raised:
            await task  # still a CancelledError: it propagates as itself
        assert any("cl_ord_id=cancelled-task" in note for note in raised.value.__notes__)
        assert {e.cl_ord_id for e in client.unresolved_orders} == {"mid-flight", "cancelled-task"}


@pytest.mark.anyio
async def test_a_call_cancelled_before_sending_is_not_recorded() -> None:
    transport, seen = _hanging()
    slow_bucket = RateLimit(cost=45, capacity=45, refill_per_second=1)  # the second call waits 45 s for credits
    async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=transport, rate_limit=slow_bucket) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.new_order(**ORDER, cl_ord_id="first"), 0.05)
        with pytest.raises(TimeoutError) as info:
            await asyncio.wait_for(client.new_order(**ORDER, cl_ord_id="never-sent"), 0.05)
        assert len(seen) == 1
        assert any("cl_ord_id=never-sent was not sent" in n for n in info.value.__cause__.__notes__)  # type: ignore[union-attr]
        assert [e.cl_ord_id for e in client.unresolved_orders] == ["first"]


def test_keyboard_interrupt_after_sending_is_recorded_and_propagates() -> None:
    client, _ = _client({"/api/new_order": _raise(KeyboardInterrupt())})
    with pytest.raises(KeyboardInterrupt) as info:
        client.new_order(**ORDER, cl_ord_id="ctrl-c")
    assert any("cl_ord_id=ctrl-c" in note and "resolve_order" in note for note in info.value.__notes__)
    assert [(e.cl_ord_id, e.reason) for e in client.unresolved_orders] == [("ctrl-c", "interrupted")]


# --------------------------------------------------------------------------- every failure is a StandXError


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BROKEN_ANSWERS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "corrupt gzip": lambda r: httpx.Response(200, content=b"not gzip at all", headers={"content-encoding": "gzip"}),
    "nested too deep": lambda r: httpx.Response(200, content=_nested(100_000)),
    "wrong shape": json_response([1, 2, 3]),
    "transport bug": _raise(RuntimeError("boom")),
    "decoding error": _raise(httpx.DecodingError("bad brotli")),
}


@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS))
def test_every_failure_of_a_read_is_typed(answer: str) -> None:
    client, recorder = _client({"/api/query_symbol_price": BROKEN_ANSWERS[answer]}, retry=FAST)
    with pytest.raises(StandXError) as info:
        client.query_symbol_price(symbol="BTC-USD")
    assert isinstance(info.value, ResponseDecodeError | TransportError)
    assert len(recorder.requests) == FAST.attempts  # a broken answer to a read is retried


@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS))
def test_every_failure_after_sending_an_order_keeps_its_id(answer: str) -> None:
    client, recorder = _client({"/api/new_order": BROKEN_ANSWERS[answer]})
    with pytest.raises(OrderStatusUnknownError) as info:
        client.new_order(**ORDER)
    assert info.value.cl_ord_id == json.loads(recorder.last.content)["cl_ord_id"]
    assert isinstance(info.value.__cause__, ResponseDecodeError | TransportError)
    assert len(recorder.requests) == 1


def test_deep_nesting_is_refused_even_where_the_recursion_limit_was_raised() -> None:
    """eth_account (through py_ecc) raises the recursion limit to 100000 at import; C JSON decoders then
    overflow the C stack on `[[[[...` and the process dies. Run in a child process, so a crash fails the test."""
    script = textwrap.dedent(
        """
        import sys, httpx
        sys.setrecursionlimit(100_000)
        from standx_client import StandX, ResponseDecodeError
        for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 60_000, b"[" * 90_000):
            client = StandX(retry=None, transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
            try:
                client.query_symbol_price(symbol="BTC-USD")
            except ResponseDecodeError as error:
                print("refused:", error.message)
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.count("refused:") == 3 and "nested too deeply" in child.stdout


def test_the_depth_check_measures_nesting_not_size() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("standx_client._json.sys.getrecursionlimit", lambda: 100_000)
        page = json.dumps({"result": [FOUND] * 1200}).encode()  # wide, not deep: 1200 objects, depth 2
        check_depth(page)
        tricky = json.dumps({"remark": "[" * 5000, "nested": [[[["]]]]"]]]]}).encode()  # brackets inside strings
        check_depth(tricky)
        check_depth(b"[" * 300 + b"]" * 300, limit=300)
        with pytest.raises(TooDeepError):
            check_depth(b"[" * 301 + b"]" * 301, limit=300)
        with pytest.raises(TooDeepError):
            check_depth(b'{"a":' * 400)  # never closed


def test_a_gzip_answer_that_is_whole_still_decodes() -> None:
    body = gzip.compress(json.dumps(DOC_EXAMPLES["query_symbol_price"]["response"]).encode())
    client, _ = _client(
        {"/api/query_symbol_price": lambda r: httpx.Response(200, content=body, headers={"content-encoding": "gzip"})}
    )
    assert client.query_symbol_price(symbol="BTC-USD").mark_price == Decimal("121602.43")


def test_long_json_numbers_decode_exactly_through_the_client() -> None:
    """Live answers carry decimals as JSON numbers (standx-api-notes.md 5.3 and 8.3); more than 17 significant
    digits do not survive a float, so this fails if the client's decode goes through one."""
    body = json.dumps(DOC_EXAMPLES["query_symbol_price"]["response"])
    body = body.replace('"121602.43"', "121602.430000000000000000001")
    body = body.replace('"121601.158461"', "9030.51800000000002509")
    client, _ = _client({"/api/query_symbol_price": json_response(body)})
    price = client.query_symbol_price(symbol="BTC-USD")
    assert price.mark_price == Decimal("121602.430000000000000000001")
    assert str(price.index_price) == "9030.51800000000002509"


# --------------------------------------------------------------------------- options checked at construction

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"timeout": "5"}, "timeout: must be a finite number of seconds"),
    ({"timeout": -1}, "timeout: must be > 0 seconds"),
    ({"timeout": 0}, "timeout: must be > 0 seconds"),
    ({"timeout": float("nan")}, "timeout: must be a finite number"),
    ({"timeout": httpx.Timeout(None)}, "the connect timeout must be set"),
    ({"total_timeout": -2}, "total_timeout: must be > 0"),
    ({"settle_margin": "1"}, "settle_margin: must be a finite number"),
    ({"retry": "fast"}, "retry: must be a RetryPolicy or None"),
    ({"rate_limit": 45}, "rate_limit: must be a RateLimit or None"),
    ({"ip_rate_limit": {"cost": 1}}, "ip_rate_limit: must be a RateLimit or None"),
    ({"base_url": "https://perps.standx.com/api"}, "pass the host alone, such as 'https://perps.standx.com'"),
    ({"base_url": "https://perps.standx.com/api/"}, "ends in /api"),
    ({"base_url": "http://perps.standx.com"}, "must be an https:// URL"),
    ({"base_url": 8765}, "base_url: must be a URL string"),
    ({"auth_url": "https://api.standx.com/api"}, "auth_url"),
    ({"session_id": 5}, "session_id: must be a str"),
    ({"jwt": b"token"}, "jwt: must be a str"),
    ({"transport": httpx.AsyncHTTPTransport()}, "StandX needs an BaseTransport"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS, ids=[repr(o) for o, _ in BAD_OPTIONS])
def test_bad_options_are_refused_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        StandX(**options)
    assert message in str(info.value)


def test_bad_policies_and_per_call_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts must be an int >= 1"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="capacity must be a positive number"):
        RateLimit(capacity=0)
    with pytest.raises(ValueError, match="at least one request's cost"):
        RateLimit(cost=45, capacity=10)
    client, recorder = _client({})
    with pytest.raises(ValidationError, match="timeout: must be a finite number"):
        client.health(timeout="5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("StandX.__init__() got an unexpected keyword argument 'jwtt'")):
        StandX(jwtt="x")  # type: ignore[call-arg]
    assert "settle_margin" in inspect.signature(StandX).parameters and "settle_margin:" in (
        StandX.__init__.__doc__ or ""
    )
    assert recorder.requests == []


def test_a_base_url_with_a_path_prefix_but_not_api_is_kept() -> None:
    client, recorder = _client({"/proxy/standx/api/health": lambda r: httpx.Response(200, text="OK")},
                               base_url="https://gateway.example/proxy/standx")  # fmt: skip
    assert client.health() == "OK"
    assert str(recorder.last.url) == "https://gateway.example/proxy/standx/api/health"


# --------------------------------------------------------------------------- closed clients


def test_a_closed_client_sends_nothing() -> None:
    client, recorder = _client({"/api/health": lambda r: httpx.Response(200, text="OK")})
    assert client.health() == "OK"
    client.close()
    assert client.is_closed
    with pytest.raises(ClientClosedError):
        client.health()
    with pytest.raises(ClientClosedError):
        client.new_order(**ORDER)
    with StandX(transport=httpx.MockTransport(recorder)) as scoped:
        pass
    with pytest.raises(ClientClosedError):
        scoped.health()
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_a_closed_async_client_sends_nothing() -> None:
    recorder = Recorder({"/api/health": lambda r: httpx.Response(200, text="OK")})
    async with AsyncStandX(transport=httpx.MockTransport(recorder)) as client:
        assert await client.health() == "OK"
    with pytest.raises(ClientClosedError):
        await client.health()
    assert len(recorder.requests) == 1


# --------------------------------------------------------------------------- idempotent writes, idempotent results

NOT_OPEN = {"code": 400, "message": "order 1820682 is not open (status canceled)", "request_id": "retry-2"}


def _retried_cancel(order_status: str) -> tuple[StandX, Recorder]:
    answers: Iterator[Callable[[httpx.Request], httpx.Response]] = iter(
        [_raise(httpx.ReadTimeout("lost")), json_response(NOT_OPEN, 400)]
    )
    return _client(
        {
            "/api/cancel_order": lambda r: next(answers)(r),
            "/api/query_order": json_response({**FOUND, "status": order_status}),
        },
        retry=RetryPolicy(attempts=3, base=0.001, cap=0.002, retry_writes=True),
    )


def test_a_retried_cancel_that_finds_the_order_cancelled_succeeds() -> None:
    client, recorder = _retried_cancel("canceled")
    answer = client.cancel_order(cl_ord_id=FOUND["cl_ord_id"])
    assert answer.code == 0 and "earlier attempt" in answer.message and answer.request_id == "retry-2"
    (lookup,) = _sent(recorder, "/api/query_order")
    assert lookup.url.params["cl_ord_id"] == FOUND["cl_ord_id"]
    assert len(_sent(recorder, "/api/cancel_order")) == 2


def test_a_retried_cancel_of_a_filled_order_still_fails() -> None:
    client, _ = _retried_cancel("filled")
    with pytest.raises(BadRequestError, match="not open"):
        client.cancel_order(order_id=FOUND["id"])


def test_a_first_refusal_is_never_second_guessed() -> None:
    client, recorder = _client(
        {"/api/cancel_order": json_response(NOT_OPEN, 400), "/api/query_order": json_response(FOUND)},
        retry=RetryPolicy(retry_writes=True),
    )
    with pytest.raises(BadRequestError):
        client.cancel_order(order_id=FOUND["id"])
    assert _sent(recorder, "/api/query_order") == []


# --------------------------------------------------------------------------- limits and budgets


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.monotonic and time.sleep on a clock the test moves: sleeping advances it."""
    now = [1000.0]
    monkeypatch.setattr("standx_client._base.time.monotonic", lambda: now[0])
    monkeypatch.setattr("standx_client.retry.time.monotonic", lambda: now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr("standx_client._base.time.sleep", sleep)
    return now


def test_the_per_ip_limit_is_shared_by_every_client_of_a_host(clock: list[float]) -> None:
    limit = RateLimit(cost=1, capacity=2, refill_per_second=10)
    routes = {"/api/health": lambda r: httpx.Response(200, text="OK")}
    a, _ = _client(routes, ip_rate_limit=limit)
    b, _ = _client(routes, ip_rate_limit=limit)
    elsewhere, _ = _client(routes, ip_rate_limit=limit, base_url="https://other.example")
    start = clock[0]
    a.health()
    a.health()
    elsewhere.health()  # another host: its own bucket
    assert clock[0] == start
    b.health()  # the third call to perps.standx.com from this process waits for a refill
    assert clock[0] == pytest.approx(start + 0.1)


def test_total_timeout_bounds_the_retries_and_each_attempt(clock: list[float]) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"code": 429, "message": "slow down"}, headers={"Retry-After": "1"})

    client, recorder = _client({"/api/query_symbol_price": limited}, timeout=10.0, total_timeout=2.5,
                               retry=RetryPolicy(attempts=10), ip_rate_limit=None)  # fmt: skip
    with pytest.raises(StandXError):
        client.query_symbol_price(symbol="BTC-USD")
    # attempts at 0, 1 and 2 s; a fourth would start at 3 s, past the 2.5 s budget
    assert len(recorder.requests) == 3
    reads = [r.extensions["timeout"]["read"] for r in recorder.requests]
    assert reads == pytest.approx([2.5, 1.5, 0.5])
