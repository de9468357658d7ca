"""Typed helpers for a bot's tests: `MockExchange`, a handle on a running mock (in this process or not)
over its `/mock/*` test endpoints, so tests never write raw `/mock/*` calls.

    exchange = MockExchange("http://127.0.0.1:8765")
    account = exchange.new_account(balance="5000")
    events = exchange.move_mark("BTC-USD", ["118000", "110000"])  # TP/SL triggers, liquidations
    exchange.account(account).position("BTC-USD")

The pytest plugin (`standx_mock.pytest_plugin`) hands one to each test as `standx_mock`. Building clients
(`client`, `async_client`, `signing_key`) imports `standx_client`; everything else needs only httpx and
PyNaCl, so the handle also drives a mock that a bot written in another language talks to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import base58
import httpx
import nacl.signing

from ._tables import STREAM_URLS
from .config import FaultConfig, FaultKind, FaultWhen, RandomWalk
from .enums import PENDING
from .util import parse_iso

if TYPE_CHECKING:  # the client is optional: only the client-building helpers need it
    from standx_client import AsyncStandX, SigningKey, StandX

Number = Decimal | str | int
# The spec's stream URLs (x-standx-streams), served by the mock on its own host under the same paths.
MARKET_STREAM_PATH = urlsplit(STREAM_URLS["market"]).path
ORDER_STREAM_PATH = urlsplit(STREAM_URLS["orders"]).path


class MockAdminError(RuntimeError):
    """A `/mock/*` call was refused (bad argument, unknown account...): the mock's message."""


_PARSE: dict[str, Callable[[Any], Any]] = {
    "Decimal": lambda v: Decimal(str(v)),
    "Decimal | None": lambda v: None if v is None else Decimal(str(v)),
    "int": int,
    "str": str,
    "bool": bool,
    "datetime": lambda v: parse_iso(str(v)),
}
T = TypeVar("T")


def from_json(cls: type[T], data: Mapping[str, Any], **renamed: str) -> T:
    """A record dataclass from the spec-shaped JSON: each field from the key of its name (or `renamed`),
    converted by its annotation (exact Decimals, ISO times)."""
    values = {
        f.name: _PARSE[str(f.type)](data.get(renamed.get(f.name, f.name)))
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    return cls(**values)


# ---------------------------------------------------------------------- what the exchange knows


@dataclass(frozen=True)
class MockAccount:
    """Credentials the mock issued: a JWT bound to `key` (an ed25519 key; its secret never shows in repr)."""

    token: str = field(repr=False)
    user: str
    key: nacl.signing.SigningKey = field(repr=False)

    @property
    def public_key(self) -> str:
        """The base58 public key the JWT is bound to."""
        return base58.b58encode(bytes(self.key.verify_key)).decode("ascii")

    @property
    def signing_key(self) -> SigningKey:
        """The key as the client takes it (`standx_client.SigningKey`)."""
        from standx_client import SigningKey

        return SigningKey.parse(self.key)


@dataclass(frozen=True)
class MockOrder:
    id: int
    cl_ord_id: str
    user: str
    symbol: str
    side: str
    order_type: str
    status: str
    qty: Decimal
    fill_qty: Decimal
    price: Decimal
    fill_avg_price: Decimal
    reduce_only: bool
    source: str
    remark: str
    liq_id: int


@dataclass(frozen=True)
class MockPosition:
    symbol: str
    qty: Decimal  # signed: > 0 long
    entry_price: Decimal
    mark_price: Decimal
    liq_price: Decimal | None
    bankruptcy_price: Decimal
    margin_mode: str
    leverage: int
    upnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True)
class MockBalance:
    balance: Decimal
    cross_balance: Decimal
    cross_available: Decimal
    locked: Decimal
    upnl: Decimal
    equity: Decimal


@dataclass(frozen=True)
class MockFill:
    id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    pnl: Decimal


@dataclass(frozen=True)
class MockFunding:
    id: int
    user: str
    symbol: str
    qty: Decimal  # signed: what the account received (negative: paid)
    time: datetime


@dataclass(frozen=True)
class AccountView:
    """The exchange's own view of one account (not the client's), to assert on."""

    user: str
    balance: MockBalance
    positions: list[MockPosition]
    orders: list[MockOrder]
    fills: list[MockFill]
    funding: list[MockFunding]

    def position(self, symbol: str) -> MockPosition | None:
        return next((p for p in self.positions if p.symbol == symbol), None)

    def open_orders(self, symbol: str | None = None) -> list[MockOrder]:
        return [o for o in self.orders if o.status in PENDING and symbol in (None, o.symbol)]

    @classmethod
    def from_json(cls, a: Mapping[str, Any]) -> AccountView:
        return cls(
            user=str(a["user"]),
            balance=from_json(MockBalance, a["balance"]),
            positions=[from_json(MockPosition, p) for p in a["positions"]],
            orders=[from_json(MockOrder, o) for o in a["orders"]],
            fills=[from_json(MockFill, t, fee="fee_qty") for t in a["trades"]],
            funding=[_funding(f) for f in a["funding"]],
        )


