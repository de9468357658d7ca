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
