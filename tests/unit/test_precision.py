"""Tick and lot helpers, with the rules of the docs' query_symbol_info example (tick 0.01, lot 0.001)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from standx_client import ValidationError
from standx_client.models import SymbolInfo
from standx_client.precision import SymbolRules

from tests.conftest import DOC_EXAMPLES

RULES = SymbolRules.from_info(SymbolInfo.from_dict(DOC_EXAMPLES["query_symbol_info"]["response"][0]))


def test_rules_from_the_documented_symbol_info() -> None:
    assert SymbolRules("BTC-USD", Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("100")) == RULES


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [("121900.129", "buy", "121900.12"), ("121900.121", "sell", "121900.13"), ("121900.125", None, "121900.12"),
     ("121900.135", None, "121900.14"), ("121900.1", "buy", "121900.10"), ("-1.005", "buy", "-1.01")],
)  # fmt: skip
def test_round_price_never_worse_for_the_side(price: str, side: str | None, expected: str) -> None:
    assert str(RULES.round_price(Decimal(price), side)) == expected  # type: ignore[arg-type]


def test_round_qty_down_to_the_lot_and_refuse_below_minimum() -> None:
    assert str(RULES.round_qty(Decimal("0.0567"))) == "0.056"
    with pytest.raises(ValidationError, match="below the minimum"):
        RULES.round_qty(Decimal("0.0009"))


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [({"price": Decimal("121900.125")}, "price", "tick"), ({"qty": Decimal("0.0015")}, "qty", "lot"),
     ({"qty": Decimal("100.001")}, "qty", "maximum"), ({"qty": Decimal("0")}, "qty", "minimum")],
)  # fmt: skip
def test_check_rejects_with_the_field_named(kwargs: dict[str, Decimal], field: str, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        RULES.check(**kwargs)
    assert info.value.field == field and text in str(info.value)


def test_check_accepts_on_tick_values() -> None:
    RULES.check(price=Decimal("121900.10"), qty=Decimal("0.060"))


ORDER = {
    "symbol": "BTC-USD",
    "side": "buy",
    "order_type": "limit",
    "qty": "0.010",
    "price": "121900.12",
    "time_in_force": "gtc",
    "reduce_only": False,
}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"price": "121900.125"}, "price", "not a multiple of the price tick 0.01"),
        ({"qty": "0.0105"}, "qty", "not a multiple of the lot 0.001"),
        ({"qty": "0.0001"}, "qty", "not a multiple of the lot"),
        ({"qty": "101"}, "qty", "above the maximum order quantity 100"),
        ({"tp_price": "130000.001"}, "tp_price", "price tick"),
        ({"sl_price": "110000.5555"}, "sl_price", "price tick"),
        ({"qty": "1" + "0" * 40}, "qty", "above the maximum order quantity"),  # no DivisionImpossible
        ({"price": "1" + "0" * 40 + ".001"}, "price", "price tick"),
    ],
)
def test_new_orders_off_the_symbol_rules_are_refused_before_sending(
    change: dict[str, str], field: str, problem: str
) -> None:
    import httpx
    from standx_client import StandX

    from tests.conftest import JWT, SEED_HEX, Recorder, json_response

    recorder = Recorder({"/api/new_order": json_response(DOC_EXAMPLES["new_order"]["response"])})
    client = StandX(
        jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder), symbol_rules={"BTC-USD": RULES}
    )
    with pytest.raises(ValidationError, match=f"new_order: {field}: .*{problem}"):
        client.new_order(**{**ORDER, **change})
    assert recorder.requests == []
    client.new_order(**ORDER)  # on the tick and the lot: sent
    assert len(recorder.requests) == 1


def test_load_symbol_rules_reads_query_symbol_info() -> None:
    import httpx
    from standx_client import AsyncStandX, StandX

    from tests.conftest import JWT, SEED_HEX, Recorder, json_response

    routes = {
        "/api/query_symbol_info": json_response(DOC_EXAMPLES["query_symbol_info"]["response"]),
        "/api/new_order": json_response(DOC_EXAMPLES["new_order"]["response"]),
    }
    recorder = Recorder(routes)
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    assert client.symbol_rules == {}
    assert client.load_symbol_rules() == {"BTC-USD": RULES}
    with pytest.raises(ValidationError, match="price tick"):
        client.new_order(**{**ORDER, "price": "1.001"})
    assert [r.url.path for r in recorder.requests] == ["/api/query_symbol_info"]

    async def run() -> dict[str, SymbolRules]:
        async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder)) as c:
            return await c.load_symbol_rules()

    import asyncio

    assert asyncio.run(run()) == {"BTC-USD": RULES}
