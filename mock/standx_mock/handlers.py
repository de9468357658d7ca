"""One function per operationId. Each gets a validated `Context` and returns the JSON body.

Business rejections raise `EngineError` (HTTP 400/404 with `{code, message, request_id}`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .config import MockConfig
from .engine import OPEN, Engine, EngineError, FundingEntry, Order, PublicTrade, Trade, paginate
from .signin import SignInService
from .spec import Operation
from .util import dstr, fixed, iso, iso_seconds, parse_iso

SYMBOL_CREATED_AT = datetime(2025, 7, 10, 5, 15, 32, 89568, tzinfo=UTC)


@dataclass
class Context:
    engine: Engine
    config: MockConfig
    op: Operation
    query: dict[str, Any]
    body: Any
    headers: dict[str, str]
    user: str | None
    request_id: str
    #: The wallet sign-in of the auth host (prepare_signin, login, query_certs).
    signin: SignInService | None = None
    #: The order new_order / cancel_order acted on (its outcome goes to the order response stream).
    order: Order | None = None

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
        return {"code": 0, "message": "success", "request_id": self.request_id}


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


def _symbol_arg(ctx: Context, source: dict[str, Any] | None = None) -> str | None:
    symbol = (ctx.query if source is None else source).get("symbol")
    if symbol is None:
        return None
    ctx.engine.symbol_config(str(symbol))
    return str(symbol)


def _page(
    ctx: Context,
    items: list[Any],
    to_json: Callable[[Any], dict[str, Any]],
    default_limit: int,
    use_last_id: bool = True,
) -> dict[str, Any]:
    page = paginate(
        items,
        last_id=ctx.query.get("last_id") if use_last_id else None,
        limit=int(ctx.query.get("limit", default_limit)),
    )
    return {
        "code": 0,
        "message": "success",
        "page_size": len(page.items),
        "result": [to_json(x) for x in page.items],
        "total": page.total,
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
    order = ctx.engine.find_order(ctx.account_user, ctx.query.get("order_id"), ctx.query.get("cl_ord_id"))
    return ctx.engine.order_json(order)


@handler("query_orders")
def query_orders(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    status = ctx.query.get("status")
    if status == "new":  # the docs' examples show "new" for resting orders
        status = OPEN
    order_type = ctx.query.get("order_type")
    with ctx.engine.lock:
        orders = [
            o
            for o in ctx.engine.orders_by_user.get(ctx.account_user, [])
            if (symbol is None or o.symbol == symbol)
            and (status is None or o.status == status)
            and (order_type is None or o.order_type == order_type)
            and _in_range(o.created_at, start, end)
        ]
        return _page(ctx, orders, ctx.engine.order_json, 100)


@handler("query_open_orders")
def query_open_orders(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    with ctx.engine.lock:
        orders = ctx.engine.open_orders(ctx.account_user, symbol)
        return _page(ctx, orders, ctx.engine.order_json, 500, use_last_id=False)


@handler("query_trades")
def query_trades(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    side = ctx.query.get("side")
    with ctx.engine.lock:
        trades: list[Trade] = [
            t
            for t in ctx.engine.trades_by_user.get(ctx.account_user, [])
            if (symbol is None or t.symbol == symbol)
            and (side is None or t.side == side)
            and _in_range(t.created_at, start, end)
        ]
        return _page(ctx, trades, ctx.engine.trade_json, 100)


@handler("query_funding_history")
def query_funding_history(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    start, end = _time_filter(ctx)
    with ctx.engine.lock:
        entries: list[FundingEntry] = [
            f
            for f in ctx.engine.funding
            if f.user == ctx.account_user and (symbol is None or f.symbol == symbol) and _in_range(f.time, start, end)
        ]
        page = paginate(entries, last_id=ctx.query.get("last_id"), limit=int(ctx.query.get("limit", 100)))
        return [ctx.engine.funding_json(f) for f in page.items]


@handler("query_position_config")
def query_position_config(ctx: Context) -> Any:
    symbol = str(ctx.query["symbol"])
    with ctx.engine.lock:
        pc = ctx.engine.position_config(ctx.account_user, symbol)
        # The live API sends leverage as a string ("10"); the docs show an integer. The spec allows both.
        return {"symbol": symbol, "leverage": str(pc.leverage), "margin_mode": pc.margin_mode}


@handler("query_positions")
def query_positions(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    with ctx.engine.lock:
        positions = sorted(
            (
                p
                for (u, s), p in ctx.engine.positions.items()
                if u == ctx.account_user and (symbol is None or s == symbol)
            ),
            key=lambda p: p.id,
        )
        return [ctx.engine.position_json(p) for p in positions]


@handler("query_balance")
def query_balance(ctx: Context) -> Any:
    bal = ctx.engine.balance(ctx.account_user)
    return {k: dstr(v) for k, v in bal.items()}


# --------------------------------------------------------------------------- market


def _market_symbol(ctx: Context) -> str:
    symbol = str(ctx.query["symbol"])
    ctx.engine.symbol_config(symbol)
    return symbol


def price_text(engine: Engine, symbol: str, value: Decimal | None) -> str | None:
    """A price at the symbol's tick decimals (exact text when it is finer, e.g. a mid price)."""
    if value is None:
        return None
    cfg = engine.symbols[symbol]
    return fixed(value, cfg.price_tick_decimals) if value == value.quantize(cfg.price_tick) else dstr(value)


