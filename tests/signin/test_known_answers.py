"""Known answers: EIP-191 personal_sign against published vectors, and the exact Solana login envelope.

EVM vectors (the expected signatures are copied from the cited pages, not computed here):

* eth-account's own documentation, `Account.sign_message` (eth-account 0.14.0,
  https://eth-account.readthedocs.io/en/stable/eth_account.html#eth_account.account.Account.sign_message,
  the doctest in eth_account/account.py): key 0xb25c7db3...b364, message "I♥SF", signature 0xe6ca9bba...ce1c;
  its `recover_message` doctest gives the signer 0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E.
* viem's documentation, `signMessage` (https://viem.sh/docs/actions/wallet/signMessage): "hello world" signed by
  its example account, the well-known Anvil/Hardhat default account #0 (0xf39Fd6e5...2266), is 0xa461f509...5b1b.

Solana: a fixed seed (bytes 0..31) and the docs' example signedData payload. The expected envelope is built here
from the documented structure (perps-auth-svm-example: `JSON.stringify({input: payload, output: {signedMessage,
signature, account: {publicKey}}})`, Base64) by string concatenation, with the ed25519 signature from
`cryptography` (not PyNaCl, which the client uses), and is also pinned as a literal.
"""

from __future__ import annotations

import base64
import json
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from standx_client.exceptions import ValidationError
from standx_client.signing import b58encode
from standx_client.wallets import EvmWallet, SolanaWallet, evm_signature, solana_envelope

EVM_VECTORS = [
    (  # eth-account docs, Account.sign_message / Account.recover_message
        "0xb25c7db31feed9122727bf0939dc769a96564b2de4c4726d035b36ecf1e5b364",
        "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E",
        "I♥SF",
        "0xe6ca9bba58c88611fad66a6ce8f996908195593807c4b38bd528d2cff09d4eb3"
        "3e5bfbbf4d3e39b1a2fd816a7680c19ebebaf3a141b239934ad43cb33fcec8ce1c",
    ),
    (  # viem docs, signMessage, with the Anvil/Hardhat default account #0
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "hello world",
        "0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1"
        "5fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b",
    ),
]


@pytest.mark.parametrize(("key", "address", "message", "signature"), EVM_VECTORS)
def test_evm_personal_sign_published_vectors(key: str, address: str, message: str, signature: str) -> None:
    wallet = EvmWallet.from_key(key)
    assert wallet.address == address
    assert wallet.sign_message(message) == signature
    assert wallet.sign_challenge(message, {"message": message}) == signature
    assert EvmWallet.from_key(key.removeprefix("0x")).sign_message(message) == signature
    assert EvmWallet.from_key(bytes.fromhex(key[2:])).sign_message(message) == signature


def test_evm_signature_normalisation() -> None:
    signature = EVM_VECTORS[0][3]
    raw = bytes.fromhex(signature[2:])
    assert evm_signature(raw) == signature
    assert evm_signature(signature[2:].upper()) == signature
    assert evm_signature(raw[:64] + bytes([raw[64] - 27])) == signature  # recovery id 0/1 -> v 27/28
    for bad in ("0x1234", "0x" + "zz" * 65, raw[:64], 42):
        with pytest.raises(ValidationError):
            evm_signature(bad)


def test_evm_bad_keys_are_refused_without_echo() -> None:
    for bad in ("0x1234", "0x" + "00" * 32, "nothex" * 11):
        with pytest.raises(ValidationError) as caught:
            EvmWallet.from_key(bad)
        assert bad not in str(caught.value)
    with pytest.raises(ValidationError):
        EvmWallet("0x1234", lambda m: m)


