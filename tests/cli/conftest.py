"""The `standx` command line against the mock exchange on a real loopback socket, mostly in process (main(argv))."""

from __future__ import annotations

import atexit
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import pytest
from standx_client.cli import main
from standx_client.signing import b58encode
from standx_mock.config import MockConfig
from standx_mock.server import MockServer, serve_server

HTTP = httpx.Client(timeout=10.0)
# Closed at exit: test modules import this conftest under a second name, each copy with its own client, whose
# kept-alive sockets to the stopped mock would otherwise be left for interpreter exit (ResourceWarning).
atexit.register(HTTP.close)


@pytest.fixture(scope="package")
def mock() -> Iterator[MockServer]:
    with serve_server(MockConfig(market_maker=True, seed=21, validate_responses=True)) as server:
        yield server


@dataclass
class Account:
    token: str
    user: str
    seed: bytes  # the ed25519 seed: the test's own copy, for an independent verifier and secret scans

    @property
    def key_b58(self) -> str:
        return b58encode(self.seed)

    @property
    def verify_key(self) -> nacl.signing.VerifyKey:
        return nacl.signing.SigningKey(self.seed).verify_key

    def secrets(self) -> list[str]:
        """Every form the secrets could leak in: the JWT, and the key as base58 and hex."""
        return [self.token, self.key_b58, self.seed.hex()]


def new_account(base_url: str, **extra: Any) -> Account:
    key = nacl.signing.SigningKey.generate()
    public = b58encode(bytes(key.verify_key))
    answer = HTTP.post(f"{base_url}/mock/credentials", json={"public_key": public, **extra})
    answer.raise_for_status()
    return Account(answer.json()["token"], answer.json()["user"], bytes(key))


@pytest.fixture
def account(mock: MockServer) -> Account:
    return new_account(mock.base_url)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        import json

        return json.loads(self.out)


class CLI:
    """Runs `standx ...` in process, with the environment a user of the mock would set."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *argv: str, stdin: str = "") -> Result:
        self._capsys.readouterr()
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def sign_in(self, account: Account) -> None:
        self._monkeypatch.setenv("STANDX_JWT", account.token)
        self._monkeypatch.setenv("STANDX_SIGNING_KEY", account.key_b58)


@pytest.fixture
def cli(mock: MockServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CLI:
    """No credentials and no config of the user's: a fresh config directory, the mock as the exchange."""
    import os

    for name in [n for n in os.environ if n.startswith("STANDX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("STANDX_BASE_URL", mock.base_url)
    return CLI(capsys, monkeypatch)


@pytest.fixture
def trader(cli: CLI, account: Account) -> Account:
    """A signed-in account (STANDX_JWT and STANDX_SIGNING_KEY set)."""
    cli.sign_in(account)
    return account


def mock_orders(mock: MockServer, account: Account) -> list[dict[str, Any]]:
    """Every order the mock holds for the account, read through its test-only endpoint (no client code)."""
    answer = HTTP.get(f"{mock.base_url}/mock/orders", params={"user": account.user})
    answer.raise_for_status()
    orders: list[dict[str, Any]] = answer.json()["result"]
    return orders


def raw(mock: MockServer, path: str, **params: Any) -> Any:
    """The mock's answer over plain httpx: expectations that do not come from the client."""
    answer = HTTP.get(f"{mock.base_url}{path}", params=params)
    answer.raise_for_status()
    return answer.json()
