# Copied from overlays/wallets.py by `make generate`. Do not edit here: edit overlays/wallets.py.
"""Wallets that sign the StandX sign-in challenge: EVM (BSC) and Solana.

A wallet has a `chain`, an `address` and `sign_challenge(message, payload)`, which returns the `signature`
string `login` expects (or an awaitable of it, for asynchronous external signers; see `async_sign_in`):

* `EvmWallet.from_key(private_key)`: EIP-191 `personal_sign` with eth-account (`pip install standx-client[evm]`).
  `EvmWallet(address, signer)`: any external signer (hardware wallet, KMS, browser bridge) given as a callable
  that receives the message text and returns the 65-byte signature as `0x` hex, as `personal_sign` does.
* `SolanaWallet.from_key(secret)`: ed25519 over the message's UTF-8 bytes with the wallet key (a base58
  64-byte secret key, a 32-byte seed, or a `solana-keygen` JSON byte array). `SolanaWallet(address, signer)`:
  an external signer that receives the message bytes and returns the 64 signature bytes. Either way the
  signature goes out in the documented Base64 JSON envelope (`solana_envelope`).

Wallet objects never show their key: their repr is the chain and the address.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import nacl.signing

from ._tables import CHAIN_BSC, CHAIN_SOLANA, CHAIN_VALUES, ChainValue
from .exceptions import ValidationError
from .signing import b58decode, b58encode

Chain = ChainValue  # the spec's chains
CHAINS = CHAIN_VALUES

T = TypeVar("T")
#: A login `signature`, or an awaitable of it (from an asynchronous external signer).
SignatureResult = str | Awaitable[str]
#: personal_sign: the message text -> the `0x` hex signature (65 bytes, r||s||v), or an awaitable of it.
EvmMessageSigner = Callable[[str], str | Awaitable[str]]
#: ed25519: the message bytes -> the 64-byte signature, or an awaitable of it.
SolanaMessageSigner = Callable[[bytes], bytes | Awaitable[bytes]]

_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX = re.compile(r"[0-9a-fA-F]*")


class Wallet(Protocol):
    """What sign-in needs from a wallet. `sign_challenge` may return an awaitable (async signers)."""

    @property
    def chain(self) -> Chain: ...

    @property
    def address(self) -> str: ...

    def sign_challenge(self, message: str, payload: Mapping[str, Any]) -> SignatureResult:
        """The login `signature` for the challenge `message` (the decoded signedData `payload` comes along)."""
        ...


class _Pending(Generic[T]):
    """An asynchronous signer's result, turned into the login signature once awaited.

    `close()` closes the signer's coroutine, so a sync caller that cannot await it leaves no
    "coroutine was never awaited" behind.
    """

    __slots__ = ("_finish", "_inner")

    def __init__(self, inner: Awaitable[T], finish: Callable[[T], str]) -> None:
        self._inner = inner
        self._finish = finish

    def __await__(self) -> Generator[Any, None, str]:
        return self._run().__await__()

    async def _run(self) -> str:
        return self._finish(await self._inner)

    def close(self) -> None:
        if inspect.iscoroutine(self._inner):
            self._inner.close()


def _then(result: T | Awaitable[T], finish: Callable[[T], str]) -> SignatureResult:
    """Apply `finish` to a signer's result, now or once it is awaited."""
    if inspect.isawaitable(result):
        return _Pending(result, finish)
    return finish(result)


# --- EVM (BSC) ---------------------------------------------------------------------------------------------------


def _eth_account() -> Any:
    try:
        return importlib.import_module("eth_account")
    except ImportError:
        from ._install import install_hint

        raise ImportError(
            f"EVM sign-in from a private key needs eth-account: {install_hint('evm')} "
            "(or sign with an external wallet: EvmWallet(address, signer))"
        ) from None


