"""The wallet sign-in of the auth host (`/v1/offchain/prepare-signin`, `/login`, `/certs`), served by the mock.

prepare-signin issues a challenge: an ES256 JWT (`signedData`) whose payload carries the documented fields
(domain, uri, statement, version, chainId, nonce, address, requestId, issuedAt, message, exp, iat), the
message being SIWE-style text. login verifies the JWT, the chain, the expiry and the single use of the
nonce, then the wallet's signature of the message:

* bsc: the EIP-191 personal_sign signature must recover to the challenge's address;
* solana: the Base64 JSON envelope must carry the issued payload as `input`, the message bytes as
  `signedMessage`, the challenge's address as `publicKey`, and an ed25519 signature that verifies.

It then issues the same HS256 access JWT `/mock/credentials` issues, bound to the `requestId` key, for the
account `<chain>_<address>` (created and funded on first sign-in). `/certs` serves the ES256 public key as a
JSON Web Key Set. Independent of `standx_client` on purpose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from . import accounts
from ._tables import TOKEN_DEFAULT_LIFETIME_SECONDS
from .auth import JwtIssuer, decode_public_key
from .config import MockConfig
from .engine import Engine
from .enums import BSC, SOLANA
from .state import EngineError

DOMAIN = "standx.com"
URI = "https://standx.com"
STATEMENT = "Sign in with Ethereum to access more StandX features"
#: chainId per chain: 56 is BSC (documented); the Solana value is not documented (the mock's choice).
CHAIN_IDS = {BSC: 56, SOLANA: 501}
ACCOUNT_KIND = {BSC: "Ethereum", SOLANA: "Solana"}
ES256_HEADER = {"alg": "ES256", "typ": "JWT"}
KEY_ID = "standx-mock-signin-1"
_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_EVM_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_NONCE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("invalid base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso_ms(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(when * 1000) % 1000:03d}Z"


def siwe_message(chain: str, address: str, nonce: str, request_id: str, issued_at: float, expires_at: int) -> str:
    """The EIP-4361 style text the wallet signs."""
    return (
        f"{DOMAIN} wants you to sign in with your {ACCOUNT_KIND[chain]} account:\n"
        f"{address}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: {URI}\n"
        f"Version: 1\n"
        f"Chain ID: {CHAIN_IDS[chain]}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {_iso_ms(issued_at)}\n"
        f"Expiration Time: {_iso_ms(expires_at)}\n"
        f"Request ID: {request_id}"
    )


def recover_evm_address(message: str, signature: str) -> str:
    """The address (lower-case 0x hex) whose key made this EIP-191 personal_sign signature; ValueError if none."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature)).lower()
    except Exception as exc:  # eth-keys raises several types for malformed signatures
        raise ValueError(f"unrecoverable signature ({type(exc).__name__})") from None


