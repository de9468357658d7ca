"""Safe with money under faults: a bot-like workload against the mock exchange with seeded fault mixes.

For each scenario the mock injects a random mix of latency, 5xx (some as HTML), 429 with Retry-After,
dropped connections and malformed or truncated JSON, before or after the operation ran. The bot places
orders the careful way (one cl_ord_id per intent; on any failure, resolve by cl_ord_id, resend only if
not found) and reads market and account data. Afterwards the mock's own book must show: no order twice,
every intent placed exactly once, every read answered within the retry budget, every raised error typed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from standx_client import OrderStatusUnknownError, RetryPolicy, SigningKey, StandX, StandXError
from standx_client._ids import new_client_order_id
from standx_mock.config import MockConfig
from standx_mock.server import MockServer, serve_server

SCENARIOS = 12
INTENTS = 12  # orders per scenario
READS = 24  # reads per scenario
RETRY = RetryPolicy(attempts=8, base=0.001, cap=0.004, retry_after_cap=0.004)


class Counting(httpx.BaseTransport):
    """The real transport, counting what actually went on the wire."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Tally:
    scenarios: int = 0
    calls: int = 0
    requests: int = 0
    faults: int = 0
    unknown: int = 0
    resolved_found: int = 0
    resolved_resent: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    duplicates: int = 0


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with serve_server(MockConfig(market_maker=True, seed=3)) as mock:
        yield mock


def _faults(seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    return {
        "seed": seed,
        "when": "random",
        "latency": rng.choice([0.0, 0.002, 0.005]),
        "error_rate": rng.uniform(0.0, 0.15),
        "html_rate": rng.uniform(0.0, 0.5),
        "burst": rng.choice([1, 1, 2]),
        "rate_limit_rate": rng.uniform(0.0, 0.08),
        "drop_rate": rng.uniform(0.0, 0.08),
        "malformed_rate": rng.uniform(0.0, 0.05),
        "truncated_rate": rng.uniform(0.0, 0.05),
    }


def _place(client: StandX, tally: Tally, price: Decimal) -> str:
    """Place one order intent exactly once, whatever the faults; returns its cl_ord_id."""
    cl_ord_id = new_client_order_id()
    order = dict(symbol="BTC-USD", side="buy", order_type="limit", qty="0.001", price=price, time_in_force="gtc",
                 reduce_only=False, cl_ord_id=cl_ord_id)  # fmt: skip
    for _ in range(20):
        tally.calls += 1
        try:
            ack = client.new_order(**order)
            assert ack.cl_ord_id == cl_ord_id
            return cl_ord_id
        except OrderStatusUnknownError as unknown:
            assert unknown.cl_ord_id == cl_ord_id
            tally.unknown += 1
        except StandXError as error:  # a typed rejection (429, 4xx): resolve anyway, the careful way
            tally.errors[type(error).__name__] += 1
        except Exception as error:
            tally.untyped.append(repr(error))
        tally.calls += 1
        found = client.resolve_order(cl_ord_id)  # reads retry through the faults
        if found is not None:
            tally.resolved_found += 1
            return cl_ord_id
        tally.resolved_resent += 1
    raise AssertionError(f"order {cl_ord_id} neither placed nor resolved after 20 tries")


def _read(client: StandX, tally: Tally, step: int) -> None:
    tally.calls += 1
    try:
        match step % 3:
            case 0:
                assert client.query_symbol_price(symbol="BTC-USD").symbol == "BTC-USD"
            case 1:
                client.query_open_orders(symbol="BTC-USD")
            case _:
                assert client.query_balance().balance > 0
    except StandXError as error:  # reads must get through within the retry budget
        raise AssertionError(f"read {step} failed within the retry budget: {error!r}") from error


def test_no_duplicate_orders_under_seeded_faults(server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.base_url
    tally = Tally()
    for seed in range(SCENARIOS):
        key = SigningKey.generate()
        account = httpx.post(f"{url}/mock/credentials", json={"public_key": key.public_key_b58}).json()
        transport = Counting()
        client = StandX(jwt=account["token"], signing_key=key, base_url=url, retry=RETRY, timeout=2.0,
                        transport=transport, rate_limit=None)  # fmt: skip
        before = httpx.get(f"{url}/mock/stats").json()["faults_total"]
        httpx.post(f"{url}/mock/faults", json=_faults(seed)).raise_for_status()
        intents: list[str] = []
        try:
            for step in range(READS):
                _read(client, tally, step)
                if step % 2 == 0 and len(intents) < INTENTS:
                    intents.append(_place(client, tally, Decimal(90000 + len(intents))))
        finally:
            httpx.delete(f"{url}/mock/faults").raise_for_status()
        tally.faults += httpx.get(f"{url}/mock/stats").json()["faults_total"] - before
        tally.requests += transport.sent
        tally.scenarios += 1

        orders = httpx.get(f"{url}/mock/orders", params={"user": account["user"]}).json()
        rows = orders["result"]
        counts = Counter(o["cl_ord_id"] for o in rows)
        tally.duplicates += sum(n - 1 for n in counts.values() if n > 1)
        assert sorted(counts) == sorted(intents), "every intent placed exactly once, and nothing else"
        client.close()

    retries = tally.requests - tally.calls
    with capsys.disabled():  # the counts belong in CI's output
        print(
            f"\nfault suite: scenarios={tally.scenarios} calls={tally.calls} requests={tally.requests} "
            f"faults_injected={tally.faults} retries={retries} status_unknown={tally.unknown} "
            f"resolved_found={tally.resolved_found} resent_after_not_found={tally.resolved_resent} "
            f"typed_errors={dict(tally.errors)} untyped_errors={len(tally.untyped)} duplicates={tally.duplicates}"
        )
    assert tally.untyped == []
    assert tally.duplicates == 0
    assert tally.faults > 50 and retries > 20 and tally.unknown > 0  # the faults really happened