def evm_signature(value: object) -> str:
    """An EIP-191 signature as login wants it: `0x` + 130 hex digits, with v as 27/28.

    Accepts 65 raw bytes or hex with or without `0x`; a recovery id of 0/1 (as some KMS and hardware
    signers return it) becomes 27/28, as `personal_sign` writes it.
    """
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip().removeprefix("0x").removeprefix("0X")
        if len(text) != 130 or not _HEX.fullmatch(text):
            raise ValidationError("sign_in", "signature", "the signer must return 65 bytes as 0x-prefixed hex")
        raw = bytes.fromhex(text)
    else:
        raise ValidationError("sign_in", "signature", f"the signer returned {type(value).__name__}, not a hex string")
    if len(raw) != 65:
        raise ValidationError("sign_in", "signature", f"expected 65 signature bytes, got {len(raw)}")
    if raw[64] in (0, 1):
        raw = raw[:64] + bytes([raw[64] + 27])
    return "0x" + raw.hex()


class EvmWallet:
    """An EVM (BSC) wallet: EIP-191 personal_sign of the challenge message."""

    __slots__ = ("_address", "_signer")

    def __init__(self, address: str, signer: EvmMessageSigner) -> None:
        """An external signer: `signer(message)` returns the `0x` personal_sign signature of `address`."""
        if not isinstance(address, str) or not _EVM_ADDRESS.fullmatch(address):
            raise ValidationError("wallet", "address", "an EVM address is 0x followed by 40 hex digits")
        self._address = address
        self._signer = signer

    @classmethod
    def from_key(cls, private_key: str | bytes) -> EvmWallet:
        """A wallet from its private key (32 bytes, or 64 hex digits with or without 0x). Needs eth-account."""
        if isinstance(private_key, str):
            text = private_key.strip().removeprefix("0x").removeprefix("0X")
            if len(text) != 64 or not _HEX.fullmatch(text):
                raise ValidationError("wallet", "private_key", "an EVM private key is 32 bytes as 64 hex digits")
            raw = bytes.fromhex(text)
        elif isinstance(private_key, bytes) and len(private_key) == 32:
            raw = private_key
        else:
            raise ValidationError("wallet", "private_key", "an EVM private key is 32 bytes as 64 hex digits")
        eth = _eth_account()
        messages = importlib.import_module("eth_account.messages")
        try:
            account = eth.Account.from_key(raw)
        except ValueError:  # zero or beyond the curve order; the message never repeats the key
            raise ValidationError("wallet", "private_key", "not a valid secp256k1 private key") from None

        def personal_sign(message: str) -> str:
            signed = account.sign_message(messages.encode_defunct(text=message))
            return "0x" + bytes(signed.signature).hex()

        return cls(str(account.address), personal_sign)

    @property
    def chain(self) -> Chain:
        return CHAIN_BSC

    @property
    def address(self) -> str:
        return self._address

    def sign_message(self, message: str) -> SignatureResult:
        """The EIP-191 personal_sign signature of `message`, as `0x` hex."""
        return _then(self._signer(message), evm_signature)

    def sign_challenge(self, message: str, payload: Mapping[str, Any]) -> SignatureResult:
        return self.sign_message(message)

    def __repr__(self) -> str:
        return f"EvmWallet(address={self._address!r})"

    def __reduce__(self) -> str:
        raise TypeError("EvmWallet cannot be pickled")


# --- Solana ------------------------------------------------------------------------------------------------------


