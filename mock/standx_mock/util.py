"""Small helpers: canonical decimal strings, ISO times, ULID-like ids."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

#: Money values (balances, fees, pnl, margins) are kept at the quote asset's 9 decimals.
MONEY_EXP = Decimal("1e-9")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def q9(value: Decimal) -> Decimal:
    """Round a money value to 9 decimals (banker's rounding, like the exchange's quote_decimals)."""
    return value.quantize(MONEY_EXP, rounding=ROUND_HALF_EVEN)


def dstr(value: Decimal) -> str:
    """Canonical exact string: no exponent, no trailing zeros, no negative zero."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fixed(value: Decimal, decimals: int) -> str:
    """A price or quantity at the symbol's tick decimals, e.g. `121900.00`, `0.060`."""
    result = format(value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN), "f")
    if result.startswith("-") and Decimal(result) == 0:
        result = result[1:]
    return result


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0


def iso(dt: datetime) -> str:
    """ISO 8601 with microseconds and a `Z` suffix, as the exchange writes it."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are UTC. ValueError when unparsable."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def ulid(rng: random.Random, when: datetime) -> str:
    """A 26-character ULID-like id (48-bit ms time + 80 random bits, Crockford base32)."""
    value = (int(when.timestamp() * 1000) & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def dumps(value: object) -> bytes:
    """Compact JSON. A `Decimal` is written as a bare JSON number in its exact canonical text
    (for the few fields the docs show as numbers); money fields are passed in as strings."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite decimal in a response")
        out.append(dstr(value))
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in mock responses; use Decimal")
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
