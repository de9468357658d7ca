"""`python -m standx_client login|show` in a subprocess against the mock over TCP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from standx_client.credentials import Credentials

from tests.signin.conftest import ORDER, evm_key, solana_secret

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _run(*args: str, key: str | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDX_")}
    if key is not None:
        env["STANDX_WALLET_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "standx_client", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_login_solana_from_env_then_trade(url: str, tmp_path: Path) -> None:
    key = solana_secret()
    out = tmp_path / "creds.json"
    done = _run("login", "--chain", "solana", "--out", str(out), "--auth-url", url, "--expires-seconds", "7200",
                key=key, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    creds = Credentials.load(out)
    assert creds.chain == "solana" and creds.expires_in is not None and 7100 < creds.expires_in <= 7200
    assert creds.address is not None and creds.address in done.stdout and str(out) in done.stdout
    for secret in (key, creds.token):
        assert secret not in done.stdout + done.stderr
    with creds.client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0

    shown = _run("show", str(out), cwd=tmp_path)
    assert shown.returncode == 0 and creds.public_key in shown.stdout and creds.token not in shown.stdout

    again = _run("login", "--chain", "solana", "--out", str(out), "--auth-url", url, key=key, cwd=tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr and Credentials.load(out).token == creds.token


def test_login_bsc_from_key_file_with_force(url: str, tmp_path: Path) -> None:
    key = evm_key()
    key_file = tmp_path / "wallet.key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    out = tmp_path / "standx-credentials.json"
    out.write_text("old")
    done = _run("login", "--chain", "bsc", "--key-file", str(key_file), "--auth-url", url, "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Credentials.load(out).chain == "bsc"  # the default --out, replaced
    assert key not in done.stdout + done.stderr and "warning" not in done.stderr


def test_login_usage_errors(url: str, tmp_path: Path) -> None:
    missing = _run("login", "--chain", "bsc", "--auth-url", url, cwd=tmp_path)
    assert missing.returncode == 2 and "STANDX_WALLET_KEY" in missing.stderr
    bad = "0x" + "g" * 64
    wrong = _run("login", "--chain", "bsc", "--auth-url", url, key=bad, cwd=tmp_path)
    assert wrong.returncode == 2 and "bad wallet key" in wrong.stderr and bad not in wrong.stderr
    assert not (tmp_path / "standx-credentials.json").exists()
