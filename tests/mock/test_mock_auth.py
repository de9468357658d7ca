"""JWT and body-signature checks of the mock, including the known-answer vector of standx-api-notes §2.8."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from base58 import b58decode
from mock_helpers import HTTP, Trader, b58encode, now_ms, sign
from nacl.signing import SigningKey
from standx_mock import MockConfig, SymbolConfig, serve
from standx_mock.auth import AuthError, JwtIssuer, verify_body_signature

# standx-api-notes.md §2.8 (RFC 8032 Ed25519, computed independently of this code base)
KAT_SEED = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
KAT_PUBLIC_HEX = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
KAT_PUBLIC_B58 = "FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF"
KAT_REQUEST_ID = "00000000-0000-4000-8000-000000000000"
KAT_TIMESTAMP = "1700000000000"
KAT_PAYLOAD = (
    b'{"symbol":"BTC-USD","side":"buy","order_type":"limit","qty":"0.1","price":"50000",'
    b'"time_in_force":"gtc","reduce_only":false}'
)
KAT_SIGNATURE = "MnzBP70jqCRdEFtai+vBQHqxY0nlfRsxwTgbqxqwEgcxJ6gQB45qcZirsBstMM6D1cIQK4eKguCZjgCrGo62Aw=="
KAT_EMPTY_SIGNATURE = "BteuNV5RAfpiE+UEYIIX1b2YUa5xEn46JEQIrtfImiA8eom23IIkP0verEaUBR3AWBCO1cSHIhkLzdH3NPwXBA=="
KAT_HEADERS = {
    "x-request-sign-version": "v1",
    "x-request-id": KAT_REQUEST_ID,
    "x-request-timestamp": KAT_TIMESTAMP,
    "x-request-signature": KAT_SIGNATURE,
}


# ---------------------------------------------------------------------------- unit level


def test_base58_package_matches_the_documented_public_key() -> None:
    """The mock decodes keys with the `base58` package; the docs' key pair pins the alphabet."""
    key = SigningKey(KAT_SEED)
    assert bytes(key.verify_key).hex() == KAT_PUBLIC_HEX
    assert b58encode(bytes(key.verify_key)) == KAT_PUBLIC_B58
    assert b58decode(KAT_PUBLIC_B58) == bytes.fromhex(KAT_PUBLIC_HEX)
    for raw in (b"", b"\0", b"\0\0\x01", bytes(range(40))):
        assert b58decode(b58encode(raw)) == raw
    with pytest.raises(ValueError):
        b58decode("0OIl")


def test_pynacl_reproduces_the_documented_signatures() -> None:
    key = SigningKey(KAT_SEED)
    assert sign(key, KAT_REQUEST_ID, KAT_TIMESTAMP, KAT_PAYLOAD) == KAT_SIGNATURE
    assert sign(key, KAT_REQUEST_ID, KAT_TIMESTAMP, b"") == KAT_EMPTY_SIGNATURE


def test_verifier_accepts_the_vector_and_rejects_a_one_byte_change() -> None:
    ts = int(KAT_TIMESTAMP)
    verify_body_signature(KAT_HEADERS, KAT_PAYLOAD, KAT_PUBLIC_B58, now_ms=ts)
    verify_body_signature({**KAT_HEADERS, "x-request-signature": KAT_EMPTY_SIGNATURE}, b"", KAT_PUBLIC_B58, now_ms=ts)
    tampered = KAT_PAYLOAD.replace(b'"0.1"', b'"0.2"')
    assert len(tampered) == len(KAT_PAYLOAD)
    with pytest.raises(AuthError, match="invalid body signature"):
        verify_body_signature(KAT_HEADERS, tampered, KAT_PUBLIC_B58, now_ms=ts)
    with pytest.raises(AuthError, match="invalid body signature"):
        verify_body_signature(
            {**KAT_HEADERS, "x-request-id": KAT_REQUEST_ID[:-1] + "1"}, KAT_PAYLOAD, KAT_PUBLIC_B58, now_ms=ts
        )
    with pytest.raises(AuthError, match="stale timestamp"):
        verify_body_signature(KAT_HEADERS, KAT_PAYLOAD, KAT_PUBLIC_B58, now_ms=ts + 60_001)


