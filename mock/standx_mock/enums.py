"""The spec's enums the engine acts on, and the engine's own names, in one place.

The values come from the generated tables (`_tables.py`, rendered from the spec by `make generate`), never
from literals here: the tuples are the spec's lists, and a value the engine gives a meaning to (`alo` is
post-only, `isolated` has its own margin) is imported by name, so a spec edit that withdraws one stops the
mock at import (and mypy) instead of leaving a branch that can no longer run.

The request validator already refuses values outside the spec's enums; the engine checks them again
because admin calls and white-box tests reach it without the validator.
"""

from __future__ import annotations

from ._tables import (
    CHAIN_BSC,
    CHAIN_SOLANA,
    KLINE_STATUS_NO_DATA,
    KLINE_STATUS_OK,
    MARGIN_MODE_CROSS,
    MARGIN_MODE_ISOLATED,
    MARGIN_MODE_VALUES,
    ORDER_STATUS_CANCELED,
    ORDER_STATUS_FILLED,
    ORDER_STATUS_NEW,
    ORDER_STATUS_OPEN,
    ORDER_STATUS_REJECTED,
    ORDER_STATUS_UNTRIGGERED,
    ORDER_TYPE_LIMIT,
    ORDER_TYPE_MARKET,
    ORDER_TYPE_VALUES,
    RESOLUTION_BAR_LENGTH,
    RESOLUTION_VALUES,
    SIDE_BUY,
    SIDE_SELL,
    SIDE_VALUES,
    TIME_IN_FORCE_ALO,
    TIME_IN_FORCE_GTC,
    TIME_IN_FORCE_IOC,
    TIME_IN_FORCE_VALUES,
)

SIDES = SIDE_VALUES
BUY, SELL = SIDE_BUY, SIDE_SELL
ORDER_TYPES = ORDER_TYPE_VALUES
LIMIT, MARKET = ORDER_TYPE_LIMIT, ORDER_TYPE_MARKET
TIME_IN_FORCE = TIME_IN_FORCE_VALUES
GTC, IOC, ALO = TIME_IN_FORCE_GTC, TIME_IN_FORCE_IOC, TIME_IN_FORCE_ALO
MARGIN_MODES = MARGIN_MODE_VALUES
CROSS, ISOLATED = MARGIN_MODE_CROSS, MARGIN_MODE_ISOLATED
BSC, SOLANA = CHAIN_BSC, CHAIN_SOLANA

# Order status (OrderStatus; the docs' examples also show "new" for a resting order).
OPEN = ORDER_STATUS_OPEN
NEW = ORDER_STATUS_NEW
FILLED = ORDER_STATUS_FILLED
CANCELED = ORDER_STATUS_CANCELED
REJECTED = ORDER_STATUS_REJECTED
UNTRIGGERED = ORDER_STATUS_UNTRIGGERED
PENDING = (OPEN, UNTRIGGERED)

KLINE_RESOLUTIONS = RESOLUTION_VALUES
#: Resolution -> the bar's length in seconds, or "trade" (one bar per trade) or "month" (a calendar month).
KLINE_BARS = RESOLUTION_BAR_LENGTH
KLINE_OK, KLINE_NO_DATA = KLINE_STATUS_OK, KLINE_STATUS_NO_DATA

# Order `source` (free text in the spec; "user" is the documented example).
SOURCE_USER = "user"
SOURCE_MARKET_MAKER = "market_maker"
SOURCE_TPSL = "tpsl"
SOURCE_LIQUIDATION = "liquidation"

QUOTE_ASSET = "DUSD"
