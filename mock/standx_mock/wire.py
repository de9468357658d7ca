"""The spec's response shapes: records and market data written as the exchange writes them (exact decimal
strings at the symbol's tick decimals, ISO times). Callers hold `state.lock`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from . import accounts, market
from .config import SymbolConfig
from .enums import ISOLATED, QUOTE_ASSET
from .state import ExchangeState, FundingEntry, Order, Position, PublicTrade, Trade
from .util import dstr, fixed, iso, q9

ZERO = Decimal(0)
#: `created_at` / `updated_at` of every symbol in `query_symbol_info`.
SYMBOL_CREATED_AT = datetime(2025, 7, 10, 5, 15, 32, 89568, tzinfo=UTC)


def price_text(state: ExchangeState, symbol: str, value: Decimal | None) -> str | None:
    """A price at the symbol's tick decimals (exact text when it is finer, e.g. a mid price)."""
    if value is None:
        return None
    cfg = state.symbols[symbol]
    return fixed(value, cfg.price_tick_decimals) if value == value.quantize(cfg.price_tick) else dstr(value)


def order_json(state: ExchangeState, o: Order) -> dict[str, Any]:
    cfg = state.symbols[o.symbol]
    avg = ZERO
    if o.fill_qty:
        avg = (o.fill_value / o.fill_qty).quantize(cfg.price_tick / 10**7, rounding=ROUND_HALF_EVEN)
    shown_price = o.price if o.price is not None else o.trigger_price
    return {
        "avail_locked": dstr(o.locked),
        "cl_ord_id": o.cl_ord_id,
        "closed_block": -1,
        "created_at": iso(o.created_at),
        "created_block": -1,
        "fill_avg_price": dstr(avg),
        "fill_qty": dstr(o.fill_qty),
        "id": o.id,
        "leverage": str(o.leverage),
        "liq_id": o.liq_id,
        "margin": dstr(o.margin),
        "order_type": o.order_type,
        "payload": None,
        "position_id": o.position_id,
        "price": fixed(shown_price, cfg.price_tick_decimals) if shown_price is not None else "0",
        "qty": fixed(o.qty, cfg.qty_tick_decimals),
        "reduce_only": o.reduce_only,
        "remark": o.remark,
        "side": o.side,
        "source": o.source,
        "status": o.status,
        "symbol": o.symbol,
        "time_in_force": o.time_in_force,
        "updated_at": iso(o.updated_at),
        "user": o.user,
    }


def trade_json(state: ExchangeState, t: Trade) -> dict[str, Any]:
    cfg = state.symbols[t.symbol]
    return {
        "created_at": iso(t.created_at),
        "fee_asset": QUOTE_ASSET,
        "fee_qty": dstr(t.fee_qty),
        "id": t.id,
        "order_id": t.order_id,
        "pnl": dstr(t.pnl),
        "price": fixed(t.price, cfg.price_tick_decimals),
        "qty": fixed(t.qty, cfg.qty_tick_decimals),
        "side": t.side,
        "symbol": t.symbol,
        "updated_at": iso(t.created_at),
        "user": t.user,
        "value": dstr(t.price * t.qty),
    }


def position_base(state: ExchangeState, pos: Position) -> dict[str, Any]:
    """The fields of a position that need neither the mark nor the balance (StreamPosition sends these)."""
    cfg = state.symbols[pos.symbol]
    return {
        "created_at": iso(pos.created_at),
        "entry_price": dstr(q9(pos.entry_price)),
        "entry_value": dstr(pos.entry_value),
        "id": pos.id,
        "initial_margin": dstr(accounts.initial_margin(pos)),
        "leverage": str(pos.leverage),
        "margin_asset": QUOTE_ASSET,
        "margin_mode": pos.margin_mode,
        "qty": fixed(pos.qty, cfg.qty_tick_decimals),
        "realized_pnl": dstr(pos.realized_pnl),
        "status": "open",
        "symbol": pos.symbol,
        "updated_at": iso(pos.updated_at),
        "user": pos.user,
    }


def position_json(state: ExchangeState, pos: Position) -> dict[str, Any]:
    cfg = state.symbols[pos.symbol]
    base = position_base(state, pos)
    mark = state.marks[pos.symbol]
    upnl = pos.upnl(mark)
    position_value = abs(pos.qty) * mark
    maint_margin = q9(position_value * cfg.maint_margin_rate)
    backing = accounts.collateral(state, pos)  # once: it sums the whole balance
    liq = accounts.liquidation_price(state, pos, backing)
    bankruptcy = accounts.bankruptcy_price(state, pos, backing)
    denominator = backing + upnl
    mmr = q9(maint_margin / denominator * 100) if pos.qty and denominator > 0 else None
    full = {
        **base,
        "bankruptcy_price": fixed(bankruptcy, cfg.price_tick_decimals) if bankruptcy is not None else "0",
        "holding_margin": dstr(pos.isolated_margin) if pos.margin_mode == ISOLATED else base["initial_margin"],
        "liq_price": fixed(liq, cfg.price_tick_decimals) if liq is not None else None,
        "maint_margin": dstr(maint_margin),
        "mark_price": fixed(mark, cfg.price_tick_decimals),
        "mmr": dstr(mmr) if mmr is not None else None,
        "position_value": dstr(position_value),
        "time": iso(state.clock.now()),
        "upnl": dstr(upnl),
    }
    return dict(sorted(full.items()))  # the exchange writes a position's keys in alphabetical order


def balance_json(state: ExchangeState, user: str) -> dict[str, Any]:
    return {k: dstr(v) for k, v in accounts.balance(state, user).items()}


