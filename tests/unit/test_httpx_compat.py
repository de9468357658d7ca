"""The one private httpx call (`Client._transport_for_url`) is guarded: it is still there and picks the transport
httpx.Client.send would, and when it is gone the client sends the same requests through the public API."""

from __future__ import annotations

import json

import httpx
import pytest
from standx_client import AsyncStandX, StandX, _httpx_compat

from tests.conftest import JWT, SEED_HEX

ORDER = {"symbol": "BTC-USD", "side": "buy", "order_type": "limit", "qty": "0.1", "price": "50000",
         "time_in_force": "gtc", "reduce_only": False}  # fmt: skip


def test_httpx_still_has_the_private_transport_lookup() -> None:
    message = (
        f"httpx {httpx.__version__} no longer has Client._transport_for_url(url): the client now sends every "
        "request through the slower Client.send. Find httpx's new per-URL transport lookup and use it in "
        "overlays/_httpx_compat.py (or keep the fallback and drop this test)."
    )
    assert _httpx_compat.SYNC_LOOKUP is not None, message
    assert _httpx_compat.ASYNC_LOOKUP is not None, message


def test_the_lookup_picks_what_httpx_would_send_through(monkeypatch: pytest.MonkeyPatch) -> None:
    given = httpx.MockTransport(lambda request: httpx.Response(200))
    mounted = httpx.MockTransport(lambda request: httpx.Response(204))
    client = httpx.Client(transport=given, mounts={"https://geo.standx.com": mounted})
    assert _httpx_compat.transport_for(client, httpx.URL("https://perps.standx.com/api/health")) is given
    assert _httpx_compat.transport_for(client, httpx.URL("https://geo.standx.com/v1/region")) is mounted

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "geo.standx.com")
    pooled = httpx.Client()  # no transport given: the pool, and a proxy from the environment
    proxied = _httpx_compat.transport_for(pooled, httpx.URL("https://perps.standx.com/api/health"))
    direct = _httpx_compat.transport_for(pooled, httpx.URL("https://geo.standx.com/v1/region"))
    assert proxied is not direct and direct is pooled._transport  # type: ignore[attr-defined]


def test_without_the_private_lookup_the_same_requests_go_out(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/health":
            return httpx.Response(200, text="OK")
        return httpx.Response(200, json={"code": 0, "message": "success", "request_id": "r-1"})

    def run() -> list[tuple[str, str, bytes, bool]]:
        seen.clear()
        with StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(handler)) as client:
            assert client.health() == "OK"
            assert client.new_order(**ORDER, cl_ord_id="cl-1").code == 0  # type: ignore[arg-type]
        return [(r.method, str(r.url), r.content, "x-request-signature" in r.headers) for r in seen]

    fast = run()
    monkeypatch.setattr(_httpx_compat, "SYNC_LOOKUP", None)
    assert run() == fast
    assert json.loads(fast[1][2])["cl_ord_id"] == "cl-1" and fast[1][3]


@pytest.mark.anyio
async def test_async_fallback_sends_too(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="OK")

    monkeypatch.setattr(_httpx_compat, "ASYNC_LOOKUP", None)
    async with AsyncStandX(transport=httpx.MockTransport(handler)) as client:
        assert await client.health() == "OK"
