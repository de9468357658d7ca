"""Liquidation: when the mark reaches a position's liquidation price (the `liq_price` that
`query_positions` shows), the exchange cancels the account's open orders in that symbol and closes the
position with a reduce-only market order of source "liquidation" (its `liq_id` set), filled by the
liquidation engine at the mark, or at the bankruptcy price when the mark gapped past it (the account
never loses more than the position's collateral). Callers hold `state.lock`."""

from __future__ import annotations

from . import accounts, matching
from .enums import BUY, CANCELED, SELL, SOURCE_LIQUIDATION
from .state import ExchangeState, Order, Position


def _due(state: ExchangeState, pos: Position) -> bool:
    liq = accounts.liquidation_price(state, pos)
    mark = state.marks[pos.symbol]
    return liq is not None and (mark <= liq if pos.qty > 0 else mark >= liq)


def check(state: ExchangeState, symbol: str | None = None) -> list[Order]:
    """Liquidate every position past its liquidation price (in `symbol`, or everywhere); the orders made."""
    done: list[Order] = []
    for pos in sorted(state.positions.values(), key=lambda p: p.id):
        if pos.qty != 0 and (symbol is None or pos.symbol == symbol) and _due(state, pos):
            done.append(liquidate(state, pos))
    return done


def liquidate(state: ExchangeState, pos: Position) -> Order:
    for order in state.open_orders(pos.user, pos.symbol):
        matching.close_order(state, order, CANCELED, "canceled: liquidation")
    mark = state.marks[pos.symbol]
    bankruptcy = accounts.bankruptcy_price(state, pos)  # after the cancels: their locks are free again
    price = mark
    if bankruptcy is not None and (mark < bankruptcy if pos.qty > 0 else mark > bankruptcy):
        price = bankruptcy
    liq_id = state.next_liquidation_id
    state.next_liquidation_id += 1
    order = matching.closing_order(
        state,
        pos.user,
        pos.symbol,
        SELL if pos.qty > 0 else BUY,
        abs(pos.qty),
        leverage=pos.leverage,
        margin_mode=pos.margin_mode,
        position_id=pos.id,
        remark="liquidation",
        source=SOURCE_LIQUIDATION,
        liq_id=liq_id,
    )
    matching.fill_against_liquidator(state, order, price)
    return order
