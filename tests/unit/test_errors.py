"""Error mapping: every failure is a typed StandXError carrying status, code, message, request_id and body."""

from __future__ import annotations

import httpx
import pytest
from standx_client import (
    APIError,
    AsyncStandX,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    StandX,
    StandXError,
    TokenExpiredError,
    TransportError,
    UnauthorizedError,
    ValidationError,
)
from standx_client.exceptions import RequestTimeoutError

from tests.conftest import JWT, SEED_HEX, Recorder


def _client(handler: object) -> StandX:
    return StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (520, ServerError),
        (418, ServerError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[APIError]) -> None:
    body = {"code": status, "message": "invalid body signature", "request_id": "req-77"}
    client = _client(lambda request: httpx.Response(status, json=body))
    with pytest.raises(cls) as info:
        client.cancel_order(cl_ord_id="abc")  # a signed write: never retried, so the first answer is raised
    error = info.value
    assert isinstance(error, StandXError)
    assert (error.status_code, error.code, error.message, error.request_id) == (
        status,
        status,
        "invalid body signature",
        "req-77",
    )
    assert error.body == httpx.Response(status, json=body).content
    assert error.operation == "cancel_order"


def test_http_200_with_nonzero_code_is_an_error() -> None:
    client = _client(
        lambda request: httpx.Response(200, json={"code": 400, "message": "alo order rejected", "request_id": "r1"})
    )
    with pytest.raises(BadRequestError) as info:
        client.cancel_order(order_id=1)
    assert info.value.status_code == 200 and info.value.code == 400
    assert info.value.message == "alo order rejected"


@pytest.mark.parametrize("operation", ["query_positions", "query_balance", "kline_time"])
def test_http_200_error_body_unlike_the_success_shape_is_the_api_error(operation: str) -> None:
    """A list, a model without `code`, a number: the error body cannot decode as success and is raised as itself."""
    client = _client(lambda request: httpx.Response(200, json={"code": 401, "message": "invalid token"}))
    with pytest.raises(AuthenticationError) as info:
        getattr(client, operation)()
    assert (info.value.status_code, info.value.code, info.value.message) == (200, 401, "invalid token")


def test_rate_limit_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("standx_client._base.time.sleep", waits.append)  # the clock is the test's
    attempts: list[httpx.Request] = []

    def limited(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(429, headers={"Retry-After": "3"}, json={"code": 429, "message": "Too Many Requests"})

    client = _client(limited)
    with pytest.raises(RateLimitError) as info:
        client.query_balance()
    assert info.value.retry_after == 3.0
    assert len(attempts) == RetryPolicy().attempts == 4  # a read is retried, honouring Retry-After each time
    assert waits == [3.0, 3.0, 3.0]


def test_html_error_page_keeps_raw_body() -> None:
    page = b"<html><body>502 Bad Gateway</body></html>"
    client = _client(lambda request: httpx.Response(502, content=page, headers={"content-type": "text/html"}))
    with pytest.raises(ServerError) as info:
        client.query_symbol_price(symbol="BTC-USD")
    assert info.value.body == page
    assert info.value.code is None
    assert "non-JSON" in info.value.message


@pytest.mark.parametrize("body", [b'{"symbol": "BTC-USD", "mark_pr', b"<html>oops</html>", b"", b"\xff\xfe"])
def test_undecodable_success_body(body: bytes) -> None:
    client = _client(lambda request: httpx.Response(200, content=body))
    with pytest.raises(ResponseDecodeError) as info:
        client.query_symbol_price(symbol="BTC-USD")
    assert info.value.body == body


def test_missing_required_field_is_a_typed_error_not_keyerror() -> None:
    client = _client(lambda request: httpx.Response(200, json={"symbol": "BTC-USD"}))
    with pytest.raises(ResponseDecodeError, match="missing required field `index_price`"):
        client.query_symbol_price(symbol="BTC-USD")


def test_connect_error_and_timeout_are_transport_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransportError) as info:
        _client(refuse).health()
    assert not isinstance(info.value, APIError)
    with pytest.raises(RequestTimeoutError):
        _client(slow).health()


@pytest.mark.anyio
async def test_async_errors_map_the_same() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"code": 404, "message": "order not found", "request_id": "r9"})

    async with AsyncStandX(jwt=JWT, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(NotFoundError) as info:
            await client.query_order(order_id=5)
    assert info.value.request_id == "r9"


def test_redirects_are_not_followed() -> None:
    recorder = Recorder({"/api/health": lambda r: httpx.Response(302, headers={"location": "https://evil.example/"})})
    with pytest.raises(ServerError) as info:
        _client(recorder).health()
    assert info.value.status_code == 302
    assert len(recorder.requests) == 1


def _expired_jwt() -> str:
    import base64
    import json
    import time

    claims = base64.urlsafe_b64encode(json.dumps({"sub": "t", "exp": int(time.time()) - 5}).encode()).decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{claims.rstrip('=')}.c2ln"


def test_except_authentication_error_catches_a_401_and_an_expired_token() -> None:
    """Re-login code written as `except AuthenticationError` sees both; `sent` says whether the exchange saw it."""
    refused = _client(lambda request: httpx.Response(401, json={"code": 401, "message": "invalid token"}))
    with pytest.raises(AuthenticationError) as answered:
        refused.query_balance()
    assert isinstance(answered.value, UnauthorizedError) and isinstance(answered.value, APIError)
    assert answered.value.sent is True and answered.value.status_code == 401

    recorder = Recorder({})
    expired = StandX(jwt=_expired_jwt(), transport=httpx.MockTransport(recorder))
    with pytest.raises(AuthenticationError) as local:
        expired.query_balance()
    assert isinstance(local.value, TokenExpiredError) and isinstance(local.value, ValidationError)
    assert not isinstance(local.value, APIError)  # no status code: the exchange never answered
    assert local.value.sent is False and recorder.requests == []
    assert "nothing was sent" in str(local.value)
