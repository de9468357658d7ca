"""generator/cli_table.py: the everyday commands of the spec's `x-standx-cli` and the stream channels' words, and
the extensions it refuses (generation stops naming the place, instead of a CLI command that fails at run time).

Expected values are written here from the CLI's documented commands (README), never read from `_commands.py`.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))
from cli_table import everyday_commands, stream_words  # noqa: E402
from generate import Spec  # noqa: E402

SPEC_PATH = ROOT / "openapi" / "standx.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _commands(doc: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "standx.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    spec = Spec(path)
    return everyday_commands(spec.doc, spec.operations())


def test_the_everyday_commands(tmp_path: Path) -> None:
    found = {(c["noun"], c["verb"]): c for c in _commands(SPEC, tmp_path)}
    assert {f"{noun} {verb}" for noun, verb in found} == {
        *(f"market {v}" for v in ("price", "depth", "trades", "klines", "symbols", "funding", "overview")),
        *(f"account {v}" for v in ("balance", "positions", "orders", "history", "trades", "funding", "config")),
    }
    klines = found["market", "klines"]
    assert (klines["operation"], klines["positional"], klines["view"]) == ("kline_history", ("symbol",), "klines")
    assert klines["defaults"] == {"resolution": "60", "count_back": 24}  # Python names
    assert klines["window"] == {"start": "from_", "end": "to", "scale": 1, "back": "bars"}  # epoch seconds
    funding = found["market", "funding"]
    assert funding["window"] == {"start": "start_time", "end": "end_time", "scale": 1000, "back": "hours"}  # ms
    assert found["market", "depth"]["columns"] is None
    orders, history = found["account", "orders"], found["account", "history"]
    assert orders["columns"] == history["columns"] and orders["columns"][:4] == ("id", "cl_ord_id", "symbol", "side")
    assert (orders["view"], found["account", "funding"]["view"]) == ("page", None)  # funding answers a bare list


def test_the_stream_words() -> None:
    assert stream_words(SPEC) == {
        "price": "price",
        "depth_book": "depth",
        "public_trade": "trades",
        "order": "orders",
        "position": "positions",
        "balance": "balance",
        "trade": "fills",
        "auth": "auth",
    }


def _cli(doc: dict[str, Any], path: str) -> dict[str, Any]:
    extension: dict[str, Any] = doc["paths"][path]["get"]["x-standx-cli"]
    return extension


PRICE, TRADES, KLINES = "/api/query_symbol_price", "/api/query_recent_trades", "/api/kline/history"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _cli(d, PRICE).update(colour="red"), "query_symbol_price: x-standx-cli: colour: not a key"),
        (lambda d: _cli(d, PRICE).update(view="tree"), r"x-standx-cli.view: 'tree' is not a view the CLI has \(depth"),
        (
            lambda d: _cli(d, TRADES)["columns"].append("funding_rate"),
            "query_recent_trades: x-standx-cli.columns: funding_rate: not a field of the answer",
        ),
        (lambda d: _cli(d, PRICE).update(positional=["side"]), "positional: side: not an argument of the operation"),
        (lambda d: _cli(d, PRICE).update(command="market depth"), "'market depth' is also the command of query_"),
        (lambda d: _cli(d, PRICE).update(command="wallet price"), "'wallet' is not an everyday noun of the CLI"),
        (lambda d: _cli(d, PRICE).update(command="market"), "command: must be a noun and a verb"),
        (lambda d: _cli(d, PRICE).pop("help"), "query_symbol_price: x-standx-cli.help: a one-line help text"),
        (lambda d: _cli(d, KLINES)["window"].update(back="days"), "window.back: 'days' is not a window the CLI has"),
        (lambda d: _cli(d, KLINES)["window"].update(unit="ns"), "window.unit: 'ns' is not a unit the CLI knows"),
        (lambda d: _cli(d, KLINES)["window"].update(end="symbol"), "window.end: symbol is not an integer time"),
        (lambda d: _cli(d, KLINES)["window"].pop("unit"), "window: must give start, end, unit, back"),
        (lambda d: _cli(d, KLINES)["defaults"].update(resolution="7"), r"defaults.resolution: must be one of \["),
        (lambda d: _cli(d, KLINES)["defaults"].update(countBack="24"), "defaults.countBack: must be of type int"),
        (lambda d: _cli(d, KLINES)["defaults"].update(limit=5), "defaults: limit: not an argument"),
        (lambda d: _cli(d, KLINES).update(columns=["o"]), "columns: the klines view makes its own columns"),
        (
            lambda d: _cli(d, "/api/query_funding_rates")["window"].update(back="bars"),
            "window.back: resolution, count_back: not arguments of the operation",
        ),
        (
            lambda d: _cli(d, "/api/query_funding_history").update(view="page"),
            "query_funding_history: x-standx-cli.view: result: not fields of the answer",
        ),
        (lambda d: _cli(d, "/api/query_trades").pop("columns"), "the page view shows the columns given here"),
    ],
)
def test_a_bad_extension_stops_generation(change: Any, message: str, tmp_path: Path) -> None:
    doc = copy.deepcopy(SPEC)
    change(doc)
    with pytest.raises(SystemExit, match=message):
        _commands(doc, tmp_path)


def test_a_stream_word_said_twice_stops_generation() -> None:
    doc = copy.deepcopy(SPEC)
    doc["x-standx-streams"]["market"]["channels"]["balance"]["cli"] = "price"
    with pytest.raises(SystemExit, match=r"channels.balance.cli: 'price' is also the word of channel price"):
        stream_words(doc)
