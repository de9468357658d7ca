"""Retries, order safety, rate limiting and timeouts on the one request path (httpx.MockTransport)."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import nacl.signing
import pytest
import yaml
from standx_client import (
    AsyncStandX,
    BadRequestError,
    OrderAbsent,
    OrderFound,
    OrderUnknown,
    RateLimitError,
    ServerError,
    StandX,
    TransportError,
    ValidationError,
)
from standx_client._ids import encode_ulid, new_client_order_id
from standx_client.exceptions import OrderStatusUnknownError
from standx_client.retry import IP_RATE_LIMIT, CreditBucket, RateLimit, RetryPolicy

from tests.conftest import DOC_EXAMPLES, JWT, ROOT, SEED_HEX, VECTORS, Recorder, json_response

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.002)
ORDER = dict(symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000", time_in_force="gtc",
             reduce_only=False)  # fmt: skip


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr("standx_client._base.time.sleep", recorded.append)
    return recorded


def _sequence(*responses: httpx.Response | Exception) -> Recorder:
    queue: Iterator[httpx.Response | Exception] = iter(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        item = next(queue)
        if isinstance(item, Exception):
            raise item
        return item

    recorder = Recorder()
    recorder.routes = {path: answer for path in ("/api/query_symbol_price", "/api/new_order", "/api/cancel_order",
                                                 "/api/query_balance", "/api/query_order")}  # fmt: skip
    return recorder


PRICE = DOC_EXAMPLES["query_symbol_price"]["response"]
OK = {"code": 0, "message": "success", "request_id": "r"}


def test_reads_retry_5xx_and_dropped_connections_then_succeed(sleeps: list[float]) -> None:
    recorder = _sequence(httpx.Response(503, text="busy"), httpx.RemoteProtocolError("dropped"),
                         httpx.Response(200, json=PRICE))  # fmt: skip
    client = StandX(retry=FAST, transport=httpx.MockTransport(recorder))
    assert client.query_symbol_price(symbol="BTC-USD").mark_price == Decimal("121602.43")
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.002 for s in sleeps)


def test_reads_honour_retry_after_with_a_cap(sleeps: list[float]) -> None:
    recorder = _sequence(httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 429, "message": "slow"}),
                         httpx.Response(429, headers={"Retry-After": "999"}, json={"code": 429, "message": "slow"}),
                         httpx.Response(200, json=PRICE))  # fmt: skip
    client = StandX(retry=RetryPolicy(retry_after_cap=5.0), transport=httpx.MockTransport(recorder))
    client.query_symbol_price(symbol="BTC-USD")
    assert sleeps == [2.0, 5.0]


def test_exhausted_429_surfaces_with_retry_after(sleeps: list[float]) -> None:
    recorder = _sequence(*[httpx.Response(429, headers={"Retry-After": "1"}, json={"code": 429, "message": "x"})] * 4)
    client = StandX(jwt=JWT, retry=FAST, transport=httpx.MockTransport(recorder))
    with pytest.raises(RateLimitError) as info:
        client.query_balance()
    assert info.value.retry_after == 1.0
    assert len(recorder.requests) == 4


def test_retries_off(sleeps: list[float]) -> None:
    recorder = _sequence(httpx.Response(503, text="busy"))
    with pytest.raises(ServerError):
        StandX(retry=None, transport=httpx.MockTransport(recorder)).query_symbol_price(symbol="BTC-USD")
    assert len(recorder.requests) == 1 and sleeps == []


def test_new_order_is_never_retried_and_a_lost_answer_is_status_unknown(sleeps: list[float]) -> None:
    recorder = _sequence(httpx.ReadTimeout("no answer"))
    client = StandX(jwt=JWT, signing_key=SEED_HEX, retry=FAST, transport=httpx.MockTransport(recorder))
    with pytest.raises(OrderStatusUnknownError) as info:
        client.new_order(**ORDER)
    sent = json.loads(recorder.last.content)
    assert info.value.cl_ord_id == sent["cl_ord_id"]
    assert isinstance(info.value.__cause__, TransportError)
    assert len(recorder.requests) == 1 and sleeps == []


@pytest.mark.parametrize("answer", [httpx.Response(502, text="<html>bad gateway</html>"),
                                    httpx.Response(200, content=b'{"code":0,"mess'),
                                    httpx.RemoteProtocolError("peer closed")])  # fmt: skip
def test_new_order_answers_lost_after_sending_are_status_unknown(answer: httpx.Response | Exception) -> None:
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(_sequence(answer)))
    with pytest.raises(OrderStatusUnknownError):
        client.new_order(**ORDER, cl_ord_id="mine-1")


def test_new_order_not_sent_is_a_plain_transport_error() -> None:
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(_sequence(httpx.ConnectError("x"))))
    with pytest.raises(TransportError) as info:
        client.new_order(**ORDER)
    assert not isinstance(info.value, OrderStatusUnknownError)


def test_new_order_rejection_is_not_status_unknown() -> None:
    answer = httpx.Response(400, json={"code": 400, "message": "insufficient margin"})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(_sequence(answer)))
    with pytest.raises(BadRequestError):
        client.new_order(**ORDER)


def test_resolve_order_found_and_not_found() -> None:
    not_found = httpx.Response(404, json={"code": 404, "message": "order not found"})
    recorder = _sequence(httpx.Response(200, json=DOC_EXAMPLES["query_order"]["response"]), not_found, not_found)
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    found = client.resolve_order("01K2BK4ZKQE0C308SRD39P8N9Z")
    assert isinstance(found, OrderFound) and found.order.id == 1820682
    assert recorder.requests[0].url.params["cl_ord_id"] == "01K2BK4ZKQE0C308SRD39P8N9Z"
    # An id this client never sent may have been sent just now (by a process that crashed): not yet absent.
    assert isinstance(client.resolve_order("never-sent", wait=False), OrderUnknown)
    # Sent an hour ago: its window has long passed.
    assert client.resolve_order("never-sent", sent_at=time.time() - 3600) == OrderAbsent("never-sent")


def test_idempotent_writes_retry_only_when_opted_in_and_resign_each_attempt(sleeps: list[float]) -> None:
    def flaky() -> Recorder:
        return _sequence(httpx.Response(503, text="x"), httpx.Response(200, json=OK))

    default = flaky()
    with pytest.raises(ServerError):
        StandX(jwt=JWT, signing_key=SEED_HEX, retry=FAST, transport=httpx.MockTransport(default)).cancel_order(
            cl_ord_id="a"
        )
    assert len(default.requests) == 1
    opted = flaky()
    policy = RetryPolicy(attempts=3, base=0.001, retry_writes=True)
    StandX(jwt=JWT, signing_key=SEED_HEX, retry=policy, transport=httpx.MockTransport(opted)).cancel_order(
        cl_ord_id="a"
    )
    assert len(opted.requests) == 2
    assert opted.requests[0].headers["x-request-id"] != opted.requests[1].headers["x-request-id"]
    verify = nacl.signing.VerifyKey(bytes.fromhex(VECTORS["public_key_hex"]))
    for request in opted.requests:
        h = request.headers
        message = f"v1,{h['x-request-id']},{h['x-request-timestamp']},".encode() + request.content
        verify.verify(message, base64.b64decode(h["x-request-signature"]))
    # transfer_margin is not marked idempotent in the spec: never retried, even with writes opted in
    transfer = _sequence(httpx.Response(503, text="x"), httpx.Response(200, json=OK))
    transfer.routes["/api/transfer_margin"] = transfer.routes["/api/cancel_order"]
    with pytest.raises(ServerError):
        StandX(jwt=JWT, signing_key=SEED_HEX, retry=policy, transport=httpx.MockTransport(transfer)).transfer_margin(
            symbol="BTC-USD", amount_in="1"
        )
    assert len(transfer.requests) == 1


def test_client_order_ids_are_unique_time_ordered_and_match_the_spec() -> None:
    spec = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text())
    pattern = re.compile(spec["components"]["schemas"]["ClientOrderId"]["pattern"])
    ids = [new_client_order_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert ids == sorted(ids)
    assert all(len(i) == 26 and pattern.fullmatch(i) for i in ids)


def test_ulid_encoding_known_answers_and_an_independent_encoder() -> None:
    # From the ULID specification: the largest ULID, and encodeTime(1469918176385) == "01ARYZ6S41".
    assert encode_ulid(0) == "0" * 26
    assert encode_ulid(2**128 - 1) == "7" + "Z" * 25
    assert encode_ulid(1469918176385 << 80)[:10] == "01ARYZ6S41"
    # RFC 4648 base32 of the 20-byte big-endian value, mapped to Crockford's alphabet: the last 26 characters.
    crockford = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    rng = random.Random(7)
    for _ in range(500):
        value = rng.getrandbits(128)
        expected = base64.b32encode(value.to_bytes(20, "big")).decode()[6:].translate(crockford)
        assert encode_ulid(value) == expected


def test_price_rules_follow_the_order_type() -> None:
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(Recorder()))
    with pytest.raises(ValidationError, match="new_order: price is required when order_type is limit"):
        client.new_order(**{**ORDER, "price": None})
    with pytest.raises(ValidationError, match="new_order: price is not allowed when order_type is market"):
        client.new_order(**{**ORDER, "order_type": "market", "time_in_force": "ioc"})


# The documented per-account bucket (docs: rate limits): 45 credits a request, burst 900, refill 1000/s.
DOC_COST, DOC_BURST, DOC_REFILL = 45, 900, 1000


def test_default_bucket_stays_a_margin_under_the_documented_figures() -> None:
    limit = RateLimit()
    assert limit.cost == DOC_COST
    assert limit.capacity == pytest.approx(0.9 * DOC_BURST)
    assert limit.refill_per_second == pytest.approx(0.9 * DOC_REFILL)
    # In any one second a bucket admits at most capacity + refill: below what the exchange allows.
    assert limit.capacity + limit.refill_per_second < DOC_BURST + DOC_REFILL
    # The per-IP limit is 50 requests/s (docs): the default admits at most 45 in any second.
    assert IP_RATE_LIMIT.capacity + IP_RATE_LIMIT.refill_per_second <= 0.9 * 50


def test_default_limits_follow_the_spec_and_the_readme_states_them() -> None:
    """The defaults are the spec's x-standx-limits minus the client's margin, and the README's sentence about
    them (its numbers written by hand) is still true."""
    limits = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text())["x-standx-limits"]
    account, ip = limits["account"], limits["ip"]["requests_per_second"]
    assert (account["cost"], account["capacity"], account["refill_per_second"], ip) == (
        DOC_COST,
        DOC_BURST,
        DOC_REFILL,
        50,
    )
    limit = RateLimit()
    readme = " ".join((ROOT / "README.md").read_text().split())
    stated = (
        f"{limit.cost:g} credits a request, burst {limit.capacity:g}, refill {limit.refill_per_second:g}/s, 10% under "
        f"the documented {account['capacity']} and {account['refill_per_second']}/s",
        f"per-IP limit ({ip} requests/s documented)",
        f"at most {IP_RATE_LIMIT.capacity + IP_RATE_LIMIT.refill_per_second:g} in any second (`IP_RATE_LIMIT`: "
        f"burst {IP_RATE_LIMIT.capacity:g}, {IP_RATE_LIMIT.refill_per_second:g}/s)",
    )
    for sentence in stated:
        assert sentence in readme


def test_credit_bucket_burst_then_refill() -> None:
    now = [0.0]
    bucket = CreditBucket(RateLimit(cost=DOC_COST, capacity=DOC_BURST, refill_per_second=DOC_REFILL),
                          clock=lambda: now[0])  # fmt: skip
    assert [bucket.reserve() for _ in range(20)] == [0.0] * 20  # burst 900 / 45
    assert bucket.reserve() == pytest.approx(0.045)
    now[0] += 1.0  # +1000 credits, capped at the 900 burst
    assert [bucket.reserve() for _ in range(20)] == [0.0] * 20


def test_credit_bucket_is_shared_by_threads() -> None:
    bucket = CreditBucket(RateLimit(cost=DOC_COST, capacity=DOC_BURST, refill_per_second=DOC_REFILL),
                          clock=lambda: 0.0)  # fmt: skip
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            wait = bucket.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits)[:20] == [0.0] * 20
    assert max(waits) == pytest.approx(20 * 0.045)  # the 40th request waits for 20 refills


def test_client_applies_the_bucket_to_account_calls(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("standx_client.retry.time.monotonic", lambda: 1000.0)  # no refill but what a sleep buys
    balance = DOC_EXAMPLES["query_balance"]["response"]
    recorder = Recorder(
        {"/api/query_balance": json_response(balance), "/api/health": lambda r: httpx.Response(200, text="OK")}
    )
    client = StandX(jwt=JWT, transport=httpx.MockTransport(recorder), ip_rate_limit=None)
    for _ in range(20):
        client.query_balance()  # 18 fit the burst of 810 credits; 2 wait for refills of 900/s
    for _ in range(30):
        client.health()  # public: not the account bucket
    assert sleeps == pytest.approx([45 / 900, 2 * 45 / 900])  # the 19th waits one refill, the 20th two
    unlimited = StandX(jwt=JWT, rate_limit=None, ip_rate_limit=None, transport=httpx.MockTransport(recorder))
    for _ in range(30):
        unlimited.query_balance()
    assert len(sleeps) == 2


def test_timeouts_default_and_per_call() -> None:
    recorder = Recorder({"/api/health": lambda r: httpx.Response(200, text="OK")})
    client = StandX(timeout=3.0, transport=httpx.MockTransport(recorder))
    client.health()
    client.health(timeout=httpx.Timeout(0.5, connect=0.2))
    first, second = (r.extensions["timeout"] for r in recorder.requests)
    assert first == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}
    assert second == {"connect": 0.2, "read": 0.5, "write": 0.5, "pool": 0.5}
    assert StandX().health.__doc__ and "timeout" in StandX().health.__doc__


@pytest.mark.anyio
async def test_async_retry_and_status_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("standx_client._base._sleep_async", fake_sleep)
    answers = iter([httpx.Response(500, text="x"), httpx.Response(200, json=PRICE), httpx.ReadTimeout("lost")])

    async def handler(request: httpx.Request) -> httpx.Response:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, retry=FAST, transport=httpx.MockTransport(handler)) as c:
        assert (await c.query_symbol_price(symbol="BTC-USD")).symbol == "BTC-USD"
        with pytest.raises(OrderStatusUnknownError):
            await c.new_order(**ORDER)
    assert len(delays) == 1


@pytest.mark.anyio
async def test_async_retry_really_sleeps_and_recovers() -> None:
    """No patching: the real backoff sleep of the async path."""
    answers = iter([httpx.Response(503, text="x"), httpx.Response(429, headers={"Retry-After": "0"}, json={}),
                    httpx.Response(200, json=PRICE)])  # fmt: skip

    async def handler(request: httpx.Request) -> httpx.Response:
        return next(answers)

    async with AsyncStandX(retry=FAST, transport=httpx.MockTransport(handler)) as client:
        assert (await client.query_symbol_price(symbol="BTC-USD")).mark_price == Decimal("121602.43")
