# Copied from overlays/credentials.py by `make generate`. Do not edit here: edit overlays/credentials.py.
"""Wallet sign-in, and the credentials it produces: the access JWT together with the ed25519 key it is bound to.

    from standx_client.credentials import Credentials, sign_in
    from standx_client.wallets import EvmWallet, SolanaWallet

    creds = sign_in(EvmWallet.from_key(private_key))        # or SolanaWallet.from_key(base58_secret)
    creds.save("standx-credentials.json")                   # created with mode 0600
    with creds.client() as client:                          # a StandX client bound to the token and its key
        client.new_order(...)

    creds = Credentials.load("standx-credentials.json")     # refuses a file readable by group or others
    creds = Credentials.from_session_export(jwt, key_b58)   # what the StandX web page hands out

The flow (docs: Perps Auth): a fresh ed25519 request-signing key is generated and its base58 public key sent
as `requestId` to prepare-signin; the wallet signs the `message` of the returned `signedData` challenge;
login exchanges that signature for the access JWT. The JWT is bound to the request-signing key, so the two
are only ever kept together. Every HTTP call goes through the generated `StandX` / `AsyncStandX` facade.

Secrets never appear in a repr, a str, an exception or a log record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import secrets
import stat
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._base import DEFAULT_AUTH_URL, jwt_claims, jwt_expiry
from ._tables import CHAIN_BSC, TOKEN_DEFAULT_LIFETIME_SECONDS
from .exceptions import (
    APIError,
    CredentialsError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    SignInError,
    StandXError,
    TokenExpiredError,
    TokenExpiringWarning,
    ValidationError,
)
from .signing import SigningKey
from .wallets import CHAINS, Wallet

if TYPE_CHECKING:
    from ._facade import AsyncStandX, StandX
    from .models.login_response import LoginResponse
    from .models.prepare_signin_response import PrepareSigninResponse

logger = logging.getLogger(__name__)  # standx_client.credentials, or the vendored copy's name

DEFAULT_EXPIRES_SECONDS = TOKEN_DEFAULT_LIFETIME_SECONDS  # the exchange's default token lifetime
FILE_FORMAT = "standx-credentials/1"
_TOKEN_FIELDS = ("token", "jwt", "accessToken", "access_token", "STANDX_JWT", "JWT", "TOKEN")
_KEY_FIELDS = (
    "signing_key",
    "key",
    "signingKey",
    "privateKey",
    "private_key",
    "secretKey",
    "secret_key",
    "ed25519PrivateKey",
    "STANDX_SIGNING_KEY",
    "SIGNING_KEY",
    "KEY",
    "PRIVATE_KEY",
)


# --- Credentials ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """An access JWT and the ed25519 request-signing key it is bound to (plus the wallet it belongs to).

    `expires_at` and `expires_in` come from the JWT's `exp` claim. A client built with `client()` or
    `async_client()` warns (`TokenExpiringWarning`) within `warn_before_expiry` seconds of it and refuses
    to send anything once it has passed (`TokenExpiredError`). StandX has no refresh: sign in again.
    """

    token: str
    signing_key: SigningKey
    address: str | None = None
    chain: str | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.token, str) or self.token.strip().count(".") != 2:
            raise ValidationError("credentials", "token", "expected a JWT (three dot-separated parts)")
        if not isinstance(self.signing_key, SigningKey):
            raise ValidationError("credentials", "signing_key", "expected a SigningKey (use from_session_export)")
        object.__setattr__(self, "token", self.token.strip())

    # -- expiry

    @property
    def expires_at(self) -> int | None:
        """The JWT's `exp` (unix seconds), when it has one."""
        return jwt_expiry(self.token)

    @property
    def expires_in(self) -> float | None:
        """Seconds until the JWT expires (negative once it has), or None when it has no `exp`."""
        exp = self.expires_at
        return None if exp is None else exp - time.time()

    @property
    def expired(self) -> bool:
        left = self.expires_in
        return left is not None and left <= 0

    def check(self, warn_before_expiry: float = 3600.0) -> None:
        """Raise `TokenExpiredError` if the JWT has expired; warn `TokenExpiringWarning` if it soon will."""
        exp, left = self.expires_at, self.expires_in
        if exp is None or left is None:
            return
        if left <= 0:
            raise TokenExpiredError("credentials", exp)
        if left <= warn_before_expiry:
            warnings.warn(f"the StandX JWT expires in {int(left)} s; sign in again", TokenExpiringWarning, stacklevel=2)

    @property
    def public_key(self) -> str:
        """The base58 public key of the signing key: the sign-in `requestId` the JWT is bound to."""
        return self.signing_key.public_key_b58

    # -- clients

    def client(self, **kwargs: Any) -> StandX:
        """A `StandX` client bound to this token and its signing key (other arguments as for `StandX`)."""
        from ._facade import StandX

        return StandX(jwt=self.token, signing_key=self.signing_key, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncStandX:
        """An `AsyncStandX` client bound to this token and its signing key."""
        from ._facade import AsyncStandX

        return AsyncStandX(jwt=self.token, signing_key=self.signing_key, **kwargs)

    # -- files

    @classmethod
    def from_session_export(
        cls,
        token: str,
        signing_key: SigningKey | str | bytes,
        *,
        address: str | None = None,
        chain: str | None = None,
    ) -> Credentials:
        """Credentials from the StandX web page's session export: the JWT and the ed25519 key (base58, as the
        page gives it; hex, base64 and 64-byte Solana-style secrets are accepted too)."""
        return cls(token=token, signing_key=SigningKey.parse(signing_key), address=address, chain=chain)

    def to_json(self) -> str:
        """The credentials file's text. It holds the secrets: write it only where `save` would."""
        document = {
            "format": FILE_FORMAT,
            "chain": self.chain,
            "address": self.address,
            "alias": self.alias,
            "public_key": self.public_key,
            "expires_at": self.expires_at,
            "token": self.token,
            "signing_key": _secret_b58(self.signing_key),
        }
        return json.dumps(document, indent=2) + "\n"

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the credentials to `path`, readable and writable by the owner only (mode 0600).

        The file is written completely under a temporary name created with mode 0600 (O_EXCL) and then
        moved into place, so no other user can ever open it and no half-written file is left behind. An
        existing file is kept unless `overwrite` is true.
        """
        target = Path(path)
        _write_private(target, self.to_json().encode("utf-8"), overwrite=overwrite)
        logger.info("saved StandX credentials for %s to %s", self.address or self.public_key, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read a credentials file written by `save`, or a session export: a JSON object with the token and the
        key (`token`/`jwt` and `key`/`signing_key` fields), or `STANDX_JWT=...` / `STANDX_SIGNING_KEY=...`
        lines. A file that group or others may read is refused (`chmod 600` it)."""
        where = str(path)
        fields = _parse_document(_read_private(Path(path)), where)
        token = _pick(fields, _TOKEN_FIELDS)
        key_text = _pick(fields, _KEY_FIELDS)
        if token is None or key_text is None:
            raise CredentialsError("expected a token (JWT) and a signing key (token and key fields)", path=where)
        try:
            key = SigningKey.parse(key_text)
            creds = cls(
                token=token,
                signing_key=key,
                address=_text(fields.get("address")),
                chain=_text(fields.get("chain")),
                alias=_text(fields.get("alias")),
            )
        except ValidationError as exc:  # its message never repeats the secret
            raise CredentialsError(exc.problem, path=where) from None
        recorded = _text(fields.get("public_key"))
        if recorded is not None and recorded != key.public_key_b58:
            raise CredentialsError(
                "the signing key is not the one this token was issued for (public_key differs): "
                "the file was edited or mixed up; sign in again",
                path=where,
            )
        return creds

    def __repr__(self) -> str:
        return (
            f"Credentials(chain={self.chain!r}, address={self.address!r}, public_key={self.public_key!r}, "
            f"expires_at={self.expires_at!r}, token=<redacted>, signing_key=<redacted>)"
        )

    __str__ = __repr__

    def __reduce__(self) -> str:  # pickling would copy the secrets around; refuse it
        raise TypeError("Credentials cannot be pickled; use save() and load()")


def _secret_b58(key: SigningKey) -> str:
    from .signing import b58encode

    return b58encode(bytes(key._key))  # the 32-byte seed, as the StandX web page exports it


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _pick(fields: Mapping[str, object], names: tuple[str, ...]) -> str | None:
    return next((value.strip() for name in names if isinstance(value := fields.get(name), str) and value.strip()), None)


def _parse_document(raw: bytes, where: str) -> dict[str, object]:
    """A JSON object, or NAME=VALUE lines (an env-style export). Never quotes the content back."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialsError("not a UTF-8 text file", path=where) from None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        return document
    if document is not None:
        raise CredentialsError("expected a JSON object with token and key fields", path=where)
    fields: dict[str, object] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise CredentialsError("neither a JSON object nor NAME=VALUE lines", path=where)
        fields[name.strip()] = value.strip().strip("'\"")
    return fields


def _check_private(info: os.stat_result, where: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError("not a regular file", path=where)
    if os.name == "posix" and info.st_mode & 0o077:
        raise CredentialsError(
            f"refusing to read credentials that group or others can access (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"restrict it with `chmod 600 {where}`",
            path=where,
        )


def _read_private(path: Path) -> bytes:
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CredentialsError("no such file", path=where) from None
    except OSError as exc:
        raise CredentialsError(f"cannot open: {exc.strerror}", path=where) from None
    with os.fdopen(fd, "rb") as handle:
        _check_private(os.fstat(handle.fileno()), where)  # the file actually opened, not a name raced to
        return handle.read(1 << 20)


def _write_private(path: Path, data: bytes, *, overwrite: bool) -> None:
    where = str(path)
    directory = path.parent if str(path.parent) else Path(".")
    temporary = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temporary, flags, 0o600)
    except OSError as exc:
        raise CredentialsError(f"cannot create a file in {directory}: {exc.strerror}", path=where) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # whatever the umask or the directory's default ACL says
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            try:
                os.replace(temporary, path)
            except OSError as exc:
                raise CredentialsError(f"cannot replace: {exc.strerror}", path=where) from None
        else:
            try:
                os.link(temporary, path)  # atomic, and fails if the name exists
            except FileExistsError:
                raise CredentialsError("already exists; pass overwrite=True (CLI: --force)", path=where) from None
            except OSError:  # no hard links on this filesystem: exclusive create of the name itself
                _write_exclusive(path, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    with contextlib.suppress(OSError):  # make the new name durable too
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_exclusive(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CredentialsError("already exists; pass overwrite=True (CLI: --force)", path=str(path)) from None
    except OSError as exc:
        raise CredentialsError(f"cannot create: {exc.strerror}", path=str(path)) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# --- Sign-in -------------------------------------------------------------------------------------------------------


def decode_challenge(signed_data: str) -> dict[str, Any]:
    """The payload of a prepare-signin `signedData` JWT, decoded without verifying its ES256 signature
    (the exchange verifies it again at login), in the order the exchange wrote it."""
    payload = jwt_claims(signed_data) if isinstance(signed_data, str) else None
    if payload is None:
        raise SignInError("challenge", "signedData is not a JWT with a base64url JSON payload")
    if not isinstance(payload.get("message"), str) or not payload["message"]:
        raise SignInError("challenge", "the signedData payload has no message to sign")
    return payload


def _check_challenge(payload: Mapping[str, Any], wallet: Wallet, request_id: str) -> None:
    """Refuse to have the wallet sign a challenge that is not for this key and this wallet.

    A challenge for another `requestId` would give whoever holds that key a token for this wallet.
    """
    if payload.get("requestId") != request_id:
        raise SignInError("challenge", "the challenge is for another request-signing key (requestId); not signing it")
    address = payload.get("address")
    same = (
        isinstance(address, str) and address.lower() == wallet.address.lower()
        if wallet.chain == CHAIN_BSC
        else address == wallet.address
    )
    if not same:
        raise SignInError("challenge", f"the challenge is for another address ({address!r}); not signing it")


@contextlib.contextmanager
def _stage(stage: str) -> Iterator[None]:
    """The exchange refusing a step becomes `SignInError`; outages, rate limits and odd answers stay as they are."""
    try:
        yield
    except (RateLimitError, ServerError, ResponseDecodeError):
        raise
    except APIError as exc:
        raise SignInError(stage, exc.message, status_code=exc.status_code, code=exc.code) from exc


@contextlib.contextmanager
def _signing() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:  # the signer's answer is not a signature
        raise SignInError("sign", exc.problem) from exc
    except StandXError:
        raise
    except Exception as exc:  # whatever the wallet or an external signer raised
        raise SignInError("sign", f"the wallet could not sign: {type(exc).__name__}: {exc}") from exc


def _challenge(response: PrepareSigninResponse, wallet: Wallet, request_id: str) -> tuple[str, dict[str, Any]]:
    signed_data = response.signed_data
    if response.success is not True or not isinstance(signed_data, str):
        raise SignInError("prepare", "prepare-signin answered success=false (no challenge issued)")
    payload = decode_challenge(signed_data)
    _check_challenge(payload, wallet, request_id)
    return signed_data, payload


def _credentials(response: LoginResponse, wallet: Wallet, key: SigningKey) -> Credentials:
    if not isinstance(response.token, str) or not response.token:
        raise SignInError("login", "login answered without a token")
    address = response.address if isinstance(response.address, str) and response.address else wallet.address
    alias = response.alias if isinstance(response.alias, str) else None
    creds = Credentials(token=response.token, signing_key=key, address=address, chain=wallet.chain, alias=alias)
    logger.info(
        "signed in %s wallet %s; request-signing key %s; token expires at %s",
        wallet.chain,
        address,
        key.public_key_b58,
        creds.expires_at,
    )
    return creds


def _check_wallet(wallet: Wallet) -> None:
    if wallet.chain not in CHAINS:
        raise ValidationError("sign_in", "wallet", f"chain {wallet.chain!r} is not one of: {', '.join(CHAINS)}")


def sign_in(
    wallet: Wallet,
    *,
    auth_url: str = DEFAULT_AUTH_URL,
    expires_seconds: int | None = DEFAULT_EXPIRES_SECONDS,
    signing_key: SigningKey | None = None,
    **client_kwargs: Any,
) -> Credentials:
    """Sign in with a wallet and return the credentials: the access JWT together with its signing key.

    Args:
        wallet: an `EvmWallet` or `SolanaWallet` (or anything with `chain`, `address`, `sign_challenge`).
        auth_url: the auth host (the mock exchange serves it on its own base URL).
        expires_seconds: the token lifetime asked for (the exchange's default is 7 days; None sends none).
        signing_key: the request-signing key to bind the token to; a fresh one by default.
        client_kwargs: passed to the `StandX` client that makes the calls (`timeout`, `transport`...).

    Raises `SignInError` when the exchange refuses (wrong wallet key, expired or reused challenge...) or the
    challenge is not for this key and wallet; `TransportError`, `RateLimitError` and `ServerError` as usual.
    """
    from ._facade import StandX

    _check_wallet(wallet)
    key = signing_key if signing_key is not None else SigningKey.generate()
    request_id = key.public_key_b58
    with StandX(auth_url=auth_url, **client_kwargs) as api:
        with _stage("prepare"):
            prepared = api.prepare_signin(chain=wallet.chain, address=wallet.address, request_id=request_id)
        signed_data, payload = _challenge(prepared, wallet, request_id)
        with _signing():
            result = wallet.sign_challenge(payload["message"], payload)
            if inspect.isawaitable(result):
                close = getattr(result, "close", None)
                if callable(close):
                    close()  # never awaited: close the signer's coroutine quietly
                raise SignInError("sign", "the wallet's signer is asynchronous: use async_sign_in")
            signature = result
        with _stage("login"):
            response = api.login(
                chain=wallet.chain, signature=signature, signed_data=signed_data, expires_seconds=expires_seconds
            )
    return _credentials(response, wallet, key)


async def async_sign_in(
    wallet: Wallet,
    *,
    auth_url: str = DEFAULT_AUTH_URL,
    expires_seconds: int | None = DEFAULT_EXPIRES_SECONDS,
    signing_key: SigningKey | None = None,
    **client_kwargs: Any,
) -> Credentials:
    """`sign_in` for asyncio: the same flow on an `AsyncStandX` client. The wallet's signer may be a
    coroutine function (an external signer that waits for a hardware wallet or a KMS)."""
    from ._facade import AsyncStandX

    _check_wallet(wallet)
    key = signing_key if signing_key is not None else SigningKey.generate()
    request_id = key.public_key_b58
    async with AsyncStandX(auth_url=auth_url, **client_kwargs) as api:
        with _stage("prepare"):
            prepared = await api.prepare_signin(chain=wallet.chain, address=wallet.address, request_id=request_id)
        signed_data, payload = _challenge(prepared, wallet, request_id)
        with _signing():
            result = wallet.sign_challenge(payload["message"], payload)
            signature = await result if inspect.isawaitable(result) else result
        with _stage("login"):
            response = await api.login(
                chain=wallet.chain, signature=signature, signed_data=signed_data, expires_seconds=expires_seconds
            )
    return _credentials(response, wallet, key)


__all__ = [
    "DEFAULT_EXPIRES_SECONDS",
    "Credentials",
    "CredentialsError",
    "SignInError",
    "async_sign_in",
    "decode_challenge",
    "sign_in",
]