def funding_json(f: FundingEntry) -> dict[str, Any]:
    return {
        "id": f.id,
        "user": f.user,
        "asset": QUOTE_ASSET,
        "symbol": f.symbol,
        "qty": dstr(f.qty),
        "txn_type": "funding",
        "transact_time": iso(f.time),
        "created_at": iso(f.time),
        "updated_at": iso(f.time),
    }


def symbol_info_json(cfg: SymbolConfig) -> dict[str, Any]:
    return {
        "base_asset": cfg.base_asset,
        "base_decimals": cfg.base_decimals,
        "created_at": iso(SYMBOL_CREATED_AT),
        "def_leverage": str(cfg.def_leverage),
        "depth_ticks": cfg.depth_ticks,
        "enabled": cfg.enabled,
        "maker_fee": dstr(cfg.maker_fee),
        "max_leverage": str(cfg.max_leverage),
        "max_open_orders": str(cfg.max_open_orders),
        "max_order_qty": dstr(cfg.max_order_qty),
        "max_position_size": dstr(cfg.max_position_size),
        "min_order_qty": dstr(cfg.min_order_qty),
        "price_cap_ratio": dstr(cfg.price_cap_ratio),
        "price_floor_ratio": dstr(cfg.price_floor_ratio),
        "price_tick_decimals": cfg.price_tick_decimals,
        "qty_tick_decimals": cfg.qty_tick_decimals,
        "quote_asset": cfg.quote_asset,
        "quote_decimals": cfg.quote_decimals,
        "symbol": cfg.symbol,
        "taker_fee": dstr(cfg.taker_fee),
        "updated_at": iso(SYMBOL_CREATED_AT),
    }


def funding_rate_json(state: ExchangeState, symbol: str, when: datetime) -> dict[str, Any]:
    """One row of `query_funding_rates` (the mark stands in for the index; the premium is the rate)."""
    mark = fixed(state.marks[symbol], state.symbols[symbol].price_tick_decimals)
    rate = dstr(market.funding_rate(state, symbol, when))
    period = int(when.timestamp()) // market.funding_interval(state)
    return {
        "id": period,
        "symbol": symbol,
        "funding_rate": rate,
        "index_price": mark,
        "mark_price": mark,
        "premium": rate,
        "time": iso(when),
        "created_at": iso(when),
        "updated_at": iso(when),
    }


def symbol_price_json(state: ExchangeState, symbol: str) -> dict[str, Any]:
    """The SymbolPrice of `query_symbol_price` (the `price` stream pairs its bid and ask into `spread`)."""
    cfg = state.symbols[symbol]
    snap = market.price_snapshot(state, symbol)
    return {
        "base": cfg.base_asset,
        "index_price": price_text(state, symbol, snap["index_price"]),
        "last_price": price_text(state, symbol, snap["last_price"]),
        "mark_price": price_text(state, symbol, snap["mark_price"]),
        "mid_price": price_text(state, symbol, snap["mid_price"]),
        "quote": cfg.quote_asset,
        "spread_ask": price_text(state, symbol, snap["spread_ask"]),
        "spread_bid": price_text(state, symbol, snap["spread_bid"]),
        "symbol": symbol,
        "time": iso(state.clock.now()),
    }


def depth_book_json(state: ExchangeState, symbol: str) -> dict[str, Any]:
    """The DepthBook of `query_depth_book` and of the `depth_book` stream."""
    cfg = state.symbols[symbol]
    book = market.depth(state, symbol)
    return {
        "asks": [[fixed(p, cfg.price_tick_decimals), fixed(q, cfg.qty_tick_decimals)] for p, q in book["asks"]],
        "bids": [[fixed(p, cfg.price_tick_decimals), fixed(q, cfg.qty_tick_decimals)] for p, q in book["bids"]],
        "symbol": symbol,
    }


def public_trade_json(state: ExchangeState, t: PublicTrade) -> dict[str, Any]:
    """A recent trade of `query_recent_trades` and of the `public_trade` stream."""
    cfg = state.symbols[t.symbol]
    return {
        "is_buyer_taker": t.is_buyer_taker,
        "price": fixed(t.price, cfg.price_tick_decimals),
        "qty": fixed(t.qty, cfg.qty_tick_decimals),
        "quote_qty": dstr(t.price * t.qty),
        "symbol": t.symbol,
        "time": iso(t.time),
    }


# ---------------------------------------------------------------------- stream payloads


def stream_price(state: ExchangeState, symbol: str) -> dict[str, Any]:
    """StreamPrice: query_symbol_price's fields, with the best bid and ask as one `spread` pair."""
    price = symbol_price_json(state, symbol)
    price["spread"] = [price.pop("spread_bid"), price.pop("spread_ask")]
    return price


def stream_balance(state: ExchangeState, user: str) -> dict[str, Any]:
    """StreamBalance (wallet view, no unrealized pnl): total = cross + isolated balance, locked = open
    order locks, occupied = position margin, free = the rest. `version`/`updated_at` are added on push."""
    acct = state.account(user)
    bal = accounts.balance(state, user)
    occupied = bal["cross_margin"] + bal["isolated_balance"]
    return {
        "id": user,
        "token": QUOTE_ASSET,
        "total": dstr(bal["balance"]),
        "free": dstr(bal["balance"] - bal["locked"] - occupied),
        "locked": dstr(bal["locked"]),
        "occupied": dstr(occupied),
        "inbound": "0",
        "outbound": "0",
        "account_type": "perps",
        "kind": "user",
        "is_enabled": True,
        "wallet_id": acct.address,
        "created_at": iso(acct.created_at),
    }
