"""The lean request path keeps what httpx.Client would give: proxies from the environment, connection reuse."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from standx_client import StandX
from standx_mock.server import MockServer


class _Forwarder(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: absolute-form request lines, forwarded without a proxy."""

    seen: ClassVar[list[str]] = []

    def _forward(self) -> None:
        type(self).seen.append(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
        answer = httpx.request(self.command, self.path, headers=headers, content=body, trust_env=False)
        self.send_response(answer.status_code)
        for name in ("content-type",):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    _Forwarder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forwarder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_proxy_from_the_environment_is_used(
    proxy: str, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = mock_server.base_url
    with StandX(base_url=url, geo_url=url) as client:
        assert client.query_symbol_price(symbol="BTC-USD").symbol == "BTC-USD"
        assert client.health() == "OK"
    assert _Forwarder.seen == [f"{url}/api/query_symbol_price?symbol=BTC-USD", f"{url}/api/health"]


def test_no_proxy_when_none_is_configured(proxy: str, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with StandX(base_url=mock_server.base_url) as client:
        client.health()
    assert _Forwarder.seen == []


def test_connections_are_pooled(mock_server: MockServer) -> None:
    with StandX(base_url=mock_server.base_url) as client:
        for _ in range(25):
            client.query_symbol_price(symbol="ETH-USD")
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 1  # 25 requests, one keep-alive connection
