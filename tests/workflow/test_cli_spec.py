"""The `standx` command line's everyday commands are the spec's `x-standx-cli` (and a stream channel's word its
`cli`): an edit to them reaches the CLI through `make generate` alone, and an extension naming what the CLI or
the operation does not have stops generation with the place and the reason. Expected values are written from the
edit this test makes, never read from the generated table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_helpers import PY, make, repo_copy, run

PRICE_HELP = "what a symbol costs now"  # was "mark, index, last and mid price"
SYMBOLS_COLUMNS = ["symbol", "base_asset", "max_leverage"]  # a column added, others dropped
NEW_COMMAND = {  # an operation that had no everyday command
    "command": "market stats",
    "help": "the 24-hour market of a symbol",
    "positional": ["symbol"],
    "columns": ["symbol", "high_price_24h", "low_price_24h", "funding_rate"],
}
FILLS_WORD = "my-fills"  # the `trade` channel's word, was "fills"


def _edit(spec: Path, change: Any) -> None:
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    change(doc)
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")


def _cli(doc: dict[str, Any], path: str) -> dict[str, Any]:
    extension: dict[str, Any] = doc["paths"][path]["get"]["x-standx-cli"]
    return extension


def edit(doc: dict[str, Any]) -> None:
    _cli(doc, "/api/query_symbol_price")["help"] = PRICE_HELP
    _cli(doc, "/api/query_symbol_info")["columns"] = SYMBOLS_COLUMNS
    doc["paths"]["/api/query_symbol_market"]["get"]["x-standx-cli"] = NEW_COMMAND
    doc["x-standx-streams"]["market"]["channels"]["trade"]["cli"] = FILLS_WORD


# Runs in a fresh interpreter on the copy's generated client and mock: help texts, and tables from the mock.
SCRIPT = """
import contextlib, io, json, sys
import standx_client
from standx_client.cli import main
from standx_mock.config import MockConfig
from standx_mock.server import serve_server

def standx(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return {"code": code, "out": out.getvalue()}

seen = {"client": standx_client.__file__}
seen["market_help"] = standx("market", "--help")
seen["stream_help"] = standx("stream", "--help")
with serve_server(MockConfig(market_maker=True, seed=5)) as server:
    seen["symbols"] = standx("--base-url", server.base_url, "market", "symbols")
    seen["stats"] = standx("--base-url", server.base_url, "market", "stats", "BTC-USD")
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def edited_cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = repo_copy(tmp_path_factory.mktemp("cli-spec"), with_mock=True)
    _edit(repo / "openapi" / "standx.yaml", edit)
    generated = make("generate", cwd=repo)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "generated"), str(repo / "mock")])}
    env.pop("STANDX_BASE_URL", None)
    env["XDG_CONFIG_HOME"] = str(repo / "config")  # no config of the user's
    result = run([PY, "-c", SCRIPT], cwd=repo, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    assert seen["client"].startswith(str(repo))  # the copy's package, not the repository's
    return seen


def test_a_help_text_and_a_new_command_reach_the_cli(edited_cli: dict[str, Any]) -> None:
    listing = edited_cli["market_help"]["out"]
    assert f"price             {PRICE_HELP} (query_symbol_price)" in listing
    assert f"stats             {NEW_COMMAND['help']} (query_symbol_market)" in listing
    stats = edited_cli["stats"]
    assert stats["code"] == 0, stats["out"]
    assert [line.split()[0] for line in stats["out"].splitlines()] == NEW_COMMAND["columns"]  # key/value lines
    assert "BTC-USD" in stats["out"].splitlines()[0]


def test_the_columns_reach_the_table(edited_cli: dict[str, Any]) -> None:
    symbols = edited_cli["symbols"]
    assert symbols["code"] == 0, symbols["out"]
    header, *rows = symbols["out"].splitlines()
    assert header.split() == [c.upper() for c in SYMBOLS_COLUMNS]
    assert {(row.split()[0], row.split()[1]) for row in rows} >= {("BTC-USD", "BTC"), ("ETH-USD", "ETH")}


def test_a_stream_word_reaches_the_cli(edited_cli: dict[str, Any]) -> None:
    listing = edited_cli["stream_help"]["out"]
    assert f"{FILLS_WORD} (trade)" in listing
    assert "fills (trade)" not in listing.replace(FILLS_WORD, "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _cli(d, "/api/query_depth_book").update(view="heatmap"),
            "openapi/standx.yaml: query_depth_book: x-standx-cli.view: 'heatmap' is not a view the CLI has "
            "(depth, klines, page)",
        ),
        (
            lambda d: _cli(d, "/api/query_recent_trades")["columns"].append("fee"),
            "openapi/standx.yaml: query_recent_trades: x-standx-cli.columns: fee: not a field of the answer (it has "
            "symbol, price, qty, quote_qty, is_buyer_taker, time)",
        ),
    ],
    ids=["unknown-view", "column-the-answer-lacks"],
)
def test_a_bad_extension_stops_make_generate(tmp_path: Path, change: Any, message: str) -> None:
    repo = repo_copy(tmp_path)
    _edit(repo / "openapi" / "standx.yaml", change)
    done = make("generate", cwd=repo)
    assert done.returncode != 0
    assert message in done.stderr, done.stdout + done.stderr
    assert not (repo / "generated").exists()  # refused before anything was written
