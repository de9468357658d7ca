"""Configuration of the mock exchange: symbols, accounts, faults, server options."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal, get_args, get_origin, get_type_hints

from ._tables import (
    TOKEN_DEFAULT_LIFETIME_SECONDS,
    WEBSOCKET_CONNECTIONS,
    WEBSOCKET_MAX_AGE_SECONDS,
    WEBSOCKET_NEW_PER_MINUTE,
)

#: Fault kinds that replace a request or its response (latency combines with any of them).
FaultKind = Literal["error", "error_html", "rate_limit", "drop", "malformed", "truncated"]
#: When a fault strikes: before the operation runs, after it, or a seeded coin's choice.
FaultWhen = Literal["before", "after", "random"]
TERMINAL_FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
FAULT_WHENS: tuple[str, ...] = get_args(FaultWhen)
#: The order stream's acknowledgement frame and the market stream's error frames (`MockConfig.ws_ack`,
#: `MockConfig.ws_error_frames`).
WsAck = Literal["status", "message", "none"]
WsErrorFrames = Literal["channel", "bare"]

DEFAULT_SPEC_PATH = Path(__file__).with_name("standx.yaml")


@dataclass(frozen=True)
class SymbolConfig:
    """Static description of one perpetual market (what `query_symbol_info` reports)."""

    symbol: str
    base_asset: str
    mark_price: Decimal
    price_tick_decimals: int = 2
    qty_tick_decimals: int = 3
    min_order_qty: Decimal = Decimal("0.001")
    max_order_qty: Decimal = Decimal("100")
    max_position_size: Decimal = Decimal("1000")
    maker_fee: Decimal = Decimal("0.0001")
    taker_fee: Decimal = Decimal("0.0004")
    max_leverage: int = 20
    def_leverage: int = 10
    max_open_orders: int = 100
    price_cap_ratio: Decimal = Decimal("0.3")
    price_floor_ratio: Decimal = Decimal("0.3")
    #: Maintenance margin rate used for `maint_margin` and `liq_price`.
    maint_margin_rate: Decimal = Decimal("0.025")
    quote_asset: str = "DUSD"
    base_decimals: int = 9
    quote_decimals: int = 9
    depth_ticks: str = "0.01,0.1,1"
    enabled: bool = True

    @property
    def price_tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_tick_decimals)

    @property
    def qty_tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.qty_tick_decimals)


def default_symbols() -> tuple[SymbolConfig, ...]:
    return (
        SymbolConfig(symbol="BTC-USD", base_asset="BTC", mark_price=Decimal("121600.00")),
        SymbolConfig(
            symbol="ETH-USD",
            base_asset="ETH",
            mark_price=Decimal("4200.00"),
            min_order_qty=Decimal("0.01"),
            max_order_qty=Decimal("1000"),
            max_position_size=Decimal("10000"),
        ),
    )


@dataclass(frozen=True)
class FaultConfig:
    """Run-level fault injection. Rates are probabilities per StandX request, drawn from a seeded RNG.

    `when` decides whether a drawn fault replaces the request before the operation runs (the request
    is lost, no state change) or replaces the response after it ran (state changed, the client sees
    an error); `random` flips a seeded coin per fault.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 520)
    #: Fraction of injected 5xx responses that carry an HTML body instead of JSON.
    html_rate: float = 0.0
    #: Once a 5xx fires, this many requests in a row (including the first) fail.
    burst: int = 1
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    when: FaultWhen = "before"
    #: Restrict run-level faults to these operationIds (empty: every StandX operation).
    operations: tuple[str, ...] = ()
    #: RNG seed for the fault draws; None uses the mock's seed.
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "latency",
            "error_rate",
            "html_rate",
            "rate_limit_rate",
            "drop_rate",
            "malformed_rate",
            "truncated_rate",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"fault option {name} must be a non-negative number, got {value!r}")
        for name in ("error_rate", "html_rate", "rate_limit_rate", "drop_rate", "malformed_rate", "truncated_rate"):
            if getattr(self, name) > 1:
                raise ValueError(f"fault option {name} must be <= 1")
        if self.when not in FAULT_WHENS:
            raise ValueError(f"fault option when must be before, after or random, got {self.when!r}")
        if self.burst < 1:
            raise ValueError("fault option burst must be >= 1")
        if self.retry_after < 0:
            raise ValueError("fault option retry_after must be >= 0")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("fault option error_statuses must be a non-empty list of 5xx codes")

    @property
    def active(self) -> bool:
        return bool(
            self.latency
            or self.error_rate
            or self.rate_limit_rate
            or self.drop_rate
            or self.malformed_rate
            or self.truncated_rate
        )

    @classmethod
    def parse(cls, text: str) -> FaultConfig:
        """Parse the CLI form `latency=0.05,error_rate=0.2,when=after,error_statuses=502/503`."""
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"fault option {key!r} needs a value (key=value)")
            values[key] = raw.strip()
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: dict[str, object]) -> FaultConfig:
        """Build from a JSON object or parsed CLI pairs; unknown keys are an error."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, object] = {}
        for key, raw in values.items():
            if key not in known:
                raise ValueError(f"unknown fault option {key!r} (known: {', '.join(sorted(known))})")
            try:
                kwargs[key] = _coerce_fault_value(key, raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"invalid value for fault option {key!r}: {raw!r} ({exc})") from None
        return cls(**kwargs)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        data["operations"] = list(self.operations)
        return data


def _coerce_fault_value(key: str, raw: object) -> object:
    if key in ("error_statuses", "operations"):
        items: list[object]
        if isinstance(raw, str):
            items = [p for p in raw.replace("|", "/").split("/") if p.strip()]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            raise TypeError("expected a list")
        if key == "error_statuses":
            return tuple(int(str(i).strip()) for i in items)
        return tuple(str(i).strip() for i in items)
    if key == "when":
        return str(raw)
    if key in ("burst", "retry_after"):
        if isinstance(raw, bool):
            raise TypeError("expected an integer")
        return int(str(raw))
    if key == "seed":
        return None if raw is None else int(str(raw))
    if isinstance(raw, bool):
        raise TypeError("expected a number")
    return float(str(raw))


@dataclass(frozen=True)
class RandomWalk:
    """A seeded random walk of the mark price: every `interval_s` seconds of mock time, each symbol's mark
    moves by a normal draw of relative standard deviation `volatility` (rounded to the tick, at least one
    tick away from zero). The path depends only on the seed, the symbol and the step number."""

    interval_s: float = 1.0
    volatility: Decimal = Decimal("0.0005")
    #: Symbols that walk (empty: all).
    symbols: tuple[str, ...] = ()
    #: None uses the mock's seed.
    seed: int | None = None
    #: Requote the market maker's book around the new mark after each batch of steps.
    requote: bool = True

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError("random walk interval_s must be positive")
        if not Decimal(0) <= self.volatility < Decimal("0.5"):
            raise ValueError("random walk volatility must be in [0, 0.5)")


@dataclass(frozen=True)
class MarketConfig:
    """The moving market: the mock's clock, funding on it, and the optional random walk of the mark."""

    #: Mock seconds per real second: 1 is real time, 3600 an hour a second, 0 a clock that moves only
    #: when a test advances it (`POST /mock/clock`).
    clock_speed: float = 1.0
    #: Funding settles on every open position at each multiple of this many mock seconds (the exchange's
    #: `next_funding_time` is on the hour); 0 settles only on request (`POST /mock/funding`).
    funding_interval_s: int = 3600
    random_walk: RandomWalk | None = None

    def __post_init__(self) -> None:
        if self.clock_speed < 0:
            raise ValueError("clock_speed must not be negative")
        if self.funding_interval_s < 0:
            raise ValueError("funding_interval_s must not be negative")


