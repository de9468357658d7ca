"""Secrets (the JWT, the request-signing key, the wallet key) never show in a repr, a str, an error or a log."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from standx_client import SigningKey
from standx_client.credentials import Credentials, sign_in
from standx_client.exceptions import CredentialsError, SignInError, ValidationError
from standx_client.signing import b58encode
from standx_client.wallets import EvmWallet, SolanaWallet

from tests.signin.conftest import ORDER, evm_key, solana_secret


def _secrets(creds: Credentials) -> list[str]:
    seed = bytes(creds.signing_key._key)
    return [creds.token, creds.token.split(".")[2], b58encode(seed), seed.hex()]


def _assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


def test_reprs_and_strs(url: str) -> None:
    wallet_key = solana_secret()
    wallet = SolanaWallet.from_key(wallet_key)
    creds = sign_in(wallet, auth_url=url)
    secrets = [*_secrets(creds), wallet_key]
    for shown in (repr(creds), str(creds), f"{creds}", repr(creds.signing_key), repr(wallet), str(wallet)):
        _assert_clean(shown, secrets)
    assert "<redacted>" in repr(creds) and creds.public_key in repr(creds) and wallet.address in repr(creds)
    with creds.client(base_url=url) as client:
        _assert_clean(repr(client), secrets)
    evm_secret = evm_key()
    evm = EvmWallet.from_key(evm_secret)
    _assert_clean(repr(evm) + str(evm), [evm_secret, evm_secret[2:]])


def test_no_pickling_of_secrets(url: str) -> None:
    creds = sign_in(EvmWallet.from_key(evm_key()), auth_url=url)
    for value in (creds, creds.signing_key, EvmWallet.from_key(evm_key()), SolanaWallet.from_key(solana_secret())):
        with pytest.raises(TypeError):
            pickle.dumps(value)


def test_errors_carry_no_secrets(url: str, tmp_path: Path) -> None:
    claimed, actual = Account.create(), Account.create()
    actual_key = bytes(actual.key).hex()

    def impostor(message: str) -> str:
        return "0x" + bytes(actual.sign_message(encode_defunct(text=message)).signature).hex()

    with pytest.raises(SignInError) as caught:
        sign_in(EvmWallet(claimed.address, impostor), auth_url=url)
    _assert_clean(str(caught.value) + repr(caught.value) + repr(caught.value.__cause__), [actual_key])

    creds = sign_in(SolanaWallet.from_key(solana_secret()), auth_url=url)
    path = creds.save(tmp_path / "c.json")
    path.chmod(0o644)
    with pytest.raises(CredentialsError) as refused:
        Credentials.load(path)
    _assert_clean(str(refused.value) + repr(refused.value), _secrets(creds))


def test_logs_carry_no_secrets(url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wallet_key = evm_key()
    with caplog.at_level(logging.DEBUG):  # every logger: standx_client, httpx, httpcore, the mock
        creds = sign_in(EvmWallet.from_key(wallet_key), auth_url=url)
        loaded = Credentials.load(creds.save(tmp_path / "c.json"))
        with loaded.client(base_url=url) as client:
            client.new_order(**ORDER)
    assert any(r.name == "standx_client.credentials" and creds.public_key in r.getMessage() for r in caplog.records)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    _assert_clean(text, [*_secrets(creds), wallet_key, wallet_key[2:]])


def test_signing_key_parse_errors_do_not_echo() -> None:
    secret = "3" * 40 + "not-a-key"
    with pytest.raises(ValidationError) as caught:
        Credentials.from_session_export("a.b.c", secret)
    assert secret not in str(caught.value)
    assert SigningKey.generate().public_key_b58 not in repr(caught.value)
