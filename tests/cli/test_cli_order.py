"""`standx order`: checks before anything is signed, a preview with the symbol's fee rate, a confirmation, a dry
run whose signed request verifies under the account's key, and an order whose answer is lost (exit 6)."""

from __future__ import annotations

import base64
import json
import shlex
import time
from decimal import Decimal

import pytest
from standx_mock.server import MockServer

from tests.cli.conftest import CLI, HTTP, Account, mock_orders, raw

BUY = ("order", "place", "BTC-USD", "buy", "0.010", "--price", "120000.10")


def _btc(mock: MockServer) -> dict[str, str]:
    """BTC-USD's symbol info as the mock serves it (plain httpx: not through the client)."""
    (info,) = [s for s in raw(mock, "/api/query_symbol_info") if s["symbol"] == "BTC-USD"]
    return info


def test_confirmed_order_is_placed_exactly_as_typed(cli: CLI, trader: Account, mock: MockServer) -> None:
    done = cli("--json", *BUY, stdin="y\n")
    assert done.code == 0, done.err
    assert "Place this buy order for 0.010 BTC-USD? [y/N]" in done.err
    document = done.json()
    preview, order = document["preview"], document["order"]

    # Preview: money as exact decimal text, the fee at the symbol's taker rate (gtc may take liquidity).
    taker = _btc(mock)["taker_fee"]
    assert (preview["qty"], preview["price"], preview["notional"]) == ("0.010", "120000.10", "1200.00100")
    assert preview["fee_role"] == "taker" and preview["fee_rate"] == taker
    assert Decimal(preview["est_fee"]) == Decimal("1200.00100") * Decimal(taker)
    assert order["cl_ord_id"] == preview["cl_ord_id"] and order["code"] == 0

    (placed,) = mock_orders(mock, trader)
    assert placed["cl_ord_id"] == order["cl_ord_id"]
    assert (placed["qty"], placed["price"], placed["side"]) == ("0.010", "120000.10", "buy")


@pytest.mark.parametrize("answer", ["n\n", "", "yes please\n"])
def test_anything_but_yes_sends_nothing(cli: CLI, trader: Account, mock: MockServer, answer: str) -> None:
    done = cli(*BUY, stdin=answer)
    assert done.code == 1
    assert "aborted: nothing was sent" in done.err
    assert "notional" in done.out and "est_fee" in done.out  # the preview was shown before the question
    assert mock_orders(mock, trader) == []


def test_yes_skips_the_question(cli: CLI, trader: Account, mock: MockServer) -> None:
    done = cli(*BUY, "--yes")  # no stdin at all
    assert done.code == 0, done.err
    assert "[y/N]" not in done.err
    assert len(mock_orders(mock, trader)) == 1
    assert "order status --cl-ord-id" in done.err  # how to follow it


def test_post_only_preview_uses_the_maker_rate(cli: CLI, trader: Account, mock: MockServer) -> None:
    done = cli("--json", *BUY, "--tif", "alo", "--dry-run")
    preview = done.json()["preview"]
    assert preview["fee_role"] == "maker" and preview["fee_rate"] == _btc(mock)["maker_fee"]


def test_dry_run_prints_a_request_that_verifies_and_sends_nothing(cli: CLI, trader: Account, mock: MockServer) -> None:
    done = cli("--json", *BUY, "--dry-run")
    assert done.code == 0, done.err
    request = done.json()["request"]
    headers, body = request["headers"], request["body"]
    assert request["method"] == "POST" and request["url"] == f"{mock.base_url}/api/new_order"
    assert json.loads(body)["qty"] == "0.010" and json.loads(body)["price"] == "120000.10"
    # An independent verifier (PyNaCl with the account's own key), over the documented message.
    message = f"{headers['x-request-sign-version']},{headers['x-request-id']},{headers['x-request-timestamp']},{body}"
    trader.verify_key.verify(message.encode(), base64.b64decode(headers["x-request-signature"]))
    assert headers["authorization"] == "Bearer <redacted>"
    assert mock_orders(mock, trader) == []

    text = cli(*BUY, "--dry-run")
    assert "DRY RUN: nothing was sent" in text.out and "x-request-signature: " in text.out
    assert mock_orders(mock, trader) == []


@pytest.mark.parametrize(
    ("argv", "field", "words"),
    [
        (("BTC-USD", "buy", "0.010", "--price", "120000.005"), "price", "price tick"),
        (("ETH-USD", "buy", "0.005", "--price", "4200"), "qty", "minimum order quantity"),
        (("BTC-USD", "buy", "0.0105", "--price", "120000"), "qty", "lot"),
        (("DOGE-USD", "buy", "1", "--price", "1"), "symbol", "unknown symbol 'DOGE-USD'"),
        (("BTC-USD", "buy", "1e-2", "--price", "120000"), "qty", "positive decimal"),
        (("BTC-USD", "buy", "-1", "--price", "120000"), "qty", "positive decimal"),
        (("BTC-USD", "buy", "0.010"), "price", "price"),  # a limit order needs a price
    ],
)
def test_refused_before_anything_is_signed(
    cli: CLI, trader: Account, mock: MockServer, argv: tuple[str, ...], field: str, words: str
) -> None:
    before = raw(mock, "/mock/stats")["by_operation"].get("new_order", 0)
    done = cli("--json", "order", "place", *argv, "--yes")
    assert done.code == 3, done.err
    error = json.loads(done.err)["error"]
    assert error["exit_code"] == 3 and error["field"] == field and words in error["message"]
    assert done.out == ""
    assert raw(mock, "/mock/stats")["by_operation"].get("new_order", 0) == before


