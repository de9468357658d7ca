"""What scripts and shells rely on: the documented exit codes, secrets never printed, endpoint profiles, shell
completion, and the installed `standx` console script run for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from standx_client import (
    BadRequestError,
    CredentialsError,
    NotFoundError,
    OrderStatusUnknownError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    SignInError,
    TokenExpiredError,
    TransportError,
    UnauthorizedError,
    ValidationError,
)
from standx_client.cli import exit_code
from standx_mock.server import MockServer

from tests.cli.conftest import CLI, Account, mock_orders


def _api(cls: type, status: int) -> Exception:
    return cls("refused", status_code=status)  # type: ignore[no-any-return]


# The table, not the code's: 3 validation, 4 authentication, 5 refused, 6 order status unknown, 7 network.
@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("new_order", "qty", "must be positive"), 3),
        (TokenExpiredError("query_balance", 1), 4),  # also a ValidationError: authentication wins
        (_api(UnauthorizedError, 401), 4),  # also an APIError: authentication wins
        (CredentialsError("readable by others"), 4),
        (SignInError("login", "refused"), 4),
        (_api(BadRequestError, 400), 5),
        (_api(NotFoundError, 404), 5),
        (_api(RateLimitError, 429), 5),
        (_api(ServerError, 503), 5),
        (OrderStatusUnknownError("new_order", "01K", TransportError("dropped")), 6),
        (TransportError("connection refused"), 7),
        (RequestTimeoutError("timed out"), 7),
    ],
)
def test_exit_codes_are_the_documented_ones(error: Exception, code: int) -> None:
    assert exit_code(error) == code


def test_exit_codes_are_documented_in_the_help_and_the_readme(cli: CLI) -> None:
    help_text = cli("--help").out
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for code, words in [(2, "usage"), (3, "validation"), (4, "authentication"), (5, "refused by the exchange"),
                        (6, "order status unknown"), (7, "network")]:  # fmt: skip
        assert f"{code}  {words}" in help_text
        assert f"| {code} | {words}" in readme


def test_secrets_are_never_printed(cli: CLI, trader: Account, mock: MockServer, tmp_path: Path) -> None:
    """Every command family, text and JSON, success and failure: neither the JWT nor the key in any form."""
    from standx_client import SigningKey
    from standx_client.credentials import Credentials

    file = tmp_path / "creds.json"
    Credentials(token=trader.token, signing_key=SigningKey.parse(trader.key_b58)).save(file)
    runs = [
        cli("auth", "status"),
        cli("--json", "auth", "status"),
        cli("--credentials", str(file), "--json", "auth", "status"),
        cli("order", "place", "BTC-USD", "buy", "0.001", "--price", "100000", "--dry-run"),
        cli("--json", "order", "place", "BTC-USD", "buy", "0.001", "--price", "100000", "--dry-run"),
        cli("order", "place", "BTC-USD", "buy", "0.001", "--price", "100000", "--yes"),
        cli("order", "place", "BTC-USD", "buy", "0.001", "--price", "100000.001", "--yes"),
        cli("account", "balance"),
        cli("--json", "account", "orders"),
        cli("--json", "stream", "orders", "--count", "0"),
        cli("api", "trade", "change-leverage", "--symbol", "BTC-USD", "--leverage", "3"),
    ]
    assert [r.code for r in runs] == [0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]
    for secret in trader.secrets():
        leaked = [i for i, r in enumerate(runs) if secret in r.out or secret in r.err]
        assert leaked == [], f"a secret was printed by run(s) {leaked}"
    assert "Bearer <redacted>" in runs[3].out


def test_profiles_point_the_same_commands_elsewhere(
    cli: CLI, mock: MockServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STANDX_BASE_URL")
    config = tmp_path / "standx.toml"
    config.write_text(f'profile = "mock"\n\n[profiles.mock]\nbase_url = "{mock.base_url}"\n\n[profiles.down]\n'
                      'base_url = "http://127.0.0.1:9"\n')  # fmt: skip
    monkeypatch.setenv("STANDX_CONFIG", str(config))
    assert cli("market", "price", "BTC-USD").code == 0  # the default profile
    assert cli("--profile", "down", "--timeout", "1", "market", "price", "BTC-USD").code == 7
    assert cli("--profile", "down", "--base-url", mock.base_url, "market", "price", "BTC-USD").code == 0  # flag wins
    unknown = cli("--profile", "nope", "market", "price", "BTC-USD")
    assert unknown.code == 2 and "no profile 'nope'" in unknown.err and "down, mock" in unknown.err
    config.write_text('[profiles.typo]\nbase_ur = "http://127.0.0.1:1"\n')
    typo = cli("--profile", "typo", "market", "price", "BTC-USD")
    assert typo.code == 2 and "unknown key(s) base_ur" in typo.err


def test_global_options_work_after_the_command_too(cli: CLI) -> None:
    assert json.loads(cli("market", "price", "BTC-USD", "--json").out)["symbol"] == "BTC-USD"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion(cli: CLI, tmp_path: Path) -> None:
    script = tmp_path / "standx.bash"
    script.write_text(cli("completion", "bash").out)

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        probe = (
            f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
            '_standx_complete; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.split()

    assert complete("standx ") == ["market", "account", "order", "stream", "auth", "api", "completion"]
    assert complete("standx order pl") == ["place"]
    assert complete("standx order place BTC-USD buy 1 --type ") == ["limit", "market"]
    assert "--dry-run" in complete("standx order place BTC-USD buy 1 --")
    assert complete("standx api market query-symbol-p") == ["query-symbol-price"]
    assert complete("standx --json api trade new-order --side ") == ["buy", "sell"]
    assert cli("completion", "zsh").out.startswith("autoload -U +X bashcompinit && bashcompinit")


def _standx() -> Path:
    return Path(sys.executable).with_name("standx")


@pytest.mark.skipif(not _standx().exists(), reason="the console script is installed by `make setup`")
def test_the_console_script_against_the_mock(trader: Account, mock: MockServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDX_")}
    env.update(STANDX_BASE_URL=mock.base_url, STANDX_JWT=trader.token, STANDX_SIGNING_KEY=trader.key_b58)
    argv = [_standx(), "--json", "order", "place", "BTC-USD", "sell", "0.001", "--price", "130000", "--yes"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    placed = json.loads(done.stdout)["order"]["cl_ord_id"]
    assert [o["cl_ord_id"] for o in mock_orders(mock, trader)] == [placed]

    usage = subprocess.run([_standx(), "order", "place"], capture_output=True, text=True, env=env, timeout=60)
    assert usage.returncode == 2 and usage.stderr.startswith("usage: standx order place")
    module = subprocess.run([sys.executable, "-m", "standx_client", "--help"], capture_output=True, text=True,
                            env=env, timeout=60)  # fmt: skip
    assert module.returncode == 0 and module.stdout.startswith("usage: python -m standx_client")
    assert httpx.get(f"{mock.base_url}/api/health").text == "OK"
