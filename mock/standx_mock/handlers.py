"""One function per operationId. Each gets a validated `Context` and returns the JSON body.

The dispatch calls them under the state's lock. Business rejections raise `EngineError`, which the
dispatch answers with its status (400, 404...) and `{code, message, request_id}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import accounts, market, matching, wire
from .config import MockConfig
from .engine import Engine
from .enums import KLINE_NO_DATA, KLINE_OK, NEW, OPEN
from .responses import envelope
from .signin import SignInService
from .state import EngineError, ExchangeState, FundingEntry, Order, Trade
from .util import dstr, fixed, iso, iso_seconds, parse_iso


@dataclass
class Context:
    engine: Engine
    config: MockConfig
    query: dict[str, Any]
    body: Any
    user: str | None
    request_id: str
    #: The wallet sign-in of the auth host (prepare_signin, login, query_certs).
    signin: SignInService | None = None
    #: The order new_order / cancel_order acted on (its outcome goes to the order response stream).
    order: Order | None = None

    @property
    def state(self) -> ExchangeState:
        return self.engine.state

    @property
    def sign_in(self) -> SignInService:
        if self.signin is None:  # pragma: no cover - the app always passes it
            raise EngineError("the sign-in service is not configured", 500)
        return self.signin

    @property
    def account_user(self) -> str:
        if self.user is None:  # pragma: no cover - the spec's security guarantees a user here
            raise EngineError("missing or invalid token", 401)
        return self.user

    def ack(self) -> dict[str, Any]:
        return envelope(0, "success", self.request_id)


@dataclass(frozen=True)
class PlainText:
    text: str


Handler = Callable[[Context], Any]
HANDLERS: dict[str, Handler] = {}


def handler(operation_id: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[operation_id] = fn
        return fn

    return register


def _time_filter(ctx: Context) -> tuple[datetime | None, datetime | None]:
    bounds: list[datetime | None] = []
    for name in ("start", "end"):
        raw = ctx.query.get(name)
        if raw is None:
            bounds.append(None)
            continue
        try:
            bounds.append(parse_iso(str(raw)))
        except ValueError:
            raise EngineError(f"invalid query parameter '{name}': {raw!r} is not an ISO 8601 date-time") from None
    return bounds[0], bounds[1]


def _in_range(when: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or when >= start) and (end is None or when <= end)


def _symbol_arg(ctx: Context) -> str | None:
    symbol = ctx.query.get("symbol")
    if symbol is None:
        return None
    ctx.state.symbol_config(str(symbol))
    return str(symbol)


def _market_symbol(ctx: Context) -> str:
    symbol = str(ctx.query["symbol"])
    ctx.state.symbol_config(symbol)
    return symbol


def _newest_first(items: list[Any], last_id: int | None, limit: int) -> tuple[list[Any], int]:
    """Newest first by id; `last_id` keeps the items with id < last_id. (page, total before the cursor)"""
    ordered = sorted(items, key=lambda x: x.id, reverse=True)
    total = len(ordered)
    if last_id is not None:
        ordered = [x for x in ordered if x.id < last_id]
    return ordered[:limit], total


def _page(
    ctx: Context,
    items: list[Any],
    to_json: Callable[[Any], dict[str, Any]],
    default_limit: int,
    use_last_id: bool = True,
) -> dict[str, Any]:
    page, total = _newest_first(
        items, ctx.query.get("last_id") if use_last_id else None, int(ctx.query.get("limit", default_limit))
    )
    return {
        "code": 0,
        "message": "success",
        "page_size": len(page),
        "result": [to_json(x) for x in page],
        "total": total,
    }


# --------------------------------------------------------------------------- trade


@handler("new_order")
def new_order(ctx: Context) -> Any:
    ctx.order = ctx.engine.new_order(ctx.account_user, ctx.body)
    return ctx.ack()


@handler("cancel_order")
def cancel_order(ctx: Context) -> Any:
    ctx.order = ctx.engine.cancel_order(ctx.account_user, ctx.body.get("order_id"), ctx.body.get("cl_ord_id"))
    return ctx.ack()


@handler("cancel_orders")
def cancel_orders(ctx: Context) -> Any:
    body = ctx.body
    ctx.engine.cancel_orders(ctx.account_user, body.get("order_id_list") or [], body.get("cl_ord_id_list") or [])
    if ctx.config.cancel_orders_response == "array":
        return []
    return ctx.ack()


@handler("change_leverage")
def change_leverage(ctx: Context) -> Any:
    ctx.engine.change_leverage(ctx.account_user, str(ctx.body["symbol"]), int(ctx.body["leverage"]))
    return ctx.ack()


@handler("change_margin_mode")
def change_margin_mode(ctx: Context) -> Any:
    ctx.engine.change_margin_mode(ctx.account_user, str(ctx.body["symbol"]), str(ctx.body["margin_mode"]))
    return ctx.ack()


@handler("transfer_margin")
def transfer_margin(ctx: Context) -> Any:
    ctx.engine.transfer_margin(ctx.account_user, str(ctx.body["symbol"]), Decimal(str(ctx.body["amount_in"])))
    return ctx.ack()


# --------------------------------------------------------------------------- account


@handler("query_order")
def query_order(ctx: Context) -> Any:
    order = matching.find_order(ctx.state, ctx.account_user, ctx.query.get("order_id"), ctx.query.get("cl_ord_id"))
    return wire.order_json(ctx.state, order)


def _order_json(ctx: Context) -> Callable[[Any], dict[str, Any]]:
    return lambda order: wire.order_json(ctx.state, order)


@handler("query_orders")
def query_orders(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    status = ctx.query.get("status")
    if status == NEW:  # the docs' examples show "new" for resting orders
        status = OPEN
    order_type = ctx.query.get("order_type")
    orders = [
        o
        for o in ctx.state.orders_by_user.get(ctx.account_user, [])
        if (symbol is None or o.symbol == symbol)
        and (status is None or o.status == status)
        and (order_type is None or o.order_type == order_type)
        and _in_range(o.created_at, start, end)
    ]
    return _page(ctx, orders, _order_json(ctx), 100)


@handler("query_open_orders")
def query_open_orders(ctx: Context) -> Any:
    orders = ctx.state.open_orders(ctx.account_user, _symbol_arg(ctx))
    return _page(ctx, orders, _order_json(ctx), 500, use_last_id=False)


@handler("query_trades")
def query_trades(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    side = ctx.query.get("side")
    trades: list[Trade] = [
        t
        for t in ctx.state.trades_by_user.get(ctx.account_user, [])
        if (symbol is None or t.symbol == symbol)
        and (side is None or t.side == side)
        and _in_range(t.created_at, start, end)
    ]
    return _page(ctx, trades, lambda t: wire.trade_json(ctx.state, t), 100)


@handler("query_funding_history")
def query_funding_history(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    entries: list[FundingEntry] = [
        f
        for f in ctx.state.funding
        if f.user == ctx.account_user and (symbol is None or f.symbol == symbol) and _in_range(f.time, start, end)
    ]
    page, _ = _newest_first(entries, ctx.query.get("last_id"), int(ctx.query.get("limit", 100)))
    return [wire.funding_json(f) for f in page]


@handler("query_position_config")
def query_position_config(ctx: Context) -> Any:
    symbol = str(ctx.query["symbol"])
    pc = accounts.position_config(ctx.state, ctx.account_user, symbol)
    # The live API sends leverage as a string ("10"); the docs show an integer. The spec allows both.
    return {"symbol": symbol, "leverage": str(pc.leverage), "margin_mode": pc.margin_mode}


@handler("query_positions")
def query_positions(ctx: Context) -> Any:
    return [wire.position_json(ctx.state, p) for p in ctx.state.user_positions(ctx.account_user, _symbol_arg(ctx))]


@handler("query_balance")
def query_balance(ctx: Context) -> Any:
    return wire.balance_json(ctx.state, ctx.account_user)


# --------------------------------------------------------------------------- market


@handler("query_symbol_info")
def query_symbol_info(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    return [wire.symbol_info_json(cfg) for cfg in ctx.config.symbols if symbol is None or cfg.symbol == symbol]


@handler("query_symbol_price")
def query_symbol_price(ctx: Context) -> Any:
    return wire.symbol_price_json(ctx.state, _market_symbol(ctx))


@handler("query_symbol_market")
def query_symbol_market(ctx: Context) -> Any:
    state = ctx.state
    symbol = _market_symbol(ctx)
    cfg = state.symbols[symbol]
    snap = market.price_snapshot(state, symbol)
    stats = market.stats_24h(state, symbol)
    now = state.clock.now()
    bid, ask = snap["spread_bid"], snap["spread_ask"]
    fallback = snap["last_price"] if snap["last_price"] is not None else snap["mark_price"]

    def price(value: Decimal | None) -> str | None:
        return wire.price_text(state, symbol, value)

    return {
        "base": cfg.base_asset,
        "funding_rate": dstr(market.funding_rate(state, symbol, now)),
        "high_price_24h": price(stats["high"] if stats["high"] is not None else fallback),
        "index_price": price(snap["index_price"]),
        "last_price": price(snap["last_price"]),
        "low_price_24h": price(stats["low"] if stats["low"] is not None else fallback),
        "mark_price": price(snap["mark_price"]),
        "mid_price": price(snap["mid_price"]),
        "next_funding_time": iso_seconds(market.next_funding_time(state)),
        "open_interest": fixed(market.open_interest(state, symbol), cfg.qty_tick_decimals),
        "quote": cfg.quote_asset,
        "spread": [price(bid), price(ask)] if bid is not None and ask is not None else None,
        "symbol": symbol,
        "time": iso(now),
        "volume_24h": dstr(stats["volume"]),
    }


@handler("query_market_overview")
def query_market_overview(ctx: Context) -> Any:
    state = ctx.state
    symbols: list[dict[str, Any]] = []
    total_oi = Decimal(0)
    total_volume = Decimal(0)
    now = state.clock.now()
    for cfg in ctx.config.symbols:
        snap = market.price_snapshot(state, cfg.symbol)
        stats = market.stats_24h(state, cfg.symbol)
        oi = market.open_interest(state, cfg.symbol)
        mark = state.marks[cfg.symbol]
        oi_notional = oi * mark
        quote_volume = stats["quote_volume"]
        last, first = snap["last_price"], stats["open"]
        change = (last - first) / first * 100 if last is not None and first else Decimal(0)
        total_oi += oi_notional
        total_volume += quote_volume
        symbols.append(
            {
                "base": cfg.base_asset,
                "funding_rate": dstr(market.funding_rate(state, cfg.symbol, now)),
                "last_price": wire.price_text(state, cfg.symbol, last),
                "mark_price": wire.price_text(state, cfg.symbol, mark),
                "open_interest": dstr(oi),
                "open_interest_notional": dstr(oi_notional),
                # A JSON number in the docs; written from the exact Decimal, never through float.
                "price_change_pct": change.quantize(Decimal("1e-12")).normalize() if change else Decimal(0),
                "quote": cfg.quote_asset,
                "symbol": cfg.symbol,
                "time": iso(now),
                "volume_24h": dstr(stats["volume"]),
                "volume_quote_24h": dstr(quote_volume),
            }
        )
    return {
        "summary": {
            "open_interest_notional": dstr(total_oi),
            "symbol_count": len(symbols),
            "volume_quote_24h": dstr(total_volume),
        },
        "symbols": symbols,
    }


@handler("query_depth_book")
def query_depth_book(ctx: Context) -> Any:
    return wire.depth_book_json(ctx.state, _market_symbol(ctx))


@handler("query_recent_trades")
def query_recent_trades(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    return [wire.public_trade_json(ctx.state, t) for t in market.recent_trades(ctx.state, symbol)]


@handler("query_funding_rates")
def query_funding_rates(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    start, end = int(ctx.query["start_time"]), int(ctx.query["end_time"])
    if start > end:
        raise EngineError("start_time must not be after end_time")
    return [wire.funding_rate_json(ctx.state, symbol, t) for t in market.funding_periods(ctx.state, symbol, start, end)]


# --------------------------------------------------------------------------- kline & system


@handler("kline_time")
def kline_time(ctx: Context) -> Any:
    return int(ctx.state.clock.timestamp())


@handler("kline_history")
def kline_history(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    q = ctx.query
    bars = market.kline(ctx.state, symbol, str(q["resolution"]), int(q["from"]), int(q["to"]), q.get("countBack"))
    if bars is None:
        return {"s": KLINE_NO_DATA}
    return {"s": KLINE_OK, **bars}


@handler("health")
def health(ctx: Context) -> Any:
    return PlainText("OK")


@handler("query_region")
def query_region(ctx: Context) -> Any:
    return {"systemTime": int(ctx.state.clock.timestamp() * 1000), "region": ctx.config.region}


# --------------------------------------------------------------------------- auth host (wallet sign-in)


@handler("prepare_signin")
def prepare_signin(ctx: Context) -> Any:
    return ctx.sign_in.prepare(str(ctx.query["chain"]), str(ctx.body["address"]), str(ctx.body["requestId"]))


@handler("login")
def login(ctx: Context) -> Any:
    expires = ctx.body.get("expiresSeconds")
    return ctx.sign_in.login(
        str(ctx.query["chain"]),
        str(ctx.body["signature"]),
        str(ctx.body["signedData"]),
        None if expires is None else int(expires),
    )


@handler("query_certs")
def query_certs(ctx: Context) -> Any:
    return ctx.sign_in.certs()