def test_lost_answer_exits_6_with_the_id_and_the_command_that_resolves_it(
    cli: CLI, trader: Account, mock: MockServer
) -> None:
    """The mock executes the order, then drops the connection: the CLI cannot know, and says how to find out."""
    faults = {"drop_rate": 1.0, "when": "after", "operations": ["new_order"]}
    assert HTTP.post(f"{mock.base_url}/mock/faults", json=faults).status_code == 200
    try:
        lost = cli("--json", *BUY, "--yes")
    finally:
        HTTP.delete(f"{mock.base_url}/mock/faults")
    assert lost.code == 6, lost.err
    error = json.loads(lost.err)["error"]
    cl_ord_id = error["cl_ord_id"]
    words = shlex.split(error["resolve"])
    at = words.index("order")
    assert words[at : at + 4] == ["order", "status", "--cl-ord-id", cl_ord_id]
    assert words[at + 4] == "--sent-at" and abs(float(words[at + 5]) - time.time()) < 30  # when it was sent
    assert ["--base-url", mock.base_url] == words[at - 2 : at]  # it reaches the same exchange

    resolved = cli("--json", *words[words.index("standx_client") + 1 :])
    assert resolved.code == 0, resolved.err
    assert resolved.json()["cl_ord_id"] == cl_ord_id
    assert [o["cl_ord_id"] for o in mock_orders(mock, trader)] == [cl_ord_id]  # placed once

    text = cli(*BUY, "--yes", "--cl-ord-id", "01KZZZZZZZZZZZZZZZZZZZZZZZ", stdin="")
    assert text.code == 0  # a fresh id goes through now that the fault is gone


def test_lost_request_resolves_as_never_arrived(cli: CLI, trader: Account, mock: MockServer) -> None:
    """Dropped before it executed: only once its in-flight window has passed is "not found" an answer."""
    faults = {"drop_rate": 1.0, "when": "before", "operations": ["new_order"]}
    assert HTTP.post(f"{mock.base_url}/mock/faults", json=faults).status_code == 200
    try:
        lost = cli("--timeout", "1", *BUY, "--yes")  # a short window: timeout + the client's settle margin
    finally:
        HTTP.delete(f"{mock.base_url}/mock/faults")
    assert lost.code == 6
    cl_ord_id = next(line.split()[-1] for line in lost.err.splitlines() if line.strip().startswith("cl_ord_id:"))
    resolve = next(line.strip() for line in lost.err.splitlines() if "order status --cl-ord-id" in line)
    words = shlex.split(resolve)
    assert "--timeout" in words and "--sent-at" in words

    too_early = cli("order", "status", "--cl-ord-id", cl_ord_id)  # one lookup, no window: cannot tell yet
    assert too_early.code == 6 and "may still land" in too_early.err
    missing = cli(*words[words.index("standx_client") + 1 :])  # waits out the (1 s + margin) window, then knows
    assert missing.code == 5, missing.err
    assert "never arrived" in missing.err and f"--cl-ord-id {cl_ord_id}" in missing.err
    assert mock_orders(mock, trader) == []


def test_cancel_by_either_id_and_cancel_all(cli: CLI, trader: Account, mock: MockServer) -> None:
    for price in ("119000", "119001", "119002"):
        assert cli("order", "place", "BTC-USD", "buy", "0.001", "--price", price, "--yes").code == 0
    first, second, third = mock_orders(mock, trader)
    assert cli("order", "cancel", "--cl-ord-id", first["cl_ord_id"]).code == 0
    assert cli("order", "cancel", "--order-id", str(second["id"])).code == 0
    both = cli("order", "cancel", "--order-id", "1", "--cl-ord-id", "x")
    assert both.code == 2 and "not allowed with argument" in both.err

    declined = cli("order", "cancel-all", "BTC-USD", stdin="n\n")
    assert declined.code == 1 and "Cancel these 1 orders?" in declined.err
    assert cli("--json", "order", "cancel-all", "BTC-USD", "--yes").json()["order_ids"] == [third["id"]]
    statuses = {o["cl_ord_id"]: o["status"] for o in mock_orders(mock, trader)}
    assert set(statuses.values()) == {"canceled"}
    assert cli("--json", "order", "cancel-all", "--yes").json() == {"cancelled": 0, "order_ids": []}
