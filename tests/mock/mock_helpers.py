"""Helpers for the mock exchange tests: signing traders built on PyNaCl and httpx (no client code)."""

from __future__ import annotations

import atexit
import base64
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

MOCK_ROOT = Path(__file__).resolve().parents[2] / "mock"
# The editable install may predate mock/standx_mock/__init__.py and expose it as a namespace package;
# putting mock/ first makes the regular package win.
if str(MOCK_ROOT) not in sys.path:
    sys.path.insert(0, str(MOCK_ROOT))
if "standx_mock" in sys.modules and getattr(sys.modules["standx_mock"], "__file__", None) is None:
    for _name in [m for m in sys.modules if m == "standx_mock" or m.startswith("standx_mock.")]:
        del sys.modules[_name]

import base58  # noqa: E402

#: One transport for every test client: building an httpx client's SSL context costs ~30 ms each time.
TRANSPORT = httpx.HTTPTransport()
HTTP = httpx.Client(transport=TRANSPORT, timeout=10.0)
# Its kept-alive sockets to servers stopped since would otherwise be left for interpreter exit (ResourceWarning).
atexit.register(HTTP.close)


def b58encode(data: bytes) -> str:
    """Base58 text (the `base58` package answers bytes)."""
    return base58.b58encode(data).decode("ascii")


def sign(key: SigningKey, request_id: str, timestamp: str, body: bytes) -> str:
    """StandX body signature: Base64(ed25519(`v1,{id},{ts},{body}`))."""
    message = f"v1,{request_id},{timestamp},".encode() + body
    return base64.b64encode(key.sign(message).signature).decode("ascii")


def now_ms() -> int:
    import time

    return int(time.time() * 1000)


class Trader:
    """One account on the mock: registers a fresh ed25519 key, signs POST bodies exactly as sent."""

    def __init__(
        self,
        base_url: str,
        *,
        key: SigningKey | None = None,
        balance: str | None = None,
        expires_seconds: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.key = key or SigningKey.generate()
        self.public_key = b58encode(bytes(self.key.verify_key))
        self.http = httpx.Client(base_url=base_url, timeout=10.0, transport=TRANSPORT)
        payload: dict[str, Any] = {"public_key": self.public_key}
        if balance is not None:
            payload["balance"] = balance
        if expires_seconds is not None:
            payload["expires_seconds"] = expires_seconds
        r = self.http.post("/mock/credentials", json=payload)
        assert r.status_code == 200, r.text
        self.token: str = r.json()["token"]
        self.user: str = r.json()["user"]

    def close(self) -> None:
        """Nothing to release: the connection pool (TRANSPORT) is shared by all test clients."""

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def signed_headers(
        self, body: bytes, *, timestamp: int | None = None, request_id: str | None = None, key: SigningKey | None = None
    ) -> dict[str, str]:
        rid = request_id or str(uuid.uuid4())
        ts = str(now_ms() if timestamp is None else timestamp)
        return {
            **self.auth_headers(),
            "Content-Type": "application/json",
            "x-request-sign-version": "v1",
            "x-request-id": rid,
            "x-request-timestamp": ts,
            "x-request-signature": sign(key or self.key, rid, ts, body),
        }

    def post(self, path: str, body: Any, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        raw = json.dumps(body, separators=(",", ":")).encode()
        return self.http.post(path, content=raw, headers={**self.signed_headers(raw), **(headers or {})}, **kwargs)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.auth_headers())

    def ok(self, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        r = self.post(path, body, **kwargs)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        assert data["code"] == 0, data
        return data

    def order(self, **fields: Any) -> dict[str, Any]:
        body = {"symbol": "BTC-USD", "time_in_force": "gtc", "reduce_only": False, **fields}
        return self.ok("/api/new_order", body)

    def query_order(self, **params: Any) -> dict[str, Any]:
        r = self.get("/api/query_order", **params)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def balance(self) -> dict[str, str]:
        r = self.get("/api/query_balance")
        assert r.status_code == 200, r.text
        result: dict[str, str] = r.json()
        return result

    def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        r = self.get("/api/query_positions", **({"symbol": symbol} if symbol else {}))
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()
        return result