def _price(ctx: Context, symbol: str, value: Decimal | None) -> str | None:
    return price_text(ctx.engine, symbol, value)


@handler("query_symbol_info")
def query_symbol_info(ctx: Context) -> Any:
    symbol = _symbol_arg(ctx)
    return [
        ctx.engine.symbol_info_json(cfg, SYMBOL_CREATED_AT)
        for cfg in ctx.config.symbols
        if symbol is None or cfg.symbol == symbol
    ]


def symbol_price_json(engine: Engine, symbol: str) -> dict[str, Any]:
    """The SymbolPrice of `query_symbol_price` (the `price` stream pairs its bid and ask into `spread`)."""
    cfg = engine.symbols[symbol]
    snap = engine.price_snapshot(symbol)
    return {
        "base": cfg.base_asset,
        "index_price": price_text(engine, symbol, snap["index_price"]),
        "last_price": price_text(engine, symbol, snap["last_price"]),
        "mark_price": price_text(engine, symbol, snap["mark_price"]),
        "mid_price": price_text(engine, symbol, snap["mid_price"]),
        "quote": cfg.quote_asset,
        "spread_ask": price_text(engine, symbol, snap["spread_ask"]),
        "spread_bid": price_text(engine, symbol, snap["spread_bid"]),
        "symbol": symbol,
        "time": iso(engine.clock()),
    }


@handler("query_symbol_price")
def query_symbol_price(ctx: Context) -> Any:
    return symbol_price_json(ctx.engine, _market_symbol(ctx))


