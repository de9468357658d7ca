"""The spec's enums and the example-only values the engine acts on, in one place.

The request validator already refuses values outside the spec's enums; the engine checks them again
because admin calls and white-box tests reach it without the validator. (A later step reads these from
the spec's generated tables instead of keeping them here.)
"""

from __future__ import annotations

SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market")
TIME_IN_FORCE = ("gtc", "ioc", "alo")
MARGIN_MODES = ("cross", "isolated")

# Order status (OrderStatus; the docs' examples also show "new" for a resting order).
OPEN = "open"
FILLED = "filled"
CANCELED = "canceled"
REJECTED = "rejected"
UNTRIGGERED = "untriggered"
PENDING = (OPEN, UNTRIGGERED)

# Order `source` (free text in the spec; "user" is the documented example).
SOURCE_USER = "user"
SOURCE_MARKET_MAKER = "market_maker"
SOURCE_TPSL = "tpsl"
SOURCE_LIQUIDATION = "liquidation"

KLINE_RESOLUTIONS = ("1T", "3S", "1", "5", "15", "60", "1D", "1W", "1M")
#: Bar length of the fixed-size resolutions ("1T" is one bar per trade, "1M" a calendar month).
KLINE_SECONDS: dict[str, int] = {"3S": 3, "1": 60, "5": 300, "15": 900, "60": 3600, "1D": 86400, "1W": 7 * 86400}

QUOTE_ASSET = "DUSD"