SEED = bytes(range(32))
ADDRESS = "FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF"  # base58 public key of SEED (standx-api-notes 2.8)
# The docs' "Example signedData Payload" (perps-auth), key order kept, with this wallet's address.
PAYLOAD = {
    "domain": "standx.com",
    "uri": "https://standx.com",
    "statement": "Sign in with Ethereum to access more StandX features...",
    "version": "1",
    "chainId": 56,
    "nonce": "74Gd7Plf3a1TMVElc",
    "address": ADDRESS,
    "requestId": "<requestId>",
    "issuedAt": "2025-10-12T17:46:44.731Z",
    "message": "standx.com wants you to sign in with your Ethereum account:\n...",
    "exp": 1760291384,
    "iat": 1760291204,
}
ENVELOPE = (
    "eyJpbnB1dCI6eyJkb21haW4iOiJzdGFuZHguY29tIiwidXJpIjoiaHR0cHM6Ly9zdGFuZHguY29tIiwic3RhdGVtZW50IjoiU2ln"
    "biBpbiB3aXRoIEV0aGVyZXVtIHRvIGFjY2VzcyBtb3JlIFN0YW5kWCBmZWF0dXJlcy4uLiIsInZlcnNpb24iOiIxIiwiY2hhaW5J"
    "ZCI6NTYsIm5vbmNlIjoiNzRHZDdQbGYzYTFUTVZFbGMiLCJhZGRyZXNzIjoiRkFlNHNpc0c5NW9aNDJ3N2J1VW41cUVFNFRBbmZU"
    "VEZQaWd1WlVIbWhpRiIsInJlcXVlc3RJZCI6IjxyZXF1ZXN0SWQ+IiwiaXNzdWVkQXQiOiIyMDI1LTEwLTEyVDE3OjQ2OjQ0Ljcz"
    "MVoiLCJtZXNzYWdlIjoic3RhbmR4LmNvbSB3YW50cyB5b3UgdG8gc2lnbiBpbiB3aXRoIHlvdXIgRXRoZXJldW0gYWNjb3VudDpc"
    "bi4uLiIsImV4cCI6MTc2MDI5MTM4NCwiaWF0IjoxNzYwMjkxMjA0fSwib3V0cHV0Ijp7InNpZ25lZE1lc3NhZ2UiOlsxMTUsMTE2"
    "LDk3LDExMCwxMDAsMTIwLDQ2LDk5LDExMSwxMDksMzIsMTE5LDk3LDExMCwxMTYsMTE1LDMyLDEyMSwxMTEsMTE3LDMyLDExNiwx"
    "MTEsMzIsMTE1LDEwNSwxMDMsMTEwLDMyLDEwNSwxMTAsMzIsMTE5LDEwNSwxMTYsMTA0LDMyLDEyMSwxMTEsMTE3LDExNCwzMiw2"
    "OSwxMTYsMTA0LDEwMSwxMTQsMTAxLDExNywxMDksMzIsOTcsOTksOTksMTExLDExNywxMTAsMTE2LDU4LDEwLDQ2LDQ2LDQ2XSwi"
    "c2lnbmF0dXJlIjpbMTEsNTUsMTMsMTAzLDM1LDE2OSw5NiwxNTIsMTU2LDE1NCwxNzgsNTEsNjQsMjMyLDksMTkzLDM4LDM5LDUs"
    "ODMsMTM2LDExNiwxNDgsMjEyLDEwNCwyMDUsMTc3LDU0LDE3MCwxMDQsMTM1LDE5MywyMDMsOCwxMDMsMjQ1LDIyNCw5OSwxNDgs"
    "NjAsMTAzLDczLDg4LDIzOSwyMDgsMTM0LDU2LDE0NywxMzAsMjU1LDcxLDIxLDIyOSw0NywyNTQsMTUzLDIzMCwxMTEsODQsODcs"
    "MjEzLDIxOCw2NSwxXSwiYWNjb3VudCI6eyJwdWJsaWNLZXkiOlszLDE2MSw3LDE5MSwyNDMsMjA2LDE2LDE5MCwyOSwxMTIsMjIx"
    "LDI0LDIzMSw3NSwxOTIsMTUzLDEwMywyMjgsMjE0LDQ4LDE1NSwxNjUsMTMsOTUsMjksMjIwLDEzNCwxMDAsMTgsODUsNDksMTg0"
    "XX19fQ=="
)


def _ints(data: bytes) -> str:
    return ",".join(str(b) for b in data)


def _independent_envelope(payload: dict[str, object], seed: bytes) -> str:
    """The documented structure, written out by hand (compact JSON, key order input/output/signedMessage/
    signature/account.publicKey, byte arrays of integers, UTF-8, standard Base64)."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    message = str(payload["message"]).encode("utf-8")
    text = (
        '{"input":' + json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        + ',"output":{"signedMessage":[' + _ints(message)
        + '],"signature":[' + _ints(key.sign(message))
        + '],"account":{"publicKey":[' + _ints(key.public_key().public_bytes_raw()) + "]}}}"
    )  # fmt: skip
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_solana_envelope_known_answer() -> None:
    assert _independent_envelope(PAYLOAD, SEED) == ENVELOPE
    wallet = SolanaWallet.from_key(
        b58encode(SEED + Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw())
    )
    assert wallet.address == ADDRESS
    assert wallet.sign_challenge(str(PAYLOAD["message"]), PAYLOAD) == ENVELOPE
    decoded = json.loads(base64.b64decode(ENVELOPE))
    assert list(decoded) == ["input", "output"] and list(decoded["output"]) == ["signedMessage", "signature", "account"]
    assert decoded["input"] == PAYLOAD and list(decoded["input"]) == list(PAYLOAD)


def test_solana_envelope_keeps_utf8_and_payload_order() -> None:
    payload = {"z": 1, "message": 'sign in ♥ naïve\n"quoted"', "a": "é"}
    assert solana_envelope(
        payload,
        str(payload["message"]).encode(),
        Ed25519PrivateKey.from_private_bytes(SEED).sign(str(payload["message"]).encode()),
        Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw(),
    ) == _independent_envelope(payload, SEED)


def test_solana_key_forms() -> None:
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key().public_bytes_raw()
    for key in (b58encode(SEED + public), b58encode(SEED), SEED + public, json.dumps(list(SEED + public)), list(SEED)):
        assert SolanaWallet.from_key(key).address == ADDRESS
    other = bytes(32 * [7])
    for bad in (b58encode(SEED + other), "not base58 0OIl", b58encode(SEED[:31]), "[1, 2, 300]"):
        with pytest.raises(ValidationError) as caught:
            SolanaWallet.from_key(bad)
        assert b58encode(SEED) not in str(caught.value)
    with pytest.raises(ValidationError):
        SolanaWallet("0x" + "ab" * 20, lambda m: m)


def test_missing_eth_account_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_account", None)  # as if `pip install .[evm]` had not been run
    with pytest.raises(ImportError, match=r"standx-client\[evm\]"):
        EvmWallet.from_key(EVM_VECTORS[0][0])
    wallet = EvmWallet(EVM_VECTORS[0][1], lambda message: EVM_VECTORS[0][3])  # external signers need nothing
    assert wallet.sign_message("I♥SF") == EVM_VECTORS[0][3]
