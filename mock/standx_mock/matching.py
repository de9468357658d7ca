"""Books and matching: order checks, price-time matching of any users' orders, cancels, TP/SL children
and their triggers, the market maker's quotes, and fills against the liquidation engine. Callers hold
`state.lock`."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import accounts
from .config import SymbolConfig
from .enums import (
    ALO,
    BUY,
    CANCELED,
    FILLED,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    OPEN,
    ORDER_TYPES,
    PENDING,
    REJECTED,
    SELL,
    SIDES,
    SOURCE_MARKET_MAKER,
    SOURCE_TPSL,
    SOURCE_USER,
    TIME_IN_FORCE,
    UNTRIGGERED,
)
from .state import EngineError, ExchangeState, Order, PositionConfig, PublicTrade
from .util import ceil_to, dstr, fixed, floor_to, is_multiple, q9, ulid

ZERO = Decimal(0)


def _crosses(is_buy: bool, limit: Decimal, resting: Decimal) -> bool:
    return resting <= limit if is_buy else resting >= limit


# ---------------------------------------------------------------------- new orders


def _check_new_order(
    state: ExchangeState, user: str, p: dict[str, Any]
) -> tuple[SymbolConfig, PositionConfig, Decimal, Decimal | None]:
    cfg = state.symbol_config(str(p["symbol"]))
    if not cfg.enabled:
        raise EngineError(f"symbol {cfg.symbol} is not enabled for trading")
    side, order_type, tif = p["side"], p["order_type"], p["time_in_force"]
    if side not in SIDES:
        raise EngineError(f"invalid side {side!r}")
    if order_type not in ORDER_TYPES:
        raise EngineError(f"invalid order_type {order_type!r}")
    if tif not in TIME_IN_FORCE:
        raise EngineError(f"invalid time_in_force {tif!r}")
    qty = Decimal(str(p["qty"]))
    if not qty.is_finite() or qty <= 0:
        raise EngineError("qty must be positive")
    if not is_multiple(qty, cfg.qty_tick):
        raise EngineError(f"qty {dstr(qty)} is not a multiple of the qty tick {dstr(cfg.qty_tick)}")
    if qty < cfg.min_order_qty:
        raise EngineError(f"qty {dstr(qty)} is below the minimum order qty {dstr(cfg.min_order_qty)}")
    if qty > cfg.max_order_qty:
        raise EngineError(f"qty {dstr(qty)} is above the maximum order qty {dstr(cfg.max_order_qty)}")
    price: Decimal | None = None
    if order_type == LIMIT:
        if p.get("price") is None:
            raise EngineError("price is required for limit orders")
        price = Decimal(str(p["price"]))
        if not price.is_finite() or price <= 0:
            raise EngineError("price must be positive")
        if not is_multiple(price, cfg.price_tick):
            raise EngineError(f"price {dstr(price)} is not a multiple of the price tick {dstr(cfg.price_tick)}")
        mark = state.marks[cfg.symbol]
        high = mark * (1 + cfg.price_cap_ratio)
        low = mark * (1 - cfg.price_floor_ratio)
        if price > high or price < low:
            raise EngineError(
                f"price {dstr(price)} is outside the allowed band [{fixed(low, cfg.price_tick_decimals)}, "
                f"{fixed(high, cfg.price_tick_decimals)}] around the mark price"
            )
    elif p.get("price") is not None:
        raise EngineError("price must not be set for market orders")
    for name in ("tp_price", "sl_price"):
        if p.get(name) is not None and not is_multiple(Decimal(str(p[name])), cfg.price_tick):
            raise EngineError(f"{name} {p[name]} is not a multiple of the price tick {dstr(cfg.price_tick)}")
    pc = accounts.position_config(state, user, cfg.symbol)
    if p.get("margin_mode") is not None and p["margin_mode"] != pc.margin_mode:
        raise EngineError(f"margin_mode {p['margin_mode']} does not match the position's {pc.margin_mode}")
    if p.get("leverage") is not None and int(p["leverage"]) != pc.leverage:
        raise EngineError(f"leverage {p['leverage']} does not match the position's leverage {pc.leverage}")
    if len(state.open_orders(user, cfg.symbol)) >= cfg.max_open_orders:
        raise EngineError(f"too many open orders for {cfg.symbol} (max {cfg.max_open_orders})")
    return cfg, pc, qty, price


def _check_margin(
    state: ExchangeState,
    user: str,
    cfg: SymbolConfig,
    pc: PositionConfig,
    qty: Decimal,
    price: Decimal | None,
    is_buy: bool,
) -> None:
    """Pre-trade margin check on the part of the order that increases exposure."""
    opening = qty - min(qty, _reducible(state, user, cfg.symbol, is_buy))
    if opening <= 0:
        return
    ref = price if price is not None else _market_reference_price(state, cfg.symbol, is_buy)
    required = accounts.order_margin(cfg, opening, ref, pc.leverage)
    free = accounts.available(state, user)
    if required > free:
        raise EngineError(f"insufficient margin: order needs {dstr(required)} DUSD, available {dstr(q9(free))}")


def _add_order(state: ExchangeState, order: Order) -> None:
    state.next_order_id += 1
    state.orders[order.id] = order
    state.orders_by_user.setdefault(order.user, []).append(order)
    state.cl_ord_index.setdefault((order.user, order.cl_ord_id), order)  # a duplicate (accepted) is not indexed
    state.touch(order)


def new_order(state: ExchangeState, user: str, params: dict[str, Any], source: str = SOURCE_USER) -> Order:
    """Check synchronously (EngineError -> 400), then match. Matching outcomes show in the order."""
    state.account(user)
    cfg, pc, qty, price = _check_new_order(state, user, params)
    cl_ord_id = params.get("cl_ord_id")
    now = state.clock.now()
    if cl_ord_id is None or cl_ord_id == "":
        cl_ord_id = ulid(state.order_rng, now)
        while (user, cl_ord_id) in state.cl_ord_index:
            cl_ord_id = ulid(state.order_rng, now)
    elif (user, cl_ord_id) in state.cl_ord_index and state.config.duplicate_cl_ord_id == "reject":
        raise EngineError(f"duplicate cl_ord_id {cl_ord_id!r}")
    reduce_only = bool(params.get("reduce_only", False))
    if not reduce_only:
        _check_margin(state, user, cfg, pc, qty, price, params["side"] == BUY)
    state.seq += 1
    order = Order(
        id=state.next_order_id,
        seq=state.seq,
        user=user,
        symbol=cfg.symbol,
        side=str(params["side"]),
        order_type=str(params["order_type"]),
        time_in_force=str(params["time_in_force"]),
        price=price,
        qty=qty,
        reduce_only=reduce_only,
        cl_ord_id=str(cl_ord_id),
        leverage=pc.leverage,
        margin_mode=pc.margin_mode,
        position_id=accounts.position_id(state, user, cfg.symbol),
        created_at=now,
        updated_at=now,
        source=source,
        tp_price=Decimal(str(params["tp_price"])) if params.get("tp_price") is not None else None,
        sl_price=Decimal(str(params["sl_price"])) if params.get("sl_price") is not None else None,
    )
    _add_order(state, order)
    if source == SOURCE_USER:
        state.orders_created += 1
    _match(state, order)
    return order


def _market_reference_price(state: ExchangeState, symbol: str, is_buy: bool) -> Decimal:
    book = state.books[symbol]
    best = book.best_ask() if is_buy else book.best_bid()
    mark = state.marks[symbol]
    if best is None:
        return mark
    return max(best, mark) if is_buy else min(best, mark)


def _reducible(state: ExchangeState, user: str, symbol: str, is_buy: bool) -> Decimal:
    pos_qty = state.position_qty(user, symbol)
    if is_buy and pos_qty < 0:
        return -pos_qty
    if not is_buy and pos_qty > 0:
        return pos_qty
    return ZERO


def close_order(state: ExchangeState, order: Order, status: str, remark: str = "") -> None:
    """Take an order off the book in its final status (a filled TP/SL parent spawns its children)."""
    state.touch(order)
    order.status = status
    order.locked = ZERO
    order.updated_at = state.clock.now()
    if remark:
        order.remark = f"{order.remark}; {remark}" if order.trigger_kind else remark
    state.books[order.symbol].remove(order)
    if order.fill_qty > 0 and (order.tp_price is not None or order.sl_price is not None):
        _spawn_tp_sl(state, order)


def _pending_reduce_only(state: ExchangeState, user: str, symbol: str, is_buy: bool, exclude: Order) -> Decimal:
    return sum(
        (
            o.remaining
            for o in state.open_orders(user, symbol)
            if o.reduce_only and o.is_buy == is_buy and o is not exclude
        ),
        ZERO,
    )


def closing_order(state: ExchangeState, user: str, symbol: str, side: str, qty: Decimal, **fields: Any) -> Order:
    """A reduce-only market order that closes (part of) a position, not yet booked: a TP/SL child or a
    liquidation. `fields` sets the rest (leverage, margin_mode, position_id, source, remark...)."""
    now = state.clock.now()
    state.seq += 1
    return Order(
        id=state.next_order_id,
        seq=state.seq,
        user=user,
        symbol=symbol,
        side=side,
        order_type=MARKET,
        time_in_force=IOC,
        price=None,
        qty=qty,
        reduce_only=True,
        cl_ord_id=ulid(state.order_rng, now),
        created_at=now,
        updated_at=now,
        **fields,
    )


def _spawn_tp_sl(state: ExchangeState, parent: Order) -> None:
    """Once an order with tp_price / sl_price is done, create its untriggered reduce-only children."""
    if parent.children_created:
        return
    parent.children_created = True
    for kind, trigger in (("tp", parent.tp_price), ("sl", parent.sl_price)):
        if trigger is None:
            continue
        child = closing_order(
            state,
            parent.user,
            parent.symbol,
            SELL if parent.is_buy else BUY,
            parent.fill_qty,
            leverage=parent.leverage,
            margin_mode=parent.margin_mode,
            position_id=parent.position_id,
            status=UNTRIGGERED,
            remark="take profit" if kind == "tp" else "stop loss",
            source=SOURCE_TPSL,
            trigger_kind=kind,
            trigger_price=trigger,
            parent_id=parent.id,
        )
        _add_order(state, child)


def check_triggers(state: ExchangeState, symbol: str) -> None:
    """Fire untriggered TP/SL orders whose trigger the mark price has crossed (one of a pair cancels the other)."""
    mark = state.marks[symbol]
    for child in sorted(
        (o for o in state.orders.values() if o.symbol == symbol and o.status == UNTRIGGERED), key=lambda o: o.id
    ):
        if child.status != UNTRIGGERED:
            continue  # canceled as the sibling of an earlier trigger
        assert child.trigger_price is not None
        closes_long = not child.is_buy
        rising = mark >= child.trigger_price
        falling = mark <= child.trigger_price
        fire = (
            (rising if closes_long else falling) if child.trigger_kind == "tp" else (falling if closes_long else rising)
        )
        if not fire:
            continue
        for sibling in state.orders.values():
            if sibling.parent_id == child.parent_id and sibling is not child and sibling.status == UNTRIGGERED:
                close_order(state, sibling, CANCELED, "canceled: the other TP/SL order triggered")
        state.touch(child)
        child.status = OPEN
        child.updated_at = state.clock.now()
        _match(state, child)


# ---------------------------------------------------------------------- matching


def _match(state: ExchangeState, order: Order) -> None:
    book = state.books[order.symbol]
    opposite = book.opposite(order.is_buy)
    if order.reduce_only:
        reducible = _reducible(state, order.user, order.symbol, order.is_buy)
        if reducible <= 0:
            close_order(state, order, REJECTED, "reduce only order rejected: no position to reduce")
            return
        if order.source != SOURCE_TPSL:
            others = _pending_reduce_only(state, order.user, order.symbol, order.is_buy, order)
            if order.qty > reducible - others:
                close_order(
                    state,
                    order,
                    REJECTED,
                    "reduce only order rejected: qty exceeds the position minus pending reduce-only orders",
                )
                return
    if order.time_in_force == ALO and order.order_type == LIMIT:
        assert order.price is not None
        if opposite and opposite[0].price is not None and _crosses(order.is_buy, order.price, opposite[0].price):
            close_order(state, order, REJECTED, "alo order rejected")
            return
    while order.remaining > 0 and opposite:
        maker = opposite[0]
        assert maker.price is not None
        if order.price is not None and not _crosses(order.is_buy, order.price, maker.price):
            break
        qty = min(order.remaining, maker.remaining)
        if order.reduce_only:
            qty = min(qty, _reducible(state, order.user, order.symbol, order.is_buy))
            if qty <= 0:
                break
        if maker.reduce_only:
            maker_cap = _reducible(state, maker.user, maker.symbol, maker.is_buy)
            if maker_cap <= 0:
                close_order(state, maker, CANCELED, "reduce only order canceled: position closed")
                continue
            qty = min(qty, maker_cap)
        _execute(state, order, maker, maker.price, qty)
    if order.remaining <= 0:
        close_order(state, order, FILLED)
        return
    nothing_to_reduce = order.reduce_only and _reducible(state, order.user, order.symbol, order.is_buy) <= 0
    if order.order_type == LIMIT and order.time_in_force in (GTC, ALO) and not nothing_to_reduce:
        book.add(order)
        order.locked = accounts.order_lock(state, order)
    elif nothing_to_reduce:
        close_order(state, order, CANCELED, "reduce only order canceled: the position is closed")
    else:
        close_order(state, order, CANCELED, "unfilled quantity canceled (no liquidity)")


def _fill(state: ExchangeState, order: Order, price: Decimal, qty: Decimal, is_maker: bool, now: datetime) -> None:
    cfg = state.symbols[order.symbol]
    accounts.apply_fill(state, order, price, qty, cfg.maker_fee if is_maker else cfg.taker_fee, now)
    for waiting in accounts.untriggered_after_close(state, order.user, order.symbol):
        close_order(state, waiting, CANCELED, "canceled: the position is closed")


def _execute(state: ExchangeState, taker: Order, maker: Order, price: Decimal, qty: Decimal) -> None:
    now = state.clock.now()
    _fill(state, maker, price, qty, True, now)
    _fill(state, taker, price, qty, False, now)
    if maker.remaining <= 0:
        close_order(state, maker, FILLED)
    else:
        maker.locked = accounts.order_lock(state, maker)
    pt = PublicTrade(
        id=state.next_public_trade_id, symbol=taker.symbol, price=price, qty=qty, is_buyer_taker=taker.is_buy, time=now
    )
    state.next_public_trade_id += 1
    state.public_trades[taker.symbol].append(pt)
    state.changes.public_trades.append(pt)


def fill_against_liquidator(state: ExchangeState, order: Order, price: Decimal) -> None:
    """Fill a liquidation order whole at `price` against the liquidation engine (no book, no fee)."""
    _add_order(state, order)
    now = state.clock.now()
    accounts.apply_fill(state, order, price, order.qty, ZERO, now)
    close_order(state, order, FILLED)


# ---------------------------------------------------------------------- cancels


def find_order(state: ExchangeState, user: str, order_id: int | None, cl_ord_id: str | None) -> Order:
    order: Order | None = None
    if order_id is not None:
        order = state.orders.get(order_id)
        mismatch = cl_ord_id is not None and order is not None and order.cl_ord_id != cl_ord_id
        if order is not None and (order.user != user or mismatch):
            order = None
    elif cl_ord_id is not None:
        order = state.cl_ord_index.get((user, cl_ord_id))
    if order is None:
        raise EngineError("order not found", 404)
    return order


def cancel_order(state: ExchangeState, user: str, order_id: int | None, cl_ord_id: str | None) -> Order:
    order = find_order(state, user, order_id, cl_ord_id)
    if order.status not in PENDING:
        raise EngineError(f"order {order.id} is not open (status {order.status})")
    close_order(state, order, CANCELED, "canceled by user")
    return order


def cancel_orders(state: ExchangeState, user: str, order_ids: list[int], cl_ord_ids: list[str]) -> list[Order]:
    """Cancel every listed open order of the user; unknown or closed ones are skipped."""
    targets: list[Order] = [o for o in map(state.orders.get, order_ids) if o is not None and o.user == user]
    targets += [o for o in (state.cl_ord_index.get((user, cid)) for cid in cl_ord_ids) if o is not None]
    canceled: list[Order] = []
    for o in targets:
        if o.status in PENDING:
            close_order(state, o, CANCELED, "canceled by user")
            canceled.append(o)
    return canceled


# ---------------------------------------------------------------------- the market maker


def quote_market_maker(state: ExchangeState, symbol: str, levels: int, spread: Decimal) -> list[Order]:
    """Replace the market maker's quotes in `symbol` with `levels` orders per side around the mark. Other
    users' orders that the new quotes cross are filled, as when a real market moves through stale quotes."""
    cfg = state.symbol_config(symbol)
    if levels < 1 or levels > 50:
        raise EngineError("levels must be between 1 and 50")
    if spread <= 0 or spread >= 1:
        raise EngineError("spread must be between 0 and 1 (relative, e.g. 0.0002)")
    mm = accounts.ensure_market_maker(state)
    for o in state.open_orders(mm.user, symbol):
        close_order(state, o, CANCELED, "market maker requote")
    accounts.position_config(state, mm.user, symbol).leverage = cfg.max_leverage
    generation = state.mm_generation.get(symbol, 0)
    state.mm_generation[symbol] = generation + 1
    rng = random.Random(f"market-maker:{state.config.seed}:{symbol}:{generation}")
    mark = state.marks[symbol]
    tick = cfg.price_tick
    best_bid = floor_to(mark * (1 - spread / 2), tick)
    best_ask = ceil_to(mark * (1 + spread / 2), tick)
    if best_ask <= best_bid:
        best_ask = best_bid + tick
    step = max(tick, floor_to(mark * spread / 2, tick))
    placed: list[Order] = []
    for i in range(levels):
        for side, price in ((BUY, best_bid - step * i), (SELL, best_ask + step * i)):
            if price <= 0:
                continue
            qty = min((cfg.min_order_qty * rng.randint(5, 50)).quantize(cfg.qty_tick), cfg.max_order_qty)
            params = {
                "symbol": symbol,
                "side": side,
                "order_type": LIMIT,
                "qty": str(qty),
                "price": str(price),
                "time_in_force": GTC,
                "reduce_only": False,
            }
            placed.append(new_order(state, mm.user, params, source=SOURCE_MARKET_MAKER))
    return placed