def test_jwt_roundtrip_tamper_and_expiry() -> None:
    issuer = JwtIssuer(b"k" * 32)
    token = issuer.issue(user="bsc_0xabc", address="0xabc", public_key=KAT_PUBLIC_B58, lifetime_s=60, now=1000)
    claims = issuer.verify(token, now=1010)
    assert (claims.user, claims.public_key, claims.exp - claims.iat) == ("bsc_0xabc", KAT_PUBLIC_B58, 60)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    with pytest.raises(AuthError, match="expired"):
        issuer.verify(token, now=1060)
    head, body, sig = token.split(".")
    forged_body = (
        base64.urlsafe_b64encode(base64.urlsafe_b64decode(body + "==").replace(b"bsc_0xabc", b"bsc_0xabd"))
        .rstrip(b"=")
        .decode()
    )
    # The last character of an HS256 signature (43 base64url characters for 32 bytes) carries 2 unused bits:
    # flipping one gives another text for the same bytes, and the mock must still refuse all but its own.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    flipped = sig[:-2] + ("B" if sig[-2] == "A" else "A") + sig[-1]
    for bad in (f"{head}.{forged_body}.{sig}", f"{head}.{body}.{flipped}", f"{head}.{body}.{twin}", "a.b", "",
                token + "x"):  # fmt: skip
        with pytest.raises(AuthError):
            issuer.verify(bad, now=1010)
    with pytest.raises(AuthError):
        JwtIssuer(b"other" * 8).verify(token, now=1010)


# ---------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def kat_server() -> Iterator[str]:
    """A server whose clock window admits the 2023 vector timestamp and whose BTC mark makes 50000 valid."""
    config = MockConfig(
        timestamp_window_ms=10**13,
        symbols=(SymbolConfig(symbol="BTC-USD", base_asset="BTC", mark_price=Decimal("50000.00")),),
        validate_responses=True,
    )
    with serve(config) as url:
        yield url