@handler("query_symbol_market")
def query_symbol_market(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    cfg = ctx.engine.symbols[symbol]
    with ctx.engine.lock:
        snap = ctx.engine.price_snapshot(symbol)
        stats = ctx.engine.stats_24h(symbol)
        now = ctx.engine.clock()
        bid, ask = snap["spread_bid"], snap["spread_ask"]
        fallback = snap["last_price"] if snap["last_price"] is not None else snap["mark_price"]
        return {
            "base": cfg.base_asset,
            "funding_rate": dstr(ctx.engine.funding_rate(symbol, now)),
            "high_price_24h": _price(ctx, symbol, stats["high"] if stats["high"] is not None else fallback),
            "index_price": _price(ctx, symbol, snap["index_price"]),
            "last_price": _price(ctx, symbol, snap["last_price"]),
            "low_price_24h": _price(ctx, symbol, stats["low"] if stats["low"] is not None else fallback),
            "mark_price": _price(ctx, symbol, snap["mark_price"]),
            "mid_price": _price(ctx, symbol, snap["mid_price"]),
            "next_funding_time": iso_seconds(ctx.engine.next_funding_time()),
            "open_interest": fixed(ctx.engine.open_interest(symbol), cfg.qty_tick_decimals),
            "quote": cfg.quote_asset,
            "spread": [_price(ctx, symbol, bid), _price(ctx, symbol, ask)]
            if bid is not None and ask is not None
            else None,
            "symbol": symbol,
            "time": iso(now),
            "volume_24h": dstr(stats["volume"] or Decimal(0)),
        }


@handler("query_market_overview")
def query_market_overview(ctx: Context) -> Any:
    symbols: list[dict[str, Any]] = []
    total_oi = Decimal(0)
    total_volume = Decimal(0)
    with ctx.engine.lock:
        now = ctx.engine.clock()
        for cfg in ctx.config.symbols:
            snap = ctx.engine.price_snapshot(cfg.symbol)
            stats = ctx.engine.stats_24h(cfg.symbol)
            oi = ctx.engine.open_interest(cfg.symbol)
            mark = ctx.engine.marks[cfg.symbol]
            oi_notional = oi * mark
            quote_volume = stats["quote_volume"] or Decimal(0)
            last, first = snap["last_price"], stats["open"]
            change = (last - first) / first * 100 if last is not None and first else Decimal(0)
            total_oi += oi_notional
            total_volume += quote_volume
            symbols.append(
                {
                    "base": cfg.base_asset,
                    "funding_rate": dstr(ctx.engine.funding_rate(cfg.symbol, now)),
                    "last_price": _price(ctx, cfg.symbol, last),
                    "mark_price": _price(ctx, cfg.symbol, mark),
                    "open_interest": dstr(oi),
                    "open_interest_notional": dstr(oi_notional),
                    # A JSON number in the docs; written from the exact Decimal, never through float.
                    "price_change_pct": change.quantize(Decimal("1e-12")).normalize() if change else Decimal(0),
                    "quote": cfg.quote_asset,
                    "symbol": cfg.symbol,
                    "time": iso(now),
                    "volume_24h": dstr(stats["volume"] or Decimal(0)),
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


def depth_book_json(engine: Engine, symbol: str) -> dict[str, Any]:
    """The DepthBook of `query_depth_book` and of the `depth_book` stream."""
    cfg = engine.symbols[symbol]
    depth = engine.depth(symbol)
    return {
        "asks": [[fixed(p, cfg.price_tick_decimals), fixed(q, cfg.qty_tick_decimals)] for p, q in depth["asks"]],
        "bids": [[fixed(p, cfg.price_tick_decimals), fixed(q, cfg.qty_tick_decimals)] for p, q in depth["bids"]],
        "symbol": symbol,
    }


def public_trade_json(engine: Engine, t: PublicTrade) -> dict[str, Any]:
    """A recent trade of `query_recent_trades` and of the `public_trade` stream."""
    cfg = engine.symbols[t.symbol]
    return {
        "is_buyer_taker": t.is_buyer_taker,
        "price": fixed(t.price, cfg.price_tick_decimals),
        "qty": fixed(t.qty, cfg.qty_tick_decimals),
        "quote_qty": dstr(t.price * t.qty),
        "symbol": t.symbol,
        "time": iso(t.time),
    }


@handler("query_depth_book")
def query_depth_book(ctx: Context) -> Any:
    return depth_book_json(ctx.engine, _market_symbol(ctx))


@handler("query_recent_trades")
def query_recent_trades(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    return [public_trade_json(ctx.engine, t) for t in ctx.engine.recent_trades(symbol)]


@handler("query_funding_rates")
def query_funding_rates(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    start, end = int(ctx.query["start_time"]), int(ctx.query["end_time"])
    if start > end:
        raise EngineError("start_time must not be after end_time")
    return ctx.engine.funding_series(symbol, start, end)


# --------------------------------------------------------------------------- kline & system


@handler("kline_time")
def kline_time(ctx: Context) -> Any:
    return int(ctx.engine.clock().timestamp())


@handler("kline_history")
def kline_history(ctx: Context) -> Any:
    symbol = _market_symbol(ctx)
    bars = ctx.engine.kline(
        symbol, str(ctx.query["resolution"]), int(ctx.query["from"]), int(ctx.query["to"]), ctx.query.get("countBack")
    )
    if bars is None:
        return {"s": "no_data"}
    return {"s": "ok", **bars}


@handler("health")
def health(ctx: Context) -> Any:
    return PlainText("OK")


@handler("query_region")
def query_region(ctx: Context) -> Any:
    return {"systemTime": int(ctx.engine.clock().timestamp() * 1000), "region": ctx.config.region}


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
