"""Client configuration: hosts, HTTPS, environment, session and impersonation headers, redaction."""

from __future__ import annotations

import logging

import httpx
import pytest
from standx_client import StandX, ValidationError

from tests.conftest import DOC_EXAMPLES, JWT, SEED_HEX, Recorder, json_response

ACK = {"code": 0, "message": "success", "request_id": "r"}
ORDER = dict(symbol="BTC-USD", side="buy", order_type="market", qty="1", time_in_force="ioc", reduce_only=False)


def test_region_goes_to_the_geo_host() -> None:
    recorder = Recorder({"/v1/region": json_response({"systemTime": 1, "region": "jp"})})
    StandX(geo_url="https://geo.example.test", transport=httpx.MockTransport(recorder)).query_region()
    assert str(recorder.last.url) == "https://geo.example.test/v1/region"


@pytest.mark.parametrize("url", ["http://perps.standx.com", "ftp://x", "perps.standx.com", "http://10.0.0.1:8765"])
def test_plain_http_refused_except_loopback(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        StandX(base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9"])
def test_loopback_http_allowed(url: str) -> None:
    assert StandX(base_url=url)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDX_JWT", JWT)
    monkeypatch.setenv("STANDX_SIGNING_KEY", SEED_HEX)
    monkeypatch.setenv("STANDX_BASE_URL", "http://127.0.0.1:9999")
    recorder = Recorder({"/api/new_order": json_response(ACK)})
    client = StandX.from_env(transport=httpx.MockTransport(recorder))
    client.new_order(**ORDER)
    assert recorder.last.url.host == "127.0.0.1"
    assert recorder.last.headers["authorization"] == f"Bearer {JWT}"
    assert "x-request-signature" in recorder.last.headers


def test_session_id_default_and_per_call_override() -> None:
    recorder = Recorder(
        {
            "/api/new_order": json_response(ACK),
            "/api/cancel_order": json_response(ACK),
            "/api/change_leverage": json_response(ACK),
        }
    )
    client = StandX(jwt=JWT, signing_key=SEED_HEX, session_id="S1", transport=httpx.MockTransport(recorder))
    client.new_order(**ORDER)
    client.new_order(**ORDER, x_session_id="S2")
    client.cancel_order(order_id=1)
    client.change_leverage(symbol="BTC-USD", leverage=5)  # the spec declares no x-session-id here
    assert [r.headers.get("x-session-id") for r in recorder.requests] == ["S1", "S2", "S1", None]
    client.session_id = "S3"
    client.new_order(**ORDER)
    assert recorder.last.headers["x-session-id"] == "S3"


def test_impersonate_on_authenticated_operations_only() -> None:
    balance = DOC_EXAMPLES["query_balance"]["response"]
    recorder = Recorder(
        {"/api/query_balance": json_response(balance), "/api/health": lambda r: httpx.Response(200, text="OK")}
    )
    client = StandX(jwt=JWT, impersonate="cv_vault1", transport=httpx.MockTransport(recorder))
    client.query_balance()
    client.health()
    assert recorder.requests[0].headers["x-impersonate"] == "cv_vault1"
    assert "x-impersonate" not in recorder.requests[1].headers


def test_secrets_never_in_repr_errors_or_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    from standx_client import SigningKey
    from standx_client.signing import b58encode

    secret_b58 = b58encode(bytes.fromhex(SEED_HEX))
    recorder = Recorder(
        {"/api/new_order": lambda r: httpx.Response(401, json={"code": 401, "message": "invalid body signature"})}
    )
    client = StandX(jwt=JWT, signing_key=secret_b58, transport=httpx.MockTransport(recorder))
    texts = [repr(client), str(client), repr(client.signing_key), repr(SigningKey.parse(SEED_HEX))]
    with caplog.at_level(logging.DEBUG):
        try:
            client.new_order(**ORDER)
        except Exception as exc:
            texts += [str(exc), repr(exc), repr(exc.__dict__)]
    texts += [record.getMessage() for record in caplog.records]
    joined = "\n".join(texts)
    for secret in (JWT, SEED_HEX, secret_b58):
        assert secret not in joined
    assert "new_order" in joined  # the error itself was captured


def _jwt(exp: int) -> str:
    import base64
    import json

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'sub': 'bsc_0xabc', 'exp': exp})}.c2ln"


def test_expired_token_is_refused_before_sending() -> None:
    import time

    from standx_client import TokenExpiredError

    recorder = Recorder({"/api/query_balance": json_response(DOC_EXAMPLES["query_balance"]["response"])})
    expired = StandX(jwt=_jwt(int(time.time()) - 5), transport=httpx.MockTransport(recorder))
    with pytest.raises(TokenExpiredError) as info:
        expired.query_balance()
    assert info.value.field == "jwt" and recorder.requests == []
    assert StandX(transport=httpx.MockTransport(recorder)).health  # public calls need no token at all


def test_token_expiring_soon_warns_once() -> None:
    import time

    from standx_client import TokenExpiringWarning

    recorder = Recorder({"/api/query_balance": json_response(DOC_EXAMPLES["query_balance"]["response"])})
    exp = int(time.time()) + 600
    client = StandX(jwt=_jwt(exp), transport=httpx.MockTransport(recorder))
    assert client.token_expires_at == exp
    with pytest.warns(TokenExpiringWarning):
        client.query_balance()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.query_balance()  # warned once only
    assert len(recorder.requests) == 2


def test_tls_verification_is_on_by_default() -> None:
    import ssl

    client = StandX()
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert pool._ssl_context.check_hostname is True


def test_set_credentials_swaps_token_and_key_for_the_next_requests() -> None:
    import base64
    import time

    import nacl.signing
    from standx_client import SigningKey, TokenExpiredError

    routes = {
        "/api/query_balance": json_response(DOC_EXAMPLES["query_balance"]["response"]),
        "/api/new_order": json_response(DOC_EXAMPLES["new_order"]["response"]),
    }
    recorder = Recorder(routes)
    old = _jwt(int(time.time()) - 5)  # already expired: refused before sending
    client = StandX(jwt=old, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    with pytest.raises(TokenExpiredError):
        client.query_balance()
    new_key = SigningKey.generate()
    new_jwt = _jwt(int(time.time()) + 7 * 86400)
    client.set_credentials(new_jwt, new_key)
    client.query_balance()
    client.new_order(
        symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000", time_in_force="gtc",
        reduce_only=False,
    )  # fmt: skip
    balance, order = recorder.requests
    assert balance.headers["authorization"] == order.headers["authorization"] == f"Bearer {new_jwt}"
    assert client.token_expires_at is not None and client.token_expires_at > time.time()
    # Signed with the new key: PyNaCl's VerifyKey of that key accepts the documented message.
    message = b"v1,%s,%s,%s" % (
        order.headers["x-request-id"].encode(),
        order.headers["x-request-timestamp"].encode(),
        order.content,
    )
    verify = nacl.signing.VerifyKey(new_key.public_key)
    verify.verify(message, base64.b64decode(order.headers["x-request-signature"]))
