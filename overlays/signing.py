"""StandX body signing: ed25519 over `v1,{x-request-id},{x-request-timestamp},{exact body bytes}`, Base64.

`StandXAuth` is an `httpx.Auth` that signs the bytes httpx is about to send (never a re-serialization),
with a fresh request id and millisecond timestamp on every attempt. Which requests it signs comes from
the spec (the generated operation table), and only on the hosts it is given.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Generator, Iterable

import httpx
import nacl.bindings
import nacl.signing

from ._ids import new_request_id as _new_request_id
from .exceptions import ValidationError

SIGN_VERSION = "v1"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_HEX = frozenset("0123456789abcdefABCDEF")


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet), as StandX uses for public keys and exported signing keys."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = _B58_ALPHABET[rem] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError("not base58")
        number = number * 58 + _B58_INDEX[char]
    pad = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * pad + body


def _candidates(text: str) -> Iterable[bytes]:
    """Byte strings a key text could stand for, most specific format first."""
    if text.startswith(("0x", "0X")) or (set(text) <= _HEX and len(text) in (64, 128)):
        yield bytes.fromhex(text.removeprefix("0x").removeprefix("0X"))
        return
    try:
        yield b58decode(text)
    except ValueError:
        pass
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            yield decode(padded.encode("ascii"))
        except (binascii.Error, ValueError):
            pass


class SigningKey:
    """The ed25519 request-signing key a JWT is bound to. Its repr shows only the public key.

    Accepts what users have: base58 (the StandX web page's export), hex, base64, a 32-byte seed, or a
    64-byte Solana-style secret key (seed followed by its public key).
    """

    __slots__ = ("_key", "_secret")

    def __init__(self, key: nacl.signing.SigningKey) -> None:
        self._key = key
        # The expanded 64-byte secret for nacl.bindings.crypto_sign: the hot path skips SignedMessage objects.
        self._secret = nacl.bindings.crypto_sign_seed_keypair(bytes(key))[1]

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def parse(cls, value: SigningKey | nacl.signing.SigningKey | bytes | str) -> SigningKey:
        """Read a key; a bad one raises `ValidationError` that never repeats the secret."""
        if isinstance(value, SigningKey):
            return value
        if isinstance(value, nacl.signing.SigningKey):
            return cls(value)
        if isinstance(value, bytes):
            key = cls._from_bytes(value)
        elif isinstance(value, str):
            key = next((k for raw in _candidates(value.strip()) if (k := cls._from_bytes(raw))), None)
        else:
            raise ValidationError("client", "signing_key", f"expected str or bytes, got {type(value).__name__}")
        if key is None:
            raise ValidationError(
                "client",
                "signing_key",
                "not an ed25519 key: expected base58, hex or base64 of a 32-byte seed or a 64-byte secret key",
            )
        return key

    @classmethod
    def _from_bytes(cls, raw: bytes) -> SigningKey | None:
        if len(raw) == 32:
            return cls(nacl.signing.SigningKey(raw))
        if len(raw) == 64:
            key = nacl.signing.SigningKey(raw[:32])
            # A Solana secret key is seed + public key: refuse 64 bytes whose halves do not belong together.
            return cls(key) if bytes(key.verify_key) == raw[32:] else None
        return None

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    @property
    def public_key_b58(self) -> str:
        """The base58 public key: the sign-in `requestId` that binds a JWT to this key."""
        return b58encode(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of `message`."""
        return nacl.bindings.crypto_sign(message, self._secret)[: nacl.bindings.crypto_sign_BYTES]

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key_b58!r})"

    def __reduce__(self) -> str:  # pickling would copy the secret around; refuse it
        raise TypeError("SigningKey cannot be pickled")


def signature_headers(key: SigningKey, body: bytes, request_id: str, timestamp_ms: int) -> dict[str, str]:
    """The four x-request-* headers for one request body."""
    message = b"v1,%s,%d,%s" % (request_id.encode(), timestamp_ms, body)  # SIGN_VERSION, id, ms, exact body
    return {
        "x-request-sign-version": SIGN_VERSION,
        "x-request-id": request_id,
        "x-request-timestamp": str(timestamp_ms),
        "x-request-signature": binascii.b2a_base64(key.sign(message), newline=False).decode("ascii"),
    }


def _signed_routes() -> frozenset[tuple[str, str]]:
    from ._operations import OPERATIONS

    return frozenset((op.method, op.path) for op in OPERATIONS.values() if op.signed)


class StandXAuth(httpx.Auth):
    """Signs the exact body of every request to a signed operation, on the given hosts only.

    Usable on its own with a plain httpx client (decode the answers with the endpoint modules' parse_success):
    `httpx.Client(base_url=..., auth=StandXAuth(key, hosts=["perps.standx.com"]))`.
    """

    requires_request_body = True

    def __init__(
        self,
        key: SigningKey | str | bytes,
        *,
        hosts: Iterable[str],
        clock_ms: Callable[[], int] | None = None,
        new_request_id: Callable[[], str] | None = None,
    ) -> None:
        self._key = SigningKey.parse(key)
        self._hosts = frozenset(hosts)
        self._routes = _signed_routes()
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._new_request_id = new_request_id or _new_request_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.host in self._hosts and (request.method, request.url.path) in self._routes:
            headers = signature_headers(self._key, request.content, self._new_request_id(), self._clock_ms())
            request.headers.update(headers)
        yield request

    def __repr__(self) -> str:
        return f"StandXAuth(key={self._key!r}, hosts={sorted(self._hosts)!r})"
