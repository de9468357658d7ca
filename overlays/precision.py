"""Tick and lot rules of a symbol, from `query_symbol_info`: round or reject prices and quantities locally.

    (info,) = client.query_symbol_info(symbol="BTC-USD")
    rules = SymbolRules.from_info(info)
    price = rules.round_price(Decimal("121900.123"), side="buy")    # 121900.12: never crosses further
    qty = rules.round_qty(Decimal("0.0567"))                          # 0.056: never more than asked
    rules.check(price=price, qty=qty)                                 # ValidationError if off-tick or out of range

The exchange's rules change (tick sizes differ between doc versions): read them from the API, not constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Context, Decimal
from typing import TYPE_CHECKING

from .exceptions import ValidationError

if TYPE_CHECKING:  # not at run time: the generator imports this module (via _validate) from overlays/
    from ._tables import SideValue
    from .models.symbol_info import SymbolInfo

EXACT = Context(prec=200)  # remainders of any decimal the validator lets out (64 characters): no DivisionImpossible
# Buys round down and sells round up. Typed with the spec's sides, so mypy refuses a key the spec does not list.
_ROUNDING: dict[SideValue, str] = {"buy": ROUND_FLOOR, "sell": ROUND_CEILING}


@dataclass(frozen=True)
class SymbolRules:
    symbol: str
    price_tick: Decimal
    qty_tick: Decimal
    min_qty: Decimal
    max_qty: Decimal | None = None

    @classmethod
    def from_info(cls, info: SymbolInfo) -> SymbolRules:
        max_qty = info.max_order_qty if isinstance(info.max_order_qty, Decimal) else None
        return cls(
            symbol=info.symbol,
            price_tick=Decimal(1).scaleb(-info.price_tick_decimals),
            qty_tick=Decimal(1).scaleb(-info.qty_tick_decimals),
            min_qty=info.min_order_qty,
            max_qty=max_qty,
        )

    def round_price(self, price: Decimal, side: SideValue | None = None) -> Decimal:
        """To the tick: buys round down and sells round up (never a worse price); no side rounds to nearest."""
        rounding = _ROUNDING.get(side) if side is not None else None
        if rounding is None:
            return price.quantize(self.price_tick)
        return price.quantize(self.price_tick, rounding=rounding)

    def round_qty(self, qty: Decimal) -> Decimal:
        """Down to the lot size (never more than asked); ValidationError if that falls below the minimum."""
        rounded = qty.quantize(self.qty_tick, rounding=ROUND_DOWN)
        self._check_qty_range(rounded)
        return rounded

    def check(self, *, price: Decimal | None = None, qty: Decimal | None = None) -> None:
        """Reject (ValidationError naming the field) a price off the tick or a quantity off the lot or range."""
        for field, kind, value in (("price", "tick", price), ("qty", "lot", qty)):
            problem = self.problem(kind, value) if value is not None else None
            if problem:
                raise ValidationError(self.symbol, field, problem)

    def problem(self, kind: str, value: Decimal) -> str | None:
        """What is wrong with a price (`tick`) or a quantity (`lot`) for this symbol, or None."""
        if kind == "tick" and EXACT.remainder(value, self.price_tick) != 0:
            return f"{value} is not a multiple of the price tick {self.price_tick} of {self.symbol}"
        if kind == "lot":
            if EXACT.remainder(value, self.qty_tick) != 0:
                return f"{value} is not a multiple of the lot {self.qty_tick} of {self.symbol}"
            if value < self.min_qty:
                return f"{value} is below the minimum order quantity {self.min_qty} of {self.symbol}"
            if self.max_qty is not None and value > self.max_qty:
                return f"{value} is above the maximum order quantity {self.max_qty} of {self.symbol}"
        return None

    def _check_qty_range(self, qty: Decimal) -> None:
        problem = self.problem("lot", qty)
        if problem:
            raise ValidationError(self.symbol, "qty", problem)
