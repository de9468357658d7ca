"""Shared test data: the docs' examples and the recorded live deviations (tests/fixtures/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


DOC_EXAMPLES: dict[str, Any] = load_fixture("doc_examples.json")
LIVE_DEVIATIONS: dict[str, Any] = load_fixture("live_deviations.json")
VECTORS: dict[str, Any] = load_fixture("signing_vectors.json")
SEED_HEX: str = VECTORS["seed_hex"]
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"  # a syntactically valid test token


class Recorder:
    """An httpx MockTransport handler that records requests and answers from a route table."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get(request.url.path)
        if handler is None:
            return httpx.Response(404, json={"code": 404, "message": "no route in test", "request_id": "t"})
        return handler(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def json_response(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return lambda request: httpx.Response(status, content=raw, headers={"content-type": "application/json"})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_ip_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-IP request bucket is shared by the whole process: each test starts with a full one, so a test's
    waits do not depend on the tests before it."""
    monkeypatch.setattr("standx_client.retry._ip_buckets", {})