class SignInService:
    """Challenges, their verification and the access tokens, for one mock instance."""

    def __init__(self, config: MockConfig, engine: Engine, jwt: JwtIssuer) -> None:
        self.config = config
        self.engine = engine
        self.jwt = jwt
        #: May be changed by white-box tests (seconds).
        self.challenge_lifetime_s = config.signin_challenge_lifetime_s
        # Deterministic from the seed, so /certs is stable across runs with the same seed.
        scalar = int.from_bytes(hashlib.sha256(f"standx-mock signin {config.seed}".encode()).digest(), "big")
        self._key = ec.derive_private_key(scalar % (_P256_ORDER - 1) + 1, ec.SECP256R1())
        self._lock = threading.Lock()
        self._issued: dict[str, str] = {}  # nonce -> chain
        self._used: set[str] = set()

    # ------------------------------------------------------------------ ES256

    def _sign_jwt(self, claims: dict[str, Any]) -> str:
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
            for part in (ES256_HEADER, claims)
        )
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _verify_jwt(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise EngineError("invalid signedData: not a JWT", 401)
        try:
            header = json.loads(_b64url_decode(parts[0]))
            raw = _b64url_decode(parts[2])
            if not isinstance(header, dict) or header.get("alg") != "ES256" or len(raw) != 64:
                raise ValueError("not ES256")
            signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            self._key.public_key().verify(
                signature, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256())
            )
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, InvalidSignature, binascii.Error, UnicodeEncodeError):
            raise EngineError("invalid signedData: the StandX signature does not verify", 401) from None
        if not isinstance(claims, dict):
            raise EngineError("invalid signedData", 401)
        return claims

    def certs(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big")),
                    "alg": "ES256",
                    "use": "sig",
                    "kid": KEY_ID,
                }
            ]
        }

    # ------------------------------------------------------------------ prepare

    def prepare(self, chain: str, address: str, request_id: str) -> dict[str, Any]:
        if chain == BSC and not _EVM_ADDRESS.fullmatch(address):
            raise EngineError("invalid address: expected 0x followed by 40 hex digits for chain bsc")
        if chain == SOLANA:
            try:
                decode_public_key(address)
            except ValueError:
                raise EngineError("invalid address: expected a base58 ed25519 public key for chain solana") from None
        try:
            decode_public_key(request_id)
        except ValueError:
            raise EngineError("invalid requestId: expected the base58 of a 32-byte ed25519 public key") from None
        now = time.time()
        iat = int(now)
        exp = iat + self.challenge_lifetime_s
        nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(17))
        claims = {
            "domain": DOMAIN,
            "uri": URI,
            "statement": STATEMENT,
            "version": "1",
            "chainId": CHAIN_IDS[chain],
            "nonce": nonce,
            "address": address,
            "requestId": request_id,
            "issuedAt": _iso_ms(now),
            "message": siwe_message(chain, address, nonce, request_id, now, exp),
            "exp": exp,
            "iat": iat,
        }
        with self._lock:
            self._issued[nonce] = chain
        return {"success": True, "signedData": self._sign_jwt(claims)}

    # ------------------------------------------------------------------ login

    def login(self, chain: str, signature: str, signed_data: str, expires_seconds: int | None) -> dict[str, Any]:
        claims = self._verify_jwt(signed_data)
        nonce, address, request_id = claims.get("nonce"), claims.get("address"), claims.get("requestId")
        message, exp = claims.get("message"), claims.get("exp")
        if not (
            isinstance(nonce, str)
            and isinstance(address, str)
            and isinstance(request_id, str)
            and isinstance(message, str)
            and isinstance(exp, int)
        ):
            raise EngineError("invalid signedData: missing fields", 401)
        if time.time() >= exp:
            raise EngineError("sign-in challenge expired: call prepare-signin again", 401)
        with self._lock:
            issued_chain = self._issued.get(nonce)
            used = nonce in self._used
        if issued_chain is None:
            raise EngineError("invalid signedData: unknown nonce", 401)
        if issued_chain != chain or claims.get("chainId") != CHAIN_IDS[chain]:
            raise EngineError(f"chain mismatch: the challenge was issued for {issued_chain}, not {chain}", 400)
        if used:
            raise EngineError("sign-in challenge already used: call prepare-signin again", 401)
        if chain == BSC:
            self._verify_evm(message, address, signature)
        else:
            self._verify_solana(claims, message, address, signature)
        with self._lock:  # single use, checked again under the lock against a concurrent login
            if nonce in self._used:
                raise EngineError("sign-in challenge already used: call prepare-signin again", 401)
            self._used.add(nonce)
        lifetime = TOKEN_DEFAULT_LIFETIME_SECONDS if expires_seconds is None else expires_seconds
        user = f"{chain}_{address.lower() if chain == BSC else address}"
        with self.engine.lock:
            acct = self.engine.state.accounts.get(user)
            if acct is None:
                acct = accounts.create_account(self.engine.state, request_id, user=user, address=address)
            elif request_id not in acct.public_keys:
                acct.public_keys.append(request_id)
        token = self.jwt.issue(user=user, address=address, public_key=request_id, lifetime_s=lifetime, chain=chain)
        alias = "user" + hashlib.sha256(user.encode()).hexdigest()[:8]
        return {"token": token, "address": address, "alias": alias, "chain": chain, "perpsAlpha": True}

    @staticmethod
    def _verify_evm(message: str, address: str, signature: str) -> None:
        if not _EVM_SIGNATURE.fullmatch(signature):
            raise EngineError("invalid signature: expected 0x followed by 65 bytes of hex", 401)
        try:
            signer = recover_evm_address(message, signature)
        except ValueError:
            raise EngineError("invalid signature: it does not recover to an address", 401) from None
        if signer != address.lower():
            raise EngineError("invalid signature: signed by another address than the challenge's", 401)

    @staticmethod
    def _verify_solana(claims: dict[str, Any], message: str, address: str, signature: str) -> None:
        try:
            envelope = json.loads(base64.b64decode(signature, validate=True))
        except (ValueError, binascii.Error):
            raise EngineError("invalid signature: expected Base64 of the JSON envelope", 401) from None
        output = envelope.get("output") if isinstance(envelope, dict) else None
        account = output.get("account") if isinstance(output, dict) else None
        if not isinstance(output, dict) or not isinstance(account, dict):
            raise EngineError("invalid signature: the envelope needs input and output.account", 401)
        if envelope.get("input") != claims:
            raise EngineError("invalid signature: envelope input is not the issued signedData payload", 401)
        message_bytes = message.encode("utf-8")
        if output.get("signedMessage") != list(message_bytes):
            raise EngineError("invalid signature: signedMessage is not the challenge message", 401)
        public_key, raw_signature = account.get("publicKey"), output.get("signature")
        if public_key != list(base58.b58decode(address)):
            raise EngineError("invalid signature: account.publicKey is not the challenge's address", 401)
        if not isinstance(raw_signature, list) or len(raw_signature) != 64:
            raise EngineError("invalid signature: expected 64 signature bytes", 401)
        try:
            VerifyKey(bytes(public_key)).verify(message_bytes, bytes(raw_signature))
        except (BadSignatureError, ValueError, TypeError):
            raise EngineError("invalid signature: the ed25519 signature does not verify", 401) from None