def solana_envelope(payload: Mapping[str, Any], signed_message: bytes, signature: bytes, public_key: bytes) -> str:
    """The login `signature` for Solana: standard Base64 of the compact JSON
    `{"input": payload, "output": {"signedMessage": [...], "signature": [...], "account": {"publicKey": [...]}}}`
    (keys in that order, byte arrays as arrays of integers), as the docs build it with `JSON.stringify`.

    `payload` is the decoded signedData payload, in the order it was decoded. Non-ASCII text is kept as
    UTF-8, as `JSON.stringify` does.
    """
    envelope = {
        "input": dict(payload),
        "output": {
            "signedMessage": list(signed_message),
            "signature": list(signature),
            "account": {"publicKey": list(public_key)},
        },
    }
    text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _solana_key(key: str | bytes | Sequence[int]) -> nacl.signing.SigningKey:
    raw: bytes | None
    if isinstance(key, bytes):
        raw = key
    elif isinstance(key, str):
        text = key.strip()
        if text.startswith("["):  # solana-keygen's id.json: a JSON array of the 64 secret key bytes
            try:
                numbers = json.loads(text)
                raw = bytes(numbers) if isinstance(numbers, list) else None
            except (ValueError, TypeError):
                raw = None
        else:
            try:
                raw = b58decode(text)
            except ValueError:
                raw = None
    else:
        try:
            raw = bytes(key)
        except (ValueError, TypeError):
            raw = None
    problem = "a Solana wallet key is base58 of a 64-byte secret key or a 32-byte seed (or a JSON byte array)"
    if raw is None or len(raw) not in (32, 64):
        raise ValidationError("wallet", "secret_key", problem)
    signing_key = nacl.signing.SigningKey(raw[:32])
    if len(raw) == 64 and bytes(signing_key.verify_key) != raw[32:]:
        raise ValidationError("wallet", "secret_key", "the 64-byte secret key's second half is not its public key")
    return signing_key


class SolanaWallet:
    """A Solana wallet: ed25519 over the challenge message, sent in the documented Base64 JSON envelope."""

    __slots__ = ("_address", "_public_key", "_signer")

    def __init__(self, address: str, signer: SolanaMessageSigner) -> None:
        """An external signer: `signer(message_bytes)` returns the 64-byte ed25519 signature of `address`."""
        try:
            public_key = b58decode(address) if isinstance(address, str) else b""
        except ValueError:
            public_key = b""
        if len(public_key) != 32:
            raise ValidationError("wallet", "address", "a Solana address is the base58 of a 32-byte public key")
        self._address = address
        self._public_key = public_key
        self._signer = signer

    @classmethod
    def from_key(cls, secret_key: str | bytes | Sequence[int]) -> SolanaWallet:
        """A wallet from its key: base58 of the 64-byte secret key (as wallets export it) or of the 32-byte
        seed, the raw bytes, or a `solana-keygen` JSON array. The address is the base58 public key."""
        key = _solana_key(secret_key)

        def sign(message: bytes) -> bytes:
            return key.sign(message).signature

        return cls(b58encode(bytes(key.verify_key)), sign)

    @property
    def chain(self) -> Chain:
        return CHAIN_SOLANA

    @property
    def address(self) -> str:
        return self._address

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def sign_challenge(self, message: str, payload: Mapping[str, Any]) -> SignatureResult:
        message_bytes = message.encode("utf-8")

        def envelope(signature: object) -> str:
            if not isinstance(signature, bytes | bytearray) or len(signature) != 64:
                raise ValidationError("sign_in", "signature", "the Solana signer must return 64 signature bytes")
            return solana_envelope(payload, message_bytes, bytes(signature), self._public_key)

        return _then(self._signer(message_bytes), envelope)

    def __repr__(self) -> str:
        return f"SolanaWallet(address={self._address!r})"

    def __reduce__(self) -> str:
        raise TypeError("SolanaWallet cannot be pickled")


def wallet_from_key(chain: str, key: str) -> EvmWallet | SolanaWallet:
    """The wallet of `chain` (one of `CHAINS`) for a private key given as text (see the `from_key`s)."""
    if chain == CHAIN_BSC:
        return EvmWallet.from_key(key)
    if chain == CHAIN_SOLANA:
        return SolanaWallet.from_key(key)
    raise ValidationError("wallet", "chain", f"{chain!r} is not one of: {', '.join(CHAINS)}")


__all__ = [
    "CHAINS",
    "Chain",
    "EvmMessageSigner",
    "EvmWallet",
    "SignatureResult",
    "SolanaMessageSigner",
    "SolanaWallet",
    "Wallet",
    "evm_signature",
    "solana_envelope",
    "wallet_from_key",
]