@dataclass(frozen=True)
class MarketEvents:
    """What a move of the market did: funding payments made, liquidation orders filled."""

    funding: list[MockFunding] = field(default_factory=list)
    liquidations: list[MockOrder] = field(default_factory=list)

    @classmethod
    def from_json(cls, e: Mapping[str, Any]) -> MarketEvents:
        return cls(
            [_funding(f) for f in e.get("funding", [])],
            [from_json(MockOrder, o) for o in e.get("liquidations", [])],
        )

    def __add__(self, other: MarketEvents) -> MarketEvents:
        return MarketEvents(self.funding + other.funding, self.liquidations + other.liquidations)


@dataclass(frozen=True)
class ClockState:
    time: datetime
    next_funding_time: datetime
    speed: float


# ---------------------------------------------------------------------- the handle


class MockExchange:
    """A handle on a running mock: accounts, the market, faults, streams, and the exchange's own view."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def __repr__(self) -> str:
        return f"MockExchange({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MockExchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        answer = self._http.request(method, path, json=None if body is None else dict(body), params=query)
        if answer.status_code != 200:
            raise MockAdminError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    # ------------------------------------------------------------------ URLs

    @property
    def market_stream_url(self) -> str:
        """The market stream (`MarketStream(url=...)`)."""
        return self.base_url.replace("http", "ws", 1) + MARKET_STREAM_PATH

    @property
    def order_stream_url(self) -> str:
        """The order response stream (`OrderStream(url=...)`)."""
        return self.base_url.replace("http", "ws", 1) + ORDER_STREAM_PATH

    # ------------------------------------------------------------------ accounts

    def new_account(self, balance: Number | None = None, *, expires_seconds: int | None = None) -> MockAccount:
        """A fresh funded account (the configured balance unless given) and a JWT bound to a new key."""
        key = nacl.signing.SigningKey.generate()
        body: dict[str, Any] = {"public_key": base58.b58encode(bytes(key.verify_key)).decode("ascii")}
        if balance is not None:
            body["balance"] = str(balance)
        if expires_seconds is not None:
            body["expires_seconds"] = expires_seconds
        answer = self._call("POST", "/mock/credentials", body)
        return MockAccount(token=answer["token"], user=answer["user"], key=key)

    def grant_vault(self, owner: MockAccount | str, balance: Number | None = None) -> str:
        """A funded vault that `owner` may act for with `x-impersonate` (or `impersonate` on the streams)."""
        body: dict[str, Any] = {"owner": _user(owner)}
        if balance is not None:
            body["balance"] = str(balance)
        return str(self._call("POST", "/mock/vaults", body)["vault"])

    def account(self, account: MockAccount | str) -> AccountView:
        """The exchange's own view of an account: balance, positions, orders, fills and funding payments."""
        return AccountView.from_json(self._call("GET", "/mock/account", user=_user(account)))

    def orders(self, account: MockAccount | str | None = None, symbol: str | None = None) -> list[MockOrder]:
        """Every order ever created (any status, any user unless given), oldest first."""
        user = None if account is None else _user(account)
        return [from_json(MockOrder, o) for o in self._call("GET", "/mock/orders", user=user, symbol=symbol)["result"]]

    def client(self, account: MockAccount, **options: Any) -> StandX:
        """A `standx_client.StandX` for `account`, pointed at this mock (close it, or use `with`)."""
        from standx_client import StandX

        url = self.base_url
        return StandX(jwt=account.token, signing_key=account.signing_key, base_url=url, geo_url=url, auth_url=url,
                      **options)  # fmt: skip

    def async_client(self, account: MockAccount, **options: Any) -> AsyncStandX:
        from standx_client import AsyncStandX

        url = self.base_url
        return AsyncStandX(jwt=account.token, signing_key=account.signing_key, base_url=url, geo_url=url,
                           auth_url=url, **options)  # fmt: skip

    # ------------------------------------------------------------------ the market

    def mark_price(self, symbol: str) -> Decimal:
        return Decimal(str(self._call("GET", "/api/query_symbol_price", symbol=symbol)["mark_price"]))

    def set_mark_price(self, symbol: str, price: Number, *, requote: bool = False) -> MarketEvents:
        """Move the mark (TP/SL triggers fire, positions past their liquidation price are liquidated);
        `requote` also moves the market maker's book to the new mark."""
        body = {"symbol": symbol, "price": str(price), "requote": requote}
        return MarketEvents.from_json(self._call("POST", "/mock/mark_price", body))

    def move_mark(self, symbol: str, path: Iterable[Number], *, requote: bool = False) -> MarketEvents:
        """Move the mark through each price of `path` in turn; what all the steps did."""
        events = MarketEvents()
        for price in path:
            events = events + self.set_mark_price(symbol, price, requote=requote)
        return events

    def requote(self, symbol: str | None = None, *, levels: int | None = None, spread: Number | None = None) -> int:
        """The market maker's book around the current mark (every symbol unless given); orders placed."""
        body: dict[str, Any] = {"symbol": symbol}
        if levels is not None:
            body["levels"] = levels
        if spread is not None:
            body["spread"] = str(spread)
        return int(self._call("POST", "/mock/market_maker", body)["orders"])

    def set_funding_rate(self, symbol: str, rate: Number | None) -> None:
        """Fix the funding rate of `symbol` (None: back to the seeded rate of each period)."""
        self._call("POST", "/mock/funding_rate", {"symbol": symbol, "rate": None if rate is None else str(rate)})

    def settle_funding(self, symbol: str | None = None, rate: Number | None = None) -> MarketEvents:
        """Settle one funding period now, off schedule."""
        body = {"symbol": symbol, "rate": None if rate is None else str(rate)}
        return MarketEvents.from_json(self._call("POST", "/mock/funding", body))

    def clock(self) -> ClockState:
        c = self._call("GET", "/mock/clock")
        return ClockState(parse_iso(c["time"]), parse_iso(c["next_funding_time"]), float(c["speed"]))

    def advance(self, seconds: float) -> MarketEvents:
        """Move the mock's clock forward; funding times and random-walk steps on the way run in order."""
        return MarketEvents.from_json(self._call("POST", "/mock/clock", {"advance": seconds}))

    def advance_to_next_funding(self) -> MarketEvents:
        return MarketEvents.from_json(self._call("POST", "/mock/clock", {"to_next_funding": True}))

    def start_random_walk(self, walk: RandomWalk | None = None) -> None:
        """Walk the mark (seeded) on the mock clock: `RandomWalk(interval_s, volatility, symbols, seed)`."""
        walk = walk or RandomWalk()
        body = {**dataclasses.asdict(walk), "volatility": str(walk.volatility), "symbols": list(walk.symbols)}
        self._call("POST", "/mock/random_walk", body)

    def stop_random_walk(self) -> None:
        self._call("DELETE", "/mock/random_walk")

    # ------------------------------------------------------------------ faults

    def set_faults(self, faults: FaultConfig) -> None:
        """Run-level faults for every request from now on (seeded draws)."""
        self._call("POST", "/mock/faults", faults.to_dict())

    def clear_faults(self) -> None:
        """No run-level faults and nothing queued."""
        self._call("DELETE", "/mock/faults")

    def fail_next(
        self,
        kind: FaultKind | None,
        *,
        operation: str | None = None,
        count: int = 1,
        when: FaultWhen = "before",
        status: int | None = None,
        latency: float | None = None,
    ) -> None:
        """The next `count` requests of `operation` (any, if None) get this fault: `when="before"` loses the
        request, `"after"` runs it and loses the answer. `status` is the 5xx of an error (the Retry-After
        seconds of a rate_limit); `kind=None` with `latency` only delays."""
        fault = fault_header(kind, when=when, status=status, latency=latency)["x-mock-fault"]
        self._call("POST", "/mock/faults/next", {"fault": fault, "operation": operation, "count": count})

    # ------------------------------------------------------------------ streams and the whole mock

    def drop_streams(self) -> int:
        """Close every open WebSocket with 1012 (a reconnect test); how many were open."""
        return int(self._call("POST", "/mock/ws/drop")["dropped"])

    def reset(self, *, keep_accounts: bool = False) -> None:
        """The initial market, clock and faults. Without `keep_accounts` every account, JWT and stream is
        gone too (what the plugin does before each test)."""
        self._call("POST", "/mock/reset", {"keep_accounts": keep_accounts})

    def stats(self) -> dict[str, Any]:
        """Request, order and fault counters, and the responses that violated the spec."""
        result: dict[str, Any] = self._call("GET", "/mock/stats")
        return result


def fault_header(
    kind: FaultKind | None, *, when: FaultWhen = "before", status: int | None = None, latency: float | None = None
) -> dict[str, str]:
    """The `x-mock-fault` header for one request, e.g. `fault_header("drop", when="after")`."""
    parts: list[str] = []
    if kind is not None:
        parts.append(kind if status is None else f"{kind}={status}")
        parts.append(f"when={when}")
    if latency is not None:
        parts.append(f"latency={latency}")
        if kind is None:
            parts.append(f"when={when}")
    if not parts:
        raise ValueError("a fault needs a kind or a latency")
    return {"x-mock-fault": "; ".join(parts)}


def _funding(f: Mapping[str, Any]) -> MockFunding:
    return from_json(MockFunding, f, time="transact_time")


def _user(account: MockAccount | str) -> str:
    return account.user if isinstance(account, MockAccount) else account
