"""`standx stream` (NDJSON over the market stream) and `standx auth login|status|logout` (the wallet sign-in into a
0600 credentials file; the former `python -m standx_client login/show`)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from standx_client.credentials import Credentials
from standx_mock.server import MockServer

from tests.cli.conftest import CLI, Account, new_account, raw
from tests.signin.conftest import evm_key, solana_secret

posix = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def test_stream_price_is_ndjson_with_exact_decimals(cli: CLI, mock: MockServer) -> None:
    done = cli("--json", "stream", "price", "BTC-USD", "--count", "1")
    assert done.code == 0, done.err
    (line,) = done.out.splitlines()
    event = json.loads(line)
    assert (event["channel"], event["symbol"]) == ("price", "BTC-USD")
    assert event["data"]["mark_price"] == raw(mock, "/api/query_symbol_price", symbol="BTC-USD")["mark_price"]
    text = cli("stream", "depth", "BTC-USD", "--count", "1")
    assert text.code == 0 and text.out.startswith("1 depth_book BTC-USD")


def test_stream_orders_follows_the_account(cli: CLI, trader: Account, mock: MockServer) -> None:
    """The account channel needs the JWT; orders placed meanwhile arrive as events (the follower is a real
    process: `python -m standx_client`, so its output is its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDX_")}
    env.update(STANDX_BASE_URL=mock.base_url, STANDX_JWT=trader.token)  # no signing key: streams need none
    follower = subprocess.Popen(
        [sys.executable, "-m", "standx_client", "--json", "stream", "orders", "--count", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while follower.poll() is None and time.monotonic() < deadline:
            cli("order", "place", "BTC-USD", "buy", "0.001", "--price", "100000", "--yes")
            time.sleep(0.3)
        out, err = follower.communicate(timeout=10)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    (line,) = out.splitlines()
    event = json.loads(line)
    assert event["channel"] == "order" and event["data"]["price"] == "100000.00"


def test_account_stream_without_credentials_is_exit_4(cli: CLI) -> None:
    done = cli("stream", "orders", "--count", "1")
    assert done.code == 4 and "sign in" in done.err.lower()


@posix
def test_login_status_logout(cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = solana_secret()
    monkeypatch.setenv("STANDX_WALLET_KEY", secret)
    done = cli("--json", "auth", "login", "--chain", "solana", "--expires-seconds", "7200")
    assert done.code == 0, done.err
    shown = done.json()
    path = Path(shown["credentials_file"])
    assert path == tmp_path / "config" / "standx" / "credentials.json"  # the default place
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = Credentials.load(path)
    assert shown["public_key"] == creds.public_key and 7100 < shown["expires_in_s"] <= 7200
    again = cli("auth", "login", "--chain", "solana")
    assert again.code == 2 and "--force" in again.err

    status = cli("--json", "auth", "status").json()
    assert status["source"] == f"file {path}" and status["chain"] == "solana" and status["can_sign"] is True
    assert status["expires_at"].endswith("Z") and status["expired"] is False
    assert cli("--json", "account", "balance").code == 0  # the file signs in every command
    for output in (done.out + done.err, json.dumps(status)):
        assert secret not in output and creds.token not in output

    assert cli("auth", "logout").code == 0 and not path.exists()
    assert cli("auth", "status").code == 4


@posix
def test_login_bsc_from_a_key_file_into_a_profile(cli: CLI, mock: MockServer, tmp_path: Path) -> None:
    key_file = tmp_path / "wallet.key"
    key = evm_key()
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    config = tmp_path / "config" / "standx" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[profiles.mock]\nbase_url = "{mock.base_url}"\n')
    done = cli("--profile", "mock", "auth", "login", "--chain", "bsc", "--key-file", str(key_file))
    assert done.code == 0, done.err
    assert (config.parent / "credentials-mock.json").exists()  # one file per profile: mock and live never mix
    assert key not in done.out + done.err and "warning" not in done.err
    bad = cli("auth", "login", "--chain", "bsc", stdin="")
    assert bad.code == 2 and "STANDX_WALLET_KEY" in bad.err


@posix
def test_unsafe_or_expired_credentials_are_exit_4(cli: CLI, mock: MockServer, tmp_path: Path) -> None:
    from standx_client import SigningKey

    expired = new_account(mock.base_url, expires_seconds=-5)
    file = tmp_path / "creds.json"
    key = SigningKey.parse(expired.key_b58)
    Credentials(token=expired.token, signing_key=key).save(file)
    status = cli("--credentials", str(file), "auth", "status")
    assert status.code == 4 and "expired" in status.out and "expired" in status.err.lower()
    refused = cli("--credentials", str(file), "account", "balance")
    assert refused.code == 4 and refused.out == "" and "TokenExpiredError" not in refused.err  # words, not types
    file.chmod(0o644)
    unsafe = cli("--credentials", str(file), "account", "balance")
    assert unsafe.code == 4 and "chmod 600" in unsafe.err


def test_exchange_refusing_the_token_is_exit_4(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDX_JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    done = cli("--json", "account", "balance")
    assert done.code == 4
    assert json.loads(done.err)["error"]["type"] == "UnauthorizedError"
