"""Test credentials (HS256 JWT bound to an ed25519 public key) and body-signature verification."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from .enums import BSC

SIGN_VERSION = "v1"
HEADER_SIGN_VERSION = "x-request-sign-version"
HEADER_REQUEST_ID = "x-request-id"
HEADER_TIMESTAMP = "x-request-timestamp"
HEADER_SIGNATURE = "x-request-signature"
SIGNATURE_HEADERS = (HEADER_SIGN_VERSION, HEADER_REQUEST_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)


class AuthError(Exception):
    """Authentication failed; the message is what the 401 body says."""


@dataclass(frozen=True)
class TokenClaims:
    user: str
    address: str
    public_key: str
    iat: int
    exp: int


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("invalid base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64url(data) != text:  # unused low bits set: another text for the same bytes, a tampered token
        raise ValueError("non-canonical base64url")
    return data


def decode_public_key(public_key_b58: str) -> VerifyKey:
    """Parse a base58 ed25519 public key; ValueError when it is not 32 bytes."""
    if not isinstance(public_key_b58, str) or not public_key_b58.isascii():
        raise ValueError("a base58 public key must be an ASCII string")
    raw = base58.b58decode(public_key_b58)
    if len(raw) != 32:
        raise ValueError(f"public key must decode to 32 bytes, got {len(raw)}")
    return VerifyKey(raw)


class JwtIssuer:
    """Issues and verifies HS256 JWTs with a per-process secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def issue(
        self,
        *,
        user: str,
        address: str,
        public_key: str,
        lifetime_s: int,
        now: float | None = None,
        chain: str = BSC,
    ) -> str:
        iat = int(time.time() if now is None else now)
        header = {"alg": "HS256", "typ": "JWT"}
        claims: dict[str, Any] = {
            "iss": "standx-mock",
            "sub": user,
            "user": user,
            "address": address,
            "chain": chain,
            "public_key": public_key,
            "iat": iat,
            "exp": iat + lifetime_s,
            "jti": secrets.token_hex(8),
        }
        signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        """Return the claims of a valid token; AuthError otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError("missing or invalid token")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise AuthError("missing or invalid token") from None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise AuthError("missing or invalid token")
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise AuthError("missing or invalid token")
        try:
            claims = json.loads(_b64url_decode(parts[1]))
            result = TokenClaims(
                user=str(claims["user"]),
                address=str(claims["address"]),
                public_key=str(claims["public_key"]),
                iat=int(claims["iat"]),
                exp=int(claims["exp"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise AuthError("missing or invalid token") from None
        if (time.time() if now is None else now) >= result.exp:
            raise AuthError("token expired")
        return result


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing or invalid token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing or invalid token")
    return token.strip()


def signature_message(request_id: str, timestamp: str, body: bytes, version: str = SIGN_VERSION) -> bytes:
    """The signed bytes: `v1,{x-request-id},{x-request-timestamp},{raw body}`."""
    return f"{version},{request_id},{timestamp},".encode() + body


def verify_body_signature(
    headers: dict[str, str],
    body: bytes,
    public_key_b58: str,
    *,
    now_ms: int | None = None,
    window_ms: int = 60_000,
) -> None:
    """Check the four x-request-* headers and the ed25519 signature; AuthError otherwise.

    `headers` must be keyed by lower-case names.
    """
    missing = [h for h in SIGNATURE_HEADERS if not headers.get(h)]
    if missing:
        raise AuthError(f"invalid body signature: missing header {', '.join(missing)}")
    if headers[HEADER_SIGN_VERSION] != SIGN_VERSION:
        raise AuthError(f"invalid body signature: unsupported {HEADER_SIGN_VERSION} (expected {SIGN_VERSION})")
    timestamp = headers[HEADER_TIMESTAMP]
    if not timestamp.isascii() or not timestamp.isdigit():
        raise AuthError("stale timestamp")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - int(timestamp)) > window_ms:
        raise AuthError("stale timestamp")
    try:
        signature = base64.b64decode(headers[HEADER_SIGNATURE], validate=True)
    except (binascii.Error, ValueError):
        raise AuthError("invalid body signature") from None
    if len(signature) != 64:
        raise AuthError("invalid body signature")
    try:
        key = decode_public_key(public_key_b58)
        key.verify(signature_message(headers[HEADER_REQUEST_ID], timestamp, body), signature)
    except (BadSignatureError, ValueError):
        raise AuthError("invalid body signature") from None