@dataclass(frozen=True)
class MockConfig:
    """Everything the mock needs; `create_app(MockConfig())` gives a working exchange."""

    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 0
    #: DUSD balance of every account created through `POST /mock/credentials`.
    balance: Decimal = Decimal("100000")
    #: Seed both sides of every book at start (and after reset) from the market maker's account.
    market_maker: bool = False
    market_maker_levels: int = 5
    #: Relative distance between the best bid and the best ask, e.g. 0.0002 = 2 bps.
    market_maker_spread: Decimal = Decimal("0.0002")
    market_maker_balance: Decimal = Decimal("1000000000")
    timestamp_window_ms: int = 60_000
    jwt_lifetime_s: int = TOKEN_DEFAULT_LIFETIME_SECONDS
    #: Lifetime of a sign-in challenge (the prepare-signin `signedData`); the live exchange uses 180 s.
    signin_challenge_lifetime_s: int = 180
    spec_path: Path = DEFAULT_SPEC_PATH
    #: Expected sha256 of the spec file; None uses `standx_mock._spec_hash.SPEC_SHA256`.
    spec_sha256: str | None = None
    verify_spec_hash: bool = True
    #: Validate every StandX response against the spec (a mismatch becomes a 500); for tests.
    validate_responses: bool = False
    symbols: tuple[SymbolConfig, ...] = field(default_factory=default_symbols)
    #: The clock, funding schedule and random walk.
    market: MarketConfig = field(default_factory=MarketConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Emulate the documented rate limits (the spec's x-standx-limits): the per-account credit bucket and
    #: the per-IP requests per second.
    rate_limit: bool = False
    #: `cancel_orders` success body: "array" answers `[]` (older docs, observed live), "ack" answers
    #: `{code, message, request_id}` (newest docs). The spec allows both.
    cancel_orders_response: Literal["array", "ack"] = "array"
    #: A `new_order` whose `cl_ord_id` the account already used: "accept" creates a second order (nothing
    #: says StandX deduplicates, so this is the default: client safety must not lean on it), "reject"
    #: answers 400 "duplicate cl_ord_id". `query_order` by that id finds the first order.
    duplicate_cl_ord_id: Literal["accept", "reject"] = "accept"
    #: Close each WebSocket connection after this many seconds (default the exchange's documented limit, the
    #: spec's x-standx-limits.websocket); None: never.
    ws_max_age_s: float | None = WEBSOCKET_MAX_AGE_SECONDS
    #: WebSocket connections per client IP, both endpoints together (the documented limits, the spec's: open at
    #: once, and new per minute; every attempt counts, refused ones too); None: no limit.
    ws_max_connections_per_ip: int | None = WEBSOCKET_CONNECTIONS
    ws_max_new_connections_per_minute: int | None = WEBSOCKET_NEW_PER_MINUTE
    #: How a connection over the limits is refused (the docs do not say): "close" accepts it and closes it at
    #: once with 1008, so a client cannot tell it from a drop; "http" answers the handshake with 429.
    ws_limit_refusal: Literal["close", "http"] = "close"
    #: The order stream's acknowledgement before an order command's terminal frame (only the newest docs show
    #: one): "status" sends `{code: 0, status: "accepted", request_id}` (the docs'), "message" `{code: 0, message:
    #: "accepted", request_id}` (the variant a peer client handles), "none" no acknowledgement at all.
    ws_ack: WsAck = "status"
    #: Market-stream error frames (a bad subscribe): "channel" sends `{seq, channel: "error", data: {code, msg}}`
    #: (the envelope of the docs with the auth reply's payload), "bare" `{code, message}` (the error body peers
    #: parse, the 408 notice's shape), with no envelope and no seq.
    ws_error_frames: WsErrorFrames = "channel"
    #: Fields the docs do not list (live answers carry such): `session_id` in every order-stream frame of a
    #: logged-in connection, and `UNDOCUMENTED_FIELD` in every market-stream payload (and bare error frame).
    ws_extra_fields: bool = False
    #: Value of `region` in `query_region`.
    region: str = "jp"
    access_log: bool = False
    log_level: str = "warning"

    def __post_init__(self) -> None:
        for name, allowed in literal_choices(MockConfig).items():  # every choice option, from its annotation
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")


@functools.cache
def literal_choices(cls: type) -> dict[str, tuple[str, ...]]:
    """The dataclass's fields annotated with a Literal, and their allowed values."""
    hints = get_type_hints(cls)
    return {f.name: get_args(hints[f.name]) for f in dataclasses.fields(cls) if get_origin(hints[f.name]) is Literal}


def parse_decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} must be a decimal number, got {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{what} must be finite")
    return value
