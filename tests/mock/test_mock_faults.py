"""Every fault kind as an httpx client sees it, before and after execution, per request and per run."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from mock_helpers import HTTP, Trader
from standx_mock import FaultConfig, MockConfig, MockServer, serve, serve_server
from standx_mock.limits import RateLimiter

ORDER = {
    "symbol": "BTC-USD",
    "side": "buy",
    "order_type": "limit",
    "qty": "0.001",
    "price": "100000",
    "time_in_force": "gtc",
    "reduce_only": False,
}


def stats(base_url: str) -> dict[str, object]:
    data: dict[str, object] = HTTP.get(base_url + "/mock/stats").json()
    return data


def orders_of(base_url: str, user: str) -> list[dict[str, object]]:
    result: list[dict[str, object]] = HTTP.get(base_url + "/mock/orders", params={"user": user}).json()["result"]
    return result


def fault(kind: str) -> dict[str, str]:
    return {"x-mock-fault": kind}


def test_5xx_json_and_html(base_url: str, fresh: MockServer) -> None:
    for status in (500, 502, 503, 520):
        r = HTTP.get(base_url + "/api/health", headers=fault(f"error={status}"))
        assert r.status_code == status
        assert r.json()["code"] == status
    r = HTTP.get(base_url + "/api/health", headers=fault("error"))
    assert r.status_code == 500
    r = HTTP.get(base_url + "/api/health", headers=fault("error_html=502"))
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in r.text
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert stats(base_url)["faults"] == {"error": 5, "error_html": 1}


def test_rate_limit_with_retry_after(base_url: str) -> None:
    r = HTTP.get(base_url + "/api/kline/time", headers=fault("rate_limit=3"))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.json()["code"] == 429
    assert HTTP.get(base_url + "/api/kline/time", headers=fault("rate_limit")).headers["retry-after"] == "1"


def test_dropped_connection(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        assert client.get("/api/health").status_code == 200  # keep-alive connection in the pool
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.get("/api/health", headers=fault("drop"))
        assert client.get("/api/health").status_code == 200  # the client recovers on a new connection


def test_malformed_and_truncated_bodies(base_url: str) -> None:
    r = HTTP.get(base_url + "/v1/region", headers=fault("malformed"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        r.json()
    full = HTTP.get(base_url + "/api/query_symbol_info").content
    r = HTTP.get(base_url + "/api/query_symbol_info", headers=fault("truncated; when=after"))
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content) == len(full) // 2
    assert full.startswith(r.content)
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_latency(base_url: str) -> None:
    started = time.monotonic()
    assert HTTP.get(base_url + "/api/health", headers=fault("latency=0.3")).status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        HTTP.get(base_url + "/api/health", headers=fault("latency=0.5"), timeout=0.1)


def test_latency_before_runs_after_the_client_gave_up(
    trader: Trader, fresh: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    """`latency; when=before` holds an arrived request before it runs: a client that times out meanwhile
    sees nothing, and the order lands later (the in-flight race a resend must not lose to). The hang-up is
    one log line, not a traceback."""
    url = fresh.base_url
    caplog.set_level("INFO", logger="standx_mock")
    with pytest.raises(httpx.ReadTimeout):
        trader.post(
            "/api/new_order", {**ORDER, "cl_ord_id": "slow"}, headers=fault("latency=0.4; when=before"), timeout=0.1
        )
    assert orders_of(url, trader.user) == []  # not yet: the original is still in flight
    deadline = time.monotonic() + 5
    while not orders_of(url, trader.user) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [o["cl_ord_id"] for o in orders_of(url, trader.user)] == ["slow"]
    # when=after: executed at once, the answer is held
    with pytest.raises(httpx.ReadTimeout):
        trader.post(
            "/api/new_order", {**ORDER, "cl_ord_id": "fast"}, headers=fault("latency=0.4; when=after"), timeout=0.1
        )
    assert [o["cl_ord_id"] for o in orders_of(url, trader.user)] == ["slow", "fast"]
    time.sleep(0.45)
    hung_up = [r for r in caplog.records if "hung up before the new_order" in r.getMessage()]
    assert len(hung_up) == 2 and all(r.exc_info is None for r in hung_up)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


def test_request_lost_versus_response_lost(trader: Trader, fresh: MockServer) -> None:
    url = fresh.base_url
    # before: the request never reaches the engine
    with pytest.raises(httpx.RemoteProtocolError):
        trader.post("/api/new_order", {**ORDER, "cl_ord_id": "lost-req"}, headers=fault("drop; when=before"))
    assert trader.get("/api/query_order", cl_ord_id="lost-req").status_code == 404
    # after: the order exists although the client saw an error
    with pytest.raises(httpx.RemoteProtocolError):
        trader.post("/api/new_order", {**ORDER, "cl_ord_id": "lost-resp"}, headers=fault("drop; when=after"))
    assert trader.query_order(cl_ord_id="lost-resp")["status"] == "open"
    r = trader.post("/api/new_order", {**ORDER, "cl_ord_id": "lost-503"}, headers=fault("error=503,when=after"))
    assert r.status_code == 503
    assert trader.query_order(cl_ord_id="lost-503")["status"] == "open"
    r = trader.post("/api/cancel_order", {"cl_ord_id": "lost-503"}, headers=fault("truncated,when=after"))
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert trader.query_order(cl_ord_id="lost-503")["status"] == "canceled"
    # A naive resend of the lost order is a second order: the mock, like an exchange that does not
    # deduplicate, accepts a reused cl_ord_id by default.
    r = trader.post("/api/new_order", {**ORDER, "cl_ord_id": "lost-resp"})
    assert r.status_code == 200
    ids = [str(o["cl_ord_id"]) for o in orders_of(url, trader.user)]
    assert sorted(ids) == ["lost-503", "lost-resp", "lost-resp"]
    s = stats(url)
    assert s["orders_created"] == 3
    assert s["faults"] == {"drop": 2, "error": 1, "truncated": 1}
    assert s["faults_when"] == {"before": 1, "after": 3}


def test_invalid_fault_header(base_url: str) -> None:
    for header in ("explode", "error=404", "latency=soon", "drop,error", "when=later", "drop=1", ""):
        r = HTTP.get(base_url + "/api/health", headers=fault(header))
        assert r.status_code == 400, header
        assert "x-mock-fault" in r.json()["message"]


def test_run_level_faults_are_seeded_and_switchable() -> None:
    config = MockConfig(seed=3, faults=FaultConfig(error_rate=0.5, error_statuses=(502, 503)))

    def pattern() -> list[int]:
        with serve(config) as url, httpx.Client(base_url=url) as client:
            return [client.get("/api/kline/time").status_code for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 502, 503}
    with serve_server(MockConfig(seed=3)) as server, httpx.Client(base_url=server.base_url) as client:
        assert client.get("/mock/faults").json()["error_rate"] == 0
        r = client.post(
            "/mock/faults",
            json={"error_rate": 1, "burst": 3, "error_statuses": [520], "html_rate": 1, "operations": ["kline_time"]},
        )
        assert r.status_code == 200, r.text
        assert client.get("/api/health").status_code == 200  # not selected
        assert [client.get("/api/kline/time").status_code for _ in range(3)] == [520, 520, 520]
        assert "text/html" in client.get("/api/kline/time").headers["content-type"]
        assert client.post("/mock/faults", json={"error_rate": 2}).status_code == 400
        assert client.post("/mock/faults", json={"bogus": 1}).status_code == 400
        client.delete("/mock/faults")
        assert client.get("/api/kline/time").status_code == 200
        client.post("/mock/faults", json={"drop_rate": 1, "when": "after"})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/kline/time")
        client.post("/mock/faults", json={"rate_limit_rate": 1, "retry_after": 7})
        assert client.get("/api/kline/time").headers["retry-after"] == "7"
        client.post("/mock/faults", json={"malformed_rate": 1})
        assert client.get("/api/kline/time").content.startswith(b'{"code":0,"message":"success",,')
        client.post("/mock/faults", json={"latency": 0.2})
        started = time.monotonic()
        assert client.get("/api/kline/time").status_code == 200
        assert time.monotonic() - started >= 0.2
        client.delete("/mock/faults")
        counts = client.get("/mock/stats").json()["faults"]
        assert counts == {"error_html": 4, "drop": 1, "rate_limit": 1, "malformed": 1, "latency": 1}
        assert server.state.faults.config == FaultConfig()


def test_cli_fault_grammar() -> None:
    cfg = FaultConfig.parse("latency=0.05,error_rate=0.2,when=random,error_statuses=502/503,burst=2")
    got = (cfg.latency, cfg.error_rate, cfg.when, cfg.error_statuses, cfg.burst)
    assert got == (0.05, 0.2, "random", (502, 503), 2)
    for bad in ("error_rate=x", "nope=1", "error_rate", "when=sometimes", "error_statuses=404"):
        with pytest.raises(ValueError):
            FaultConfig.parse(bad)


def test_fault_header_random_timing_is_counted(base_url: str, fresh: MockServer) -> None:
    for _ in range(20):
        HTTP.get(base_url + "/api/health", headers=fault("error=500;when=random"))
    when = stats(base_url)["faults_when"]
    assert isinstance(when, dict)
    assert when["before"] + when["after"] == 20
    assert when["before"] > 0 and when["after"] > 0


def test_rate_limiter_is_the_documented_credit_bucket() -> None:
    """45 credits a request, 900 burst, 1000 credits/s: exact, on a clock the test moves."""
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take("bsc_0xa") for _ in range(20)] == [0.0] * 20  # the burst
    assert limiter.take("bsc_0xa") == pytest.approx(0.045)  # empty: 45 credits at 1000/s
    assert limiter.take("bsc_0xb") == 0.0  # per account
    now[0] += 0.045
    assert limiter.take("bsc_0xa") == 0.0
    now[0] += 10.0  # refill is capped at the burst
    assert [limiter.take("bsc_0xa") for _ in range(20)] == [0.0] * 20
    assert limiter.take("bsc_0xa") > 0.0


def test_rate_limiter_per_ip_is_the_documented_requests_per_second() -> None:
    """50 requests in any sliding second per IP (docs: rate limits), whatever the account; a refused request
    does not count."""
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take_ip("10.0.0.1") for _ in range(50)] == [0.0] * 50
    assert limiter.take_ip("10.0.0.1") == pytest.approx(1.0)  # the first leaves the window in a second
    assert limiter.take_ip("10.0.0.2") == 0.0  # per address
    now[0] += 0.5
    assert limiter.take_ip("10.0.0.1") == pytest.approx(0.5)
    now[0] += 0.5
    assert [limiter.take_ip("10.0.0.1") for _ in range(50)] == [0.0] * 50


def test_optional_rate_limit_emulation() -> None:
    """Over HTTP: the 21st quick request is refused with Retry-After. Requests keep coming until one is (the
    bucket refills 45 credits every 45 ms, so a slow machine needs more than 21 to empty it)."""
    with serve(MockConfig(rate_limit=True)) as url:
        trader = Trader(url)
        statuses: list[int] = []
        limited = None
        while limited is None and len(statuses) < 400:
            response = trader.get("/api/query_balance")
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited = response
        assert statuses[:20] == [200] * 20
        assert limited is not None, f"no 429 in {len(statuses)} requests"
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == 429
        time.sleep(0.1)
        assert trader.get("/api/query_balance").status_code == 200
        trader.close()
