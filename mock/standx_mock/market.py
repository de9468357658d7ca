"""Market data read from the state: prices, books, 24 h statistics, klines, funding rates and their
schedule, and the seeded random walk of the mark. Callers hold `state.lock`."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from .config import RandomWalk
from .enums import KLINE_BARS, KLINE_RESOLUTIONS
from .state import EngineError, ExchangeState, PublicTrade

ZERO = Decimal(0)


# ---------------------------------------------------------------------- funding


def funding_interval(state: ExchangeState) -> int:
    """Seconds between funding times (the exchange's are on the hour); 3600 when automatic funding is off."""
    return state.config.market.funding_interval_s or 3600


def funding_rate(state: ExchangeState, symbol: str, when: datetime) -> Decimal:
    """The rate of the funding period `when` falls in: the one a test fixed, else seeded per period."""
    fixed_rate = state.funding_rates.get(symbol)
    if fixed_rate is not None:
        return fixed_rate
    period = int(when.timestamp()) // funding_interval(state)
    rng = random.Random(f"funding:{state.config.seed}:{symbol}:{period}")
    return Decimal(rng.randint(-50, 150)).scaleb(-6)


def next_funding_time(state: ExchangeState) -> datetime:
    interval = funding_interval(state)
    return datetime.fromtimestamp((int(state.clock.timestamp()) // interval + 1) * interval, UTC)


def funding_periods(state: ExchangeState, symbol: str, start_ms: int, end_ms: int, limit: int = 1000) -> list[datetime]:
    """The funding times in [start, end] up to now (`query_funding_rates`), oldest first."""
    state.symbol_config(symbol)
    interval_ms = funding_interval(state) * 1000
    first = -(-start_ms // interval_ms)
    last = min(end_ms // interval_ms, int(state.clock.timestamp() * 1000) // interval_ms)
    periods = list(range(first, last + 1))[-limit:] if last >= first else []
    return [datetime.fromtimestamp(period * interval_ms / 1000, UTC) for period in periods]


# ---------------------------------------------------------------------- the random walk


def walk_step(state: ExchangeState, walk: RandomWalk, symbol: str, step: int) -> Decimal:
    """The mark after random-walk step `step` of `symbol` (a function of the seed, symbol and step only)."""
    cfg = state.symbols[symbol]
    seed = state.config.seed if walk.seed is None else walk.seed
    draw = random.Random(f"walk:{seed}:{symbol}:{step}").gauss(0.0, 1.0)
    factor = 1 + walk.volatility * Decimal(f"{draw:.6f}")  # exact from here on: no float in a price
    return max(cfg.price_tick, (state.marks[symbol] * factor).quantize(cfg.price_tick))


def walking_symbols(state: ExchangeState, walk: RandomWalk) -> list[str]:
    return [s for s in state.symbols if not walk.symbols or s in walk.symbols]


# ---------------------------------------------------------------------- prices, books, trades


def price_snapshot(state: ExchangeState, symbol: str) -> dict[str, Decimal | None]:
    state.symbol_config(symbol)
    book = state.books[symbol]
    bid, ask = book.best_bid(), book.best_ask()
    trades = state.public_trades[symbol]
    return {
        "mark_price": state.marks[symbol],
        "index_price": state.marks[symbol],
        "last_price": trades[-1].price if trades else None,
        "mid_price": (bid + ask) / 2 if bid is not None and ask is not None else None,
        "spread_bid": bid,
        "spread_ask": ask,
    }


class Stats24h(TypedDict):
    """A symbol's public trades of the last 24 hours: no prices without a trade, volumes always."""

    high: Decimal | None
    low: Decimal | None
    open: Decimal | None
    volume: Decimal
    quote_volume: Decimal


def stats_24h(state: ExchangeState, symbol: str) -> Stats24h:
    since = state.clock.now() - timedelta(hours=24)
    recent = [t for t in state.public_trades[symbol] if t.time >= since]
    if not recent:
        return {"high": None, "low": None, "open": None, "volume": ZERO, "quote_volume": ZERO}
    return {
        "high": max(t.price for t in recent),
        "low": min(t.price for t in recent),
        "open": recent[0].price,
        "volume": sum((t.qty for t in recent), ZERO),
        "quote_volume": sum((t.price * t.qty for t in recent), ZERO),
    }


def open_interest(state: ExchangeState, symbol: str) -> Decimal:
    return sum((p.qty for (_, s), p in state.positions.items() if s == symbol and p.qty > 0), ZERO)


def depth(state: ExchangeState, symbol: str, limit: int | None = None) -> dict[str, list[tuple[Decimal, Decimal]]]:
    state.symbol_config(symbol)
    book = state.books[symbol]
    bids, asks = book.levels(book.bids), book.levels(book.asks)
    if limit is not None:
        bids, asks = bids[:limit], asks[:limit]
    return {"bids": bids, "asks": asks}


def recent_trades(state: ExchangeState, symbol: str, limit: int = 50) -> list[PublicTrade]:
    state.symbol_config(symbol)
    return list(reversed(state.public_trades[symbol][-limit:]))


def kline(
    state: ExchangeState, symbol: str, resolution: str, start_s: int, end_s: int, countback: int | None = None
) -> dict[str, list[Any]] | None:
    """OHLCV bars (UDF style) from the public trades in [start_s, end_s]; None when there are none."""
    state.symbol_config(symbol)
    if resolution not in KLINE_RESOLUTIONS:
        raise EngineError(f"invalid resolution {resolution!r}")
    trades = [t for t in state.public_trades[symbol] if start_s <= int(t.time.timestamp()) <= end_s]
    bars: list[list[Any]] = []  # [t, o, h, l, c, v]
    length = KLINE_BARS[resolution]
    for tr in trades:
        ts = int(tr.time.timestamp())
        if length == "trade":
            bucket = ts
        elif length == "month":
            d = tr.time.astimezone(UTC)
            bucket = calendar.timegm((d.year, d.month, 1, 0, 0, 0))
        else:
            bucket = ts - ts % int(length)
        if bars and bars[-1][0] == bucket and length != "trade":
            bar = bars[-1]
            bar[2] = max(bar[2], tr.price)
            bar[3] = min(bar[3], tr.price)
            bar[4] = tr.price
            bar[5] += tr.qty
        else:
            bars.append([bucket, tr.price, tr.price, tr.price, tr.price, tr.qty])
    if countback is not None:
        bars = bars[-countback:] if countback > 0 else []
    if not bars:
        return None
    # Decimals are written as exact JSON numbers (the UDF layout the docs show), never via float.
    return {key: [b[i] for b in bars] for i, key in enumerate(("t", "o", "h", "l", "c", "v"))}
