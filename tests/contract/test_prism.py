"""Prism (pinned @stoplight/prism-cli 5.14.2) serves openapi/standx.yaml: an independent reading of the spec.

Every operation sent through the generated client must pass Prism's request validation (no `sl-violations`
header), and Prism's answers (the spec's examples) must parse into the client's typed models.
"""

from __future__ import annotations

import datetime
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standx_client import SigningKey, StandX
from standx_client._operations import OPERATIONS

from tests.conftest import ROOT

PRISM = ROOT / "node_modules" / ".bin" / "prism"
NOW = int(datetime.datetime.now(datetime.UTC).timestamp())


class Recording(httpx.BaseTransport):
    """Wraps the real transport and keeps every response's headers."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, int, httpx.Headers]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.seen.append((request.url.path, response.status_code, response.headers))
        return response

    def close(self) -> None:
        self.inner.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prism_url() -> Iterator[str]:
    if not PRISM.exists() or shutil.which("node") is None:
        pytest.fail("Prism is not installed: run `make setup` (npm ci installs the pinned @stoplight/prism-cli)")
    port = _free_port()
    spec = Path(ROOT / "openapi" / "standx.yaml")
    process = subprocess.Popen([str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port), "--errors"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"Prism did not start: {output[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


CALLS = {
    "new_order": dict(
        symbol="BTC-USD",
        side="buy",
        order_type="limit",
        qty="0.1",
        price="50000",
        time_in_force="gtc",
        reduce_only=False,
        x_session_id="s1",
        tp_price="60000",
        leverage=10,
        margin_mode="cross",
    ),
    "cancel_order": dict(order_id=2424844, x_session_id="s1"),
    "cancel_orders": dict(cl_ord_id_list=["01K2BK4ZKQE0C308SRD39P8N9Z"]),
    "change_leverage": dict(symbol="BTC-USD", leverage=10),
    "change_margin_mode": dict(symbol="BTC-USD", margin_mode="cross"),
    "transfer_margin": dict(symbol="BTC-USD", amount_in="-1000.0"),
    "query_order": dict(cl_ord_id="01K2BK4ZKQE0C308SRD39P8N9Z"),
    "query_orders": dict(
        symbol="BTC-USD",
        status="open",
        order_type="limit",
        last_id=5,
        limit=500,
        start=datetime.datetime(2025, 8, 1, tzinfo=datetime.UTC),
        end=datetime.datetime(2025, 8, 2, tzinfo=datetime.UTC),
    ),
    "query_open_orders": dict(symbol="BTC-USD", limit=1200),
    "query_trades": dict(symbol="BTC-USD", side="sell", last_id=9, limit=1),
    "query_funding_history": dict(symbol="BTC-USD", limit=3, start=datetime.datetime(2025, 8, 1, tzinfo=datetime.UTC)),
    "query_position_config": dict(symbol="BTC-USD"),
    "query_positions": dict(symbol="BTC-USD", x_impersonate="cv_vault_1"),
    "query_balance": {},
    "query_market_overview": {},
    "query_symbol_info": dict(symbol="BTC-USD"),
    "query_symbol_market": dict(symbol="BTC-USD"),
    "query_symbol_price": dict(symbol="BTC-USD"),
    "query_depth_book": dict(symbol="BTC-USD"),
    "query_recent_trades": dict(symbol="BTC-USD"),
    "query_funding_rates": dict(symbol="BTC-USD", start_time=(NOW - 3600) * 1000, end_time=NOW * 1000),
    "kline_time": {},
    "kline_history": dict(symbol="BTC-USD", from_=NOW - 600, to=NOW, resolution="1", count_back=10),
    "health": {},
    "query_region": {},
    "prepare_signin": dict(
        chain="bsc", address="0x" + "ab" * 20, request_id="FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF"
    ),
    "login": dict(chain="solana", signature="eyJpbnB1dCI6e319", signed_data="a.b.c", expires_seconds=3600),
    "query_certs": {},
}


def test_every_operation_passes_prism_request_validation(prism_url: str) -> None:
    assert sorted(CALLS) == sorted(OPERATIONS)
    recording = Recording()
    client = StandX(jwt="header.payload.signature", signing_key=SigningKey.generate(), base_url=prism_url,
                    geo_url=prism_url, auth_url=prism_url, transport=recording, retry=None)  # fmt: skip
    results = {name: getattr(client, name)(**kwargs) for name, kwargs in CALLS.items()}
    violations = [(path, status, h["sl-violations"]) for path, status, h in recording.seen if "sl-violations" in h]
    assert violations == []
    assert [status for _, status, _ in recording.seen] == [200] * len(CALLS)
    assert results["health"] == "OK"
    assert results["query_symbol_price"].symbol == "BTC-USD"
    assert results["new_order"].code == 0


def test_prism_rejects_what_the_client_would_refuse(prism_url: str) -> None:
    """The control: Prism does flag a bad request (sent raw, since the client refuses to send it)."""
    bad = httpx.post(prism_url + "/api/new_order", content=b'{"symbol":"BTC-USD","side":"long"}',
                     headers={"content-type": "application/json", "authorization": "Bearer x",
                              "x-request-signature": "x"})  # fmt: skip
    assert bad.status_code in (400, 422)
    assert "sl-violations" in bad.headers