def test_documented_signed_request_is_accepted_verbatim(kat_server: str) -> None:
    creds = HTTP.post(kat_server + "/mock/credentials", json={"public_key": KAT_PUBLIC_B58}).json()
    headers = {"Authorization": f"Bearer {creds['token']}", "Content-Type": "application/json", **KAT_HEADERS}
    r = HTTP.post(kat_server + "/api/new_order", content=KAT_PAYLOAD, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["code"] == 0
    orders = HTTP.get(kat_server + "/mock/orders", params={"user": creds["user"]}).json()["result"]
    assert [(o["side"], o["price"], o["qty"], o["status"]) for o in orders] == [("buy", "50000.00", "0.100", "open")]
    # One byte changed on the wire ("0.1" -> "0.2"), same headers: rejected, nothing placed.
    r = HTTP.post(kat_server + "/api/new_order", content=KAT_PAYLOAD.replace(b'"0.1"', b'"0.2"'), headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == 401
    assert r.json()["message"] == "invalid body signature"
    assert r.json()["request_id"]
    assert len(HTTP.get(kat_server + "/mock/orders", params={"user": creds["user"]}).json()["result"]) == 1


ORDER = {
    "symbol": "BTC-USD",
    "side": "buy",
    "order_type": "limit",
    "qty": "0.001",
    "price": "100000",
    "time_in_force": "gtc",
    "reduce_only": False,
}


def _raw(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def test_missing_and_malformed_jwt(trader: Trader, base_url: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer not.a.jwt"},
    ):
        r = HTTP.get(base_url + "/api/query_balance", headers=headers)
        assert r.status_code == 401
        assert r.json()["message"] == "missing or invalid token"
    raw = _raw(ORDER)
    signed = trader.signed_headers(raw)
    del signed["Authorization"]
    r = HTTP.post(base_url + "/api/new_order", content=raw, headers=signed)
    assert r.status_code == 401
    assert r.json()["message"] == "missing or invalid token"


def test_tampered_and_expired_jwt(trader: Trader, base_url: str) -> None:
    head, body, sig = trader.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["exp"] += 3600
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = HTTP.get(base_url + "/api/query_balance", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"})
    assert r.status_code == 401
    expired = Trader(base_url, expires_seconds=-1)
    r = expired.get("/api/query_balance")
    assert r.status_code == 401
    assert r.json()["message"] == "token expired"
    r = expired.post("/api/new_order", ORDER)
    assert r.status_code == 401
    # A new token for the same account works again (re-login after expiry).
    relogin = HTTP.post(base_url + "/mock/credentials", json={"public_key": expired.public_key, "user": expired.user})
    assert relogin.json()["user"] == expired.user
    expired.token = relogin.json()["token"]
    assert expired.get("/api/query_balance").status_code == 200
    expired.close()


def test_bad_signature_variants(trader: Trader, base_url: str) -> None:
    raw = _raw(ORDER)
    good = trader.signed_headers(raw)
    other_key = SigningKey.generate()
    cases = {
        "wrong key": trader.signed_headers(raw, key=other_key),
        "signature of another body": {
            **good,
            "x-request-signature": trader.signed_headers(b"{}")["x-request-signature"],
        },
        "not base64": {**good, "x-request-signature": "%%%"},
        "short signature": {**good, "x-request-signature": base64.b64encode(b"x" * 63).decode()},
        "missing signature": {k: v for k, v in good.items() if k != "x-request-signature"},
        "missing request id": {k: v for k, v in good.items() if k != "x-request-id"},
        "wrong version": {**good, "x-request-sign-version": "v2"},
    }
    for name, headers in cases.items():
        r = HTTP.post(base_url + "/api/new_order", content=raw, headers=headers)
        assert r.status_code == 401, name
        assert r.json()["message"].startswith("invalid body signature"), name
    assert HTTP.post(base_url + "/api/new_order", content=raw, headers=good).status_code == 200


def test_stale_timestamp(trader: Trader, base_url: str) -> None:
    raw = _raw(ORDER)
    for ts in (now_ms() - 61_000, now_ms() + 61_000):
        r = HTTP.post(base_url + "/api/new_order", content=raw, headers=trader.signed_headers(raw, timestamp=ts))
        assert r.status_code == 401
        assert r.json()["message"] == "stale timestamp"
    headers = {**trader.signed_headers(raw), "x-request-timestamp": "17e11"}
    assert HTTP.post(base_url + "/api/new_order", content=raw, headers=headers).status_code == 401
    recent = trader.signed_headers(raw, timestamp=now_ms() - 30_000)
    assert HTTP.post(base_url + "/api/new_order", content=raw, headers=recent).status_code == 200


def test_timestamp_window_is_configurable() -> None:
    with serve(MockConfig(timestamp_window_ms=1000)) as url:
        t = Trader(url)
        raw = _raw({"symbol": "BTC-USD", "leverage": 5})
        r = t.http.post("/api/change_leverage", content=raw, headers=t.signed_headers(raw, timestamp=now_ms() - 5000))
        assert r.json()["message"] == "stale timestamp"
        time.sleep(0)
        assert t.post("/api/change_leverage", {"symbol": "BTC-USD", "leverage": 5}).status_code == 200
        t.close()


def test_auth_is_checked_before_body_validation(trader: Trader, base_url: str) -> None:
    raw = b'{"symbol":"BTC-USD","side":"long"}'
    r = HTTP.post(base_url + "/api/new_order", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    r = HTTP.post(base_url + "/api/new_order", content=raw, headers=trader.signed_headers(raw))
    assert r.status_code == 400


def test_credentials_endpoint_rejects_bad_keys(base_url: str) -> None:
    for body in ({}, {"public_key": "0OIl"}, {"public_key": b58encode(b"\1" * 31)}, {"public_key": 5}):
        r = HTTP.post(base_url + "/mock/credentials", json=body)
        assert r.status_code == 400, body
    r = HTTP.post(base_url + "/mock/credentials", json={"public_key": KAT_PUBLIC_B58, "balance": "250.5"})
    token = r.json()["token"]
    assert r.json()["user"].startswith("bsc_0x") and len(r.json()["user"]) == 46
    bal = HTTP.get(base_url + "/api/query_balance", headers={"Authorization": f"Bearer {token}"}).json()
    assert bal["cross_balance"] == "250.5"
    assert bal["equity"] == "250.5"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert claims["public_key"] == KAT_PUBLIC_B58
