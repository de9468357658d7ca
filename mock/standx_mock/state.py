"""The exchange's state: the records (accounts, orders, positions, fills, funding), the books, and the
container that holds them for one mock instance. Data only: the rules that change it live in
`accounts` (margin), `matching` (books and orders), `market` (market data) and `engine` (what moves it).
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .clock import MockClock
from .config import MockConfig, SymbolConfig
from .enums import BUY, OPEN, PENDING, SOURCE_USER

ORDER_ID_START = 10_000_000_001  # live ids exceed 32 bits; make clients meet that early
TRADE_ID_START = 400_000_001
POSITION_ID_START = 1_001
ZERO = Decimal(0)


class EngineError(Exception):
    """A business-rule rejection; the dispatch answers it with `status` and this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class PositionConfig:
    leverage: int
    margin_mode: str


@dataclass
class Account:
    user: str
    address: str
    public_keys: list[str]
    initial_balance: Decimal
    cross_balance: Decimal
    created_at: datetime
    configs: dict[str, PositionConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class Vault:
    """A vault account (`cv_...`) that its owner may act for with `x-impersonate`."""

    id: str
    user: str
    owner: str


@dataclass
class Order:
    id: int
    seq: int
    user: str
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    price: Decimal | None
    qty: Decimal
    reduce_only: bool
    cl_ord_id: str
    leverage: int
    margin_mode: str
    position_id: int
    created_at: datetime
    updated_at: datetime
    status: str = OPEN
    fill_qty: Decimal = ZERO
    fill_value: Decimal = ZERO
    margin: Decimal = ZERO
    locked: Decimal = ZERO
    remark: str = ""
    source: str = SOURCE_USER
    #: Take-profit / stop-loss trigger prices requested with the order (children are created once it fills).
    tp_price: Decimal | None = None
    sl_price: Decimal | None = None
    #: For a TP/SL child: "tp" or "sl", its trigger price, and the order it belongs to.
    trigger_kind: str | None = None
    trigger_price: Decimal | None = None
    parent_id: int | None = None
    children_created: bool = False
    #: The liquidation that created this order (0: none).
    liq_id: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.fill_qty

    @property
    def is_buy(self) -> bool:
        return self.side == BUY


@dataclass
class Position:
    id: int
    user: str
    symbol: str
    margin_mode: str
    leverage: int
    created_at: datetime
    updated_at: datetime
    qty: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry_value: Decimal = ZERO  # |qty| * average entry price, exact
    realized_pnl: Decimal = ZERO
    isolated_margin: Decimal = ZERO

    @property
    def entry_price(self) -> Decimal:
        return self.entry_value / abs(self.qty) if self.qty else ZERO

    def upnl(self, mark: Decimal) -> Decimal:
        if self.qty > 0:
            return self.qty * mark - self.entry_value
        if self.qty < 0:
            return self.entry_value + self.qty * mark
        return ZERO


@dataclass
class Trade:
    id: int
    order_id: int
    user: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee_qty: Decimal
    pnl: Decimal
    created_at: datetime


@dataclass
class PublicTrade:
    id: int
    symbol: str
    price: Decimal
    qty: Decimal
    is_buyer_taker: bool
    time: datetime


@dataclass
class FundingEntry:
    id: int
    user: str
    symbol: str
    qty: Decimal
    rate: Decimal
    time: datetime


@dataclass
class Changes:
    """What changed since the WebSocket layer last drained it: touched orders (their state after the
    change, first touch first), user fills and public trades, in the order they happened."""

    orders: dict[int, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    public_trades: list[PublicTrade] = field(default_factory=list)


class Book:
    """Price-time priority book of resting orders for one symbol."""

    def __init__(self) -> None:
        self.bids: list[Order] = []
        self.asks: list[Order] = []

    @staticmethod
    def _bid_key(o: Order) -> tuple[Decimal, int]:
        assert o.price is not None
        return (-o.price, o.seq)

    @staticmethod
    def _ask_key(o: Order) -> tuple[Decimal, int]:
        assert o.price is not None
        return (o.price, o.seq)

    def add(self, order: Order) -> None:
        if order.is_buy:
            bisect.insort(self.bids, order, key=self._bid_key)
        else:
            bisect.insort(self.asks, order, key=self._ask_key)

    def remove(self, order: Order) -> None:
        side = self.bids if order.is_buy else self.asks
        if order in side:
            side.remove(order)

    def opposite(self, order_is_buy: bool) -> list[Order]:
        return self.asks if order_is_buy else self.bids

    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @staticmethod
    def levels(orders: Iterable[Order]) -> list[tuple[Decimal, Decimal]]:
        out: list[tuple[Decimal, Decimal]] = []
        for o in orders:
            assert o.price is not None
            if out and out[-1][0] == o.price:
                out[-1] = (o.price, out[-1][1] + o.remaining)
            else:
                out.append((o.price, o.remaining))
        return out


class ExchangeState:
    """Everything the exchange knows, for one mock instance, guarded by one re-entrant lock.

    Accounts and vaults survive `reset_market` (a kept account gets its initial balance back); the
    rest is rebuilt. Deterministic for a given seed and sequence of calls (wall-clock times aside).
    """

    def __init__(self, config: MockConfig, clock: MockClock | None = None) -> None:
        self.config = config
        self.clock = clock or MockClock(config.market.clock_speed)
        self.lock = threading.RLock()
        self.symbols: dict[str, SymbolConfig] = {s.symbol: s for s in config.symbols}
        if len(self.symbols) != len(config.symbols):
            raise ValueError("duplicate symbol in configuration")
        self.reset_accounts()
        self.reset_market()

    def reset_accounts(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.vaults: dict[str, Vault] = {}
        self.market_maker_user: str | None = None
        self.account_rng = random.Random(f"accounts:{self.config.seed}")

    def reset_market(self) -> None:
        self.books: dict[str, Book] = {s: Book() for s in self.symbols}
        self.marks: dict[str, Decimal] = {s: c.mark_price for s, c in self.symbols.items()}
        #: Funding rates a test fixed per symbol (otherwise a seeded rate per funding period).
        self.funding_rates: dict[str, Decimal] = {}
        self.orders: dict[int, Order] = {}
        self.orders_by_user: dict[str, list[Order]] = {}
        self.cl_ord_index: dict[tuple[str, str], Order] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.position_ids: dict[tuple[str, str], int] = {}
        self.trades_by_user: dict[str, list[Trade]] = {}
        self.public_trades: dict[str, list[PublicTrade]] = {s: [] for s in self.symbols}
        self.funding: list[FundingEntry] = []
        self.next_order_id = ORDER_ID_START
        self.next_trade_id = TRADE_ID_START
        self.next_position_id = POSITION_ID_START
        self.next_funding_id = 1
        self.next_public_trade_id = 1
        self.next_liquidation_id = 1
        self.seq = 0
        self.orders_created = 0
        self.order_rng = random.Random(f"orders:{self.config.seed}")
        self.mm_generation: dict[str, int] = {}
        #: Mock time up to which scheduled events (funding, random-walk steps) have run.
        self.events_done_at = self.clock.timestamp()
        #: The random walk in force (the configured one until a test changes it).
        self.random_walk = self.config.market.random_walk
        self.walk_steps: dict[str, int] = {}
        self.changes = Changes()

    # ------------------------------------------------------------------ lookups

    def account(self, user: str) -> Account:
        acct = self.accounts.get(user)
        if acct is None:
            raise EngineError("unknown account", 401)
        return acct

    def symbol_config(self, symbol: str) -> SymbolConfig:
        cfg = self.symbols.get(symbol)
        if cfg is None:
            raise EngineError(f"unknown symbol {symbol!r}")
        return cfg

    def open_orders(self, user: str, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders_by_user.get(user, [])
            if o.status in PENDING and (symbol is None or o.symbol == symbol)
        ]

    def user_positions(self, user: str, symbol: str | None = None) -> list[Position]:
        return sorted(
            (p for (u, s), p in self.positions.items() if u == user and (symbol is None or s == symbol)),
            key=lambda p: p.id,
        )

    def position_qty(self, user: str, symbol: str) -> Decimal:
        pos = self.positions.get((user, symbol))
        return pos.qty if pos else ZERO

    # ------------------------------------------------------------------ journal of changes

    def touch(self, order: Order) -> None:
        self.changes.orders.setdefault(order.id, order)

    def drain_changes(self) -> Changes:
        """Hand over (and forget) what changed since the last call."""
        with self.lock:
            changes, self.changes = self.changes, Changes()
            return changes
