"""`standx market`, `standx account` and `standx api`: the mock's answers, as exact text, in tables and JSON; every
operation of the spec reachable as `api <tag> <operation>`."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from standx_mock.server import MockServer

from tests.cli.conftest import CLI, HTTP, Account, raw

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "standx.yaml"


def test_market_price_is_the_exchanges_exact_text(cli: CLI, mock: MockServer) -> None:
    expected = raw(mock, "/api/query_symbol_price", symbol="BTC-USD")
    done = cli("--json", "market", "price", "BTC-USD")
    assert done.code == 0, done.err
    price = done.json()
    for field in ("mark_price", "index_price", "spread_bid", "spread_ask"):
        assert price[field] == expected[field]  # "121600.00" stays "121600.00": never through float
    table = cli("market", "price", "BTC-USD")
    assert f"mark_price   {expected['mark_price']}" in table.out


def test_market_depth_table_is_best_first(cli: CLI, mock: MockServer) -> None:
    book = raw(mock, "/api/query_depth_book", symbol="BTC-USD")
    best_bid = max(book["bids"], key=lambda level: Decimal(level[0]))
    best_ask = min(book["asks"], key=lambda level: Decimal(level[0]))
    done = cli("market", "depth", "BTC-USD", "--levels", "2")
    header, first, *rest = done.out.splitlines()
    assert header.split() == ["BID_QTY", "BID", "ASK", "ASK_QTY"] and len(rest) == 1
    assert first.split() == [best_bid[1], best_bid[0], best_ask[0], best_ask[1]]
    assert cli("--json", "market", "depth", "BTC-USD").json()["bids"] == book["bids"]


@pytest.mark.parametrize(
    ("argv", "check"),
    [
        (("market", "symbols"), lambda data: {s["symbol"] for s in data} >= {"BTC-USD", "ETH-USD"}),
        (("market", "symbols", "ETH-USD"), lambda data: "ETH-USD" in {s["symbol"] for s in data}),
        (("market", "trades", "BTC-USD"), lambda data: isinstance(data, list)),
        (("market", "funding", "BTC-USD", "--hours", "48"), lambda data: len(data) >= 24),
        (("market", "klines", "BTC-USD", "--resolution", "1"), lambda data: data["s"] in ("ok", "no_data")),
        (("market", "overview"), lambda data: isinstance(data, dict | list)),
    ],
)
def test_market_commands(cli: CLI, argv: tuple[str, ...], check: object) -> None:
    done = cli("--json", *argv)
    assert done.code == 0, done.err
    assert check(done.json())  # type: ignore[operator]
    assert cli(*argv).code == 0  # and as a table


def test_account_commands_show_the_accounts_state(cli: CLI, trader: Account, mock: MockServer) -> None:
    assert cli("order", "place", "BTC-USD", "buy", "0.002", "--type", "market", "--yes").code == 0
    assert cli("order", "place", "BTC-USD", "buy", "0.001", "--price", "110000", "--yes").code == 0

    (position,) = cli("--json", "account", "positions", "BTC-USD").json()
    assert position["qty"] == "0.002"
    balance = cli("--json", "account", "balance").json()
    assert Decimal(balance["cross_balance"]) < Decimal("100000")  # paid the taker fee
    (resting,) = cli("--json", "account", "orders", "BTC-USD").json()["result"]
    assert resting["price"] == "110000.00" and resting["status"] in ("open", "new")
    history = cli("--json", "account", "history", "--limit", "10").json()["result"]
    assert len(history) == 2
    (fill,) = cli("--json", "account", "trades", "BTC-USD").json()["result"]
    assert fill["qty"] == "0.002"

    table = cli("account", "orders")
    assert table.out.splitlines()[0].split()[:4] == ["ID", "CL_ORD_ID", "SYMBOL", "SIDE"]
    assert resting["cl_ord_id"] in table.out
    assert cli("account", "config", "BTC-USD").code == 0


def test_account_funding_lists_the_payments(cli: CLI, trader: Account, mock: MockServer) -> None:
    """The answer is a bare list of payments (not a page): a table of them, and the list itself with --json."""
    assert cli("order", "place", "ETH-USD", "buy", "0.1", "--type", "market", "--yes").code == 0
    settled = HTTP.post(f"{mock.base_url}/mock/funding", json={"symbol": "ETH-USD", "rate": "0.0001"})
    (paid,) = [p for p in settled.json()["payments"] if p["user"] == trader.user]
    done = cli("account", "funding", "ETH-USD")
    assert done.code == 0, done.err
    header, row = done.out.splitlines()
    assert header.split() == ["ID", "SYMBOL", "QTY", "TRANSACT_TIME", "CREATED_AT"]
    assert row.split()[:3] == [str(paid["id"]), "ETH-USD", paid["qty"]]
    listed = cli("--json", "account", "funding", "ETH-USD").json()
    assert [(p["id"], p["symbol"], p["qty"]) for p in listed] == [(paid["id"], "ETH-USD", paid["qty"])]


def _spec_operations() -> dict[str, tuple[str, list[str]]]:
    """operationId -> (tag, the option each argument should have), read from openapi/standx.yaml itself."""
    doc = yaml.safe_load(SPEC.read_text(encoding="utf-8"))

    def resolve(node: dict) -> dict:  # type: ignore[type-arg]
        while "$ref" in node:
            target = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def option(name: str) -> str:
        return "--" + re.sub(r"(?<=[a-z])(?=[A-Z])", "-", name).replace("_", "-").lower()

    found = {}
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in ("get", "post"):
                continue
            names = [resolve(p)["name"] for p in item.get("parameters", []) + op.get("parameters", [])]
            body = op.get("requestBody")
            if body:
                schema = resolve(resolve(body)["content"]["application/json"]["schema"])
                names += list(schema.get("properties", {}))
            found[op["operationId"]] = (op["tags"][0], [option(n) for n in names])
    return found


def test_every_operation_of_the_spec_is_a_command(cli: CLI) -> None:
    operations = _spec_operations()
    assert len(operations) >= 28
    wrong = []
    for operation, (tag, options) in operations.items():
        done = cli("api", tag, operation.replace("_", "-"), "--help")
        if done.code != 0 or not done.out.startswith("usage:"):
            wrong.append(f"{operation}: no command `api {tag} {operation.replace('_', '-')}`")
        wrong += [f"{operation}: no {flag}" for flag in options if not re.search(re.escape(flag) + "[ ,\n]", done.out)]
    assert wrong == []


def test_api_commands_take_the_operations_arguments(cli: CLI, trader: Account, mock: MockServer) -> None:
    assert cli("api", "system", "health").out.strip() == "OK"
    leverage = cli("--json", "api", "trade", "change-leverage", "--symbol", "ETH-USD", "--leverage", "7")
    assert leverage.code == 0, leverage.err
    config = cli("--json", "api", "account", "query_position_config", "--symbol", "ETH-USD").json()
    assert str(config["leverage"]) == "7"
    bad = cli("api", "trade", "change-leverage", "--symbol", "ETH-USD", "--leverage", "seven")
    assert bad.code == 2 and "invalid int value" in bad.err
    missing = cli("api", "market", "query-symbol-price")
    assert missing.code == 2 and "--symbol" in missing.err
    wrong_enum = cli("api", "trade", "change-margin-mode", "--symbol", "BTC-USD", "--margin-mode", "crossed")
    assert wrong_enum.code == 2 and "invalid choice" in wrong_enum.err
    ids = cli("--json", "api", "trade", "cancel-orders", "--cl-ord-id-list", "a1", "b2")
    assert ids.code == 0, ids.err


def test_errors_go_to_stderr_as_json_with_the_documented_code(cli: CLI, mock: MockServer) -> None:
    refused = cli("--json", "market", "price", "NOPE-USD")
    assert refused.code == 5 and refused.out == ""
    error = json.loads(refused.err)["error"]
    assert error["type"] == "BadRequestError" and error["exit_code"] == 5 and error["status_code"] == 400
    unsigned = cli("--json", "account", "balance")
    assert unsigned.code == 4 and json.loads(unsigned.err)["error"]["exit_code"] == 4
    down = cli("--json", "--base-url", "http://127.0.0.1:9", "market", "price", "BTC-USD")
    assert down.code == 7 and json.loads(down.err)["error"]["type"] in ("TransportError", "RequestTimeoutError")
