"""The exchange state: accounts, order books, matching, positions, trades, market data.

Everything here is synchronous and guarded by one re-entrant lock; the HTTP layer calls in from the
event loop. Deterministic for a given seed and sequence of calls (wall-clock times aside).
"""

from __future__ import annotations

import bisect
import calendar
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from .config import MockConfig, SymbolConfig
from .util import ceil_to, dstr, fixed, floor_to, is_multiple, iso, q9, ulid, utcnow

ORDER_ID_START = 10_000_000_001  # live ids exceed 32 bits; make clients meet that early
TRADE_ID_START = 400_000_001
POSITION_ID_START = 1_001
FUNDING_ID_START = 1

SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market")
TIME_IN_FORCE = ("gtc", "ioc", "alo")
MARGIN_MODES = ("cross", "isolated")
OPEN = "open"
FILLED = "filled"
CANCELED = "canceled"
REJECTED = "rejected"
UNTRIGGERED = "untriggered"
PENDING = (OPEN, UNTRIGGERED)

ZERO = Decimal(0)

KLINE_SECONDS: dict[str, int] = {
    "3S": 3,
    "1": 60,
    "5": 300,
    "15": 900,
    "60": 3600,
    "1D": 86400,
    "1W": 7 * 86400,
}
KLINE_RESOLUTIONS = ("1T", "3S", "1", "5", "15", "60", "1D", "1W", "1M")


class EngineError(Exception):
    """A business-rule rejection; becomes an HTTP error with this message."""

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
    is_market_maker: bool = False


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
    source: str = "user"
    #: Take-profit / stop-loss trigger prices requested with the order (children are created once it fills).
    tp_price: Decimal | None = None
    sl_price: Decimal | None = None
    #: For a TP/SL child: "tp" or "sl", its trigger price, and the order it belongs to.
    trigger_kind: str | None = None
    trigger_price: Decimal | None = None
    parent_id: int | None = None
    children_created: bool = False

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.fill_qty

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"


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
    is_maker: bool
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

    def levels(self, orders: Iterable[Order]) -> list[tuple[Decimal, Decimal]]:
        out: list[tuple[Decimal, Decimal]] = []
        for o in orders:
            assert o.price is not None
            if out and out[-1][0] == o.price:
                out[-1] = (o.price, out[-1][1] + o.remaining)
            else:
                out.append((o.price, o.remaining))
        return out


def _crosses(is_buy: bool, limit: Decimal, resting: Decimal) -> bool:
    return resting <= limit if is_buy else resting >= limit


@dataclass
class Page:
    items: list[Any]
    total: int


def paginate(items: list[Any], *, last_id: int | None, limit: int) -> Page:
    """Newest first by id; `last_id` returns items with id < last_id."""
    ordered = sorted(items, key=lambda x: x.id, reverse=True)
    total = len(ordered)
    if last_id is not None:
        ordered = [x for x in ordered if x.id < last_id]
    return Page(ordered[:limit], total)


class Engine:
    def __init__(self, config: MockConfig, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.symbols: dict[str, SymbolConfig] = {s.symbol: s for s in config.symbols}
        if len(self.symbols) != len(config.symbols):
            raise ValueError("duplicate symbol in configuration")
        self.accounts: dict[str, Account] = {}
        self._account_rng = random.Random(f"accounts:{config.seed}")
        self.market_maker_user: str | None = None
        self._reset_market_state()
        self.orders_created = 0

    # ------------------------------------------------------------------ lifecycle

    def _reset_market_state(self) -> None:
        self.books: dict[str, Book] = {s: Book() for s in self.symbols}
        self.marks: dict[str, Decimal] = {s: c.mark_price for s, c in self.symbols.items()}
        self.orders: dict[int, Order] = {}
        self.orders_by_user: dict[str, list[Order]] = {}
        self.cl_ord_index: dict[tuple[str, str], Order] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.position_ids: dict[tuple[str, str], int] = {}
        self.trades: list[Trade] = []
        self.trades_by_user: dict[str, list[Trade]] = {}
        self.public_trades: dict[str, list[PublicTrade]] = {s: [] for s in self.symbols}
        self.funding: list[FundingEntry] = []
        self._next_order_id = ORDER_ID_START
        self._next_trade_id = TRADE_ID_START
        self._next_position_id = POSITION_ID_START
        self._next_funding_id = FUNDING_ID_START
        self._next_public_trade_id = 1
        self._seq = 0
        self._order_rng = random.Random(f"orders:{self.config.seed}")
        self._mm_generation: dict[str, int] = {}
        self.changes = Changes()

    def drain_changes(self) -> Changes:
        """Hand over (and forget) what changed since the last call."""
        with self.lock:
            changes, self.changes = self.changes, Changes()
            return changes

    def _touch(self, order: Order) -> None:
        self.changes.orders.setdefault(order.id, order)

    def reset(self, keep_accounts: bool = True) -> None:
        """Back to the initial state. Kept accounts get their initial balance back."""
        with self.lock:
            self._reset_market_state()
            self.orders_created = 0
            if keep_accounts:
                for acct in self.accounts.values():
                    acct.cross_balance = acct.initial_balance
                    acct.configs.clear()
            else:
                self.accounts.clear()
                self.market_maker_user = None
                self._account_rng = random.Random(f"accounts:{self.config.seed}")

    # ------------------------------------------------------------------ accounts

    def create_account(
        self,
        public_key: str,
        balance: Decimal | None = None,
        *,
        market_maker: bool = False,
        user: str | None = None,
        address: str | None = None,
    ) -> Account:
        """A funded account; a random `bsc_0x...` one unless `user` and `address` are given (wallet sign-in)."""
        with self.lock:
            if user is not None and address is not None:
                if user in self.accounts:
                    raise EngineError(f"account {user} exists")
            else:
                while True:
                    address = "0x" + format(self._account_rng.getrandbits(160), "040x")
                    user = f"bsc_{address}"
                    if user not in self.accounts:
                        break
            amount = self.config.balance if balance is None else balance
            acct = Account(
                user=user,
                address=address,
                public_keys=[public_key],
                initial_balance=amount,
                cross_balance=amount,
                created_at=self.clock(),
                is_market_maker=market_maker,
            )
            self.accounts[user] = acct
            return acct

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

    def position_config(self, user: str, symbol: str) -> PositionConfig:
        acct = self.account(user)
        cfg = self.symbol_config(symbol)
        pc = acct.configs.get(symbol)
        if pc is None:
            pc = PositionConfig(leverage=cfg.def_leverage, margin_mode="cross")
            acct.configs[symbol] = pc
        return pc

    def _position_id(self, user: str, symbol: str) -> int:
        key = (user, symbol)
        pid = self.position_ids.get(key)
        if pid is None:
            pid = self._next_position_id
            self._next_position_id += 1
            self.position_ids[key] = pid
        return pid

    def _position(self, user: str, symbol: str) -> Position:
        key = (user, symbol)
        pos = self.positions.get(key)
        if pos is None:
            pc = self.position_config(user, symbol)
            now = self.clock()
            pos = Position(
                id=self._position_id(user, symbol),
                user=user,
                symbol=symbol,
                margin_mode=pc.margin_mode,
                leverage=pc.leverage,
                created_at=now,
                updated_at=now,
            )
            self.positions[key] = pos
        return pos

    def _position_qty(self, user: str, symbol: str) -> Decimal:
        pos = self.positions.get((user, symbol))
        return pos.qty if pos else ZERO

    def open_orders(self, user: str, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders_by_user.get(user, [])
            if o.status in PENDING and (symbol is None or o.symbol == symbol)
        ]

    # ------------------------------------------------------------------ balances

    def _order_lock(self, order: Order) -> Decimal:
        if order.status != OPEN or order.reduce_only or order.price is None:
            return ZERO
        cfg = self.symbols[order.symbol]
        notional = order.remaining * order.price
        return q9(notional / order.leverage + notional * cfg.taker_fee)

    def balance(self, user: str) -> dict[str, Decimal]:
        with self.lock:
            acct = self.account(user)
            cross_margin = ZERO
            cross_upnl = ZERO
            isolated_balance = ZERO
            isolated_upnl = ZERO
            for (u, symbol), pos in self.positions.items():
                if u != user:
                    continue
                upnl = pos.upnl(self.marks[symbol])
                if pos.margin_mode == "isolated":
                    isolated_balance += pos.isolated_margin
                    isolated_upnl += upnl
                else:
                    cross_margin += q9(pos.entry_value / pos.leverage) if pos.qty else ZERO
                    cross_upnl += upnl
            locked = sum((o.locked for o in self.open_orders(user)), ZERO)
            cross_available = acct.cross_balance - cross_margin - locked + cross_upnl
            balance = acct.cross_balance + isolated_balance
            upnl = cross_upnl + isolated_upnl
            since = self.clock() - timedelta(hours=24)
            pnl_24h = sum((t.pnl for t in self.trades_by_user.get(user, []) if t.created_at >= since), ZERO)
            return {
                "isolated_balance": isolated_balance,
                "isolated_upnl": isolated_upnl,
                "cross_balance": acct.cross_balance,
                "cross_margin": cross_margin,
                "cross_upnl": cross_upnl,
                "locked": locked,
                "cross_available": cross_available,
                "balance": balance,
                "upnl": upnl,
                "equity": balance + upnl,
                "pnl_freeze": pnl_24h,
            }

    # ------------------------------------------------------------------ orders

    def _validate_new_order(
        self, user: str, p: dict[str, Any]
    ) -> tuple[SymbolConfig, PositionConfig, Decimal, Decimal | None]:
        cfg = self.symbol_config(str(p["symbol"]))
        if not cfg.enabled:
            raise EngineError(f"symbol {cfg.symbol} is not enabled for trading")
        side, order_type, tif = p["side"], p["order_type"], p["time_in_force"]
        if side not in SIDES:
            raise EngineError(f"invalid side {side!r}")
        if order_type not in ORDER_TYPES:
            raise EngineError(f"invalid order_type {order_type!r}")
        if tif not in TIME_IN_FORCE:
            raise EngineError(f"invalid time_in_force {tif!r}")
        qty = Decimal(str(p["qty"]))
        if not qty.is_finite() or qty <= 0:
            raise EngineError("qty must be positive")
        if not is_multiple(qty, cfg.qty_tick):
            raise EngineError(f"qty {dstr(qty)} is not a multiple of the qty tick {dstr(cfg.qty_tick)}")
        if qty < cfg.min_order_qty:
            raise EngineError(f"qty {dstr(qty)} is below the minimum order qty {dstr(cfg.min_order_qty)}")
        if qty > cfg.max_order_qty:
            raise EngineError(f"qty {dstr(qty)} is above the maximum order qty {dstr(cfg.max_order_qty)}")
        price: Decimal | None = None
        if order_type == "limit":
            if p.get("price") is None:
                raise EngineError("price is required for limit orders")
            price = Decimal(str(p["price"]))
            if not price.is_finite() or price <= 0:
                raise EngineError("price must be positive")
            if not is_multiple(price, cfg.price_tick):
                raise EngineError(f"price {dstr(price)} is not a multiple of the price tick {dstr(cfg.price_tick)}")
            mark = self.marks[cfg.symbol]
            high = mark * (1 + cfg.price_cap_ratio)
            low = mark * (1 - cfg.price_floor_ratio)
            if price > high or price < low:
                raise EngineError(
                    f"price {dstr(price)} is outside the allowed band [{fixed(low, cfg.price_tick_decimals)}, "
                    f"{fixed(high, cfg.price_tick_decimals)}] around the mark price"
                )
        elif p.get("price") is not None:
            raise EngineError("price must not be set for market orders")
        for name in ("tp_price", "sl_price"):
            if p.get(name) is not None and not is_multiple(Decimal(str(p[name])), cfg.price_tick):
                raise EngineError(f"{name} {p[name]} is not a multiple of the price tick {dstr(cfg.price_tick)}")
        pc = self.position_config(user, cfg.symbol)
        if p.get("margin_mode") is not None and p["margin_mode"] != pc.margin_mode:
            raise EngineError(f"margin_mode {p['margin_mode']} does not match the position's {pc.margin_mode}")
        if p.get("leverage") is not None and int(p["leverage"]) != pc.leverage:
            raise EngineError(f"leverage {p['leverage']} does not match the position's leverage {pc.leverage}")
        if len(self.open_orders(user, cfg.symbol)) >= cfg.max_open_orders:
            raise EngineError(f"too many open orders for {cfg.symbol} (max {cfg.max_open_orders})")
        return cfg, pc, qty, price

    def new_order(self, user: str, params: dict[str, Any], source: str = "user") -> Order:
        """Validate synchronously (EngineError -> 400), then match. Async outcomes show in the order."""
        with self.lock:
            self.account(user)
            cfg, pc, qty, price = self._validate_new_order(user, params)
            cl_ord_id = params.get("cl_ord_id")
            now = self.clock()
            if cl_ord_id is None or cl_ord_id == "":
                cl_ord_id = ulid(self._order_rng, now)
                while (user, cl_ord_id) in self.cl_ord_index:
                    cl_ord_id = ulid(self._order_rng, now)
            elif (user, cl_ord_id) in self.cl_ord_index and self.config.duplicate_cl_ord_id == "reject":
                raise EngineError(f"duplicate cl_ord_id {cl_ord_id!r}")
            reduce_only = bool(params.get("reduce_only", False))
            is_buy = params["side"] == "buy"
            # Pre-trade margin check on the part that increases exposure.
            if not reduce_only:
                pos_qty = self._position_qty(user, cfg.symbol)
                reducing = min(qty, abs(pos_qty)) if (pos_qty < 0) == is_buy and pos_qty != 0 else ZERO
                opening = qty - reducing
                if opening > 0:
                    ref = price if price is not None else self._market_reference_price(cfg.symbol, is_buy)
                    notional = opening * ref
                    required = q9(notional / pc.leverage + notional * cfg.taker_fee)
                    available = self.balance(user)["cross_available"]
                    if required > available:
                        raise EngineError(
                            f"insufficient margin: order needs {dstr(required)} DUSD, available {dstr(q9(available))}"
                        )
            self._seq += 1
            order = Order(
                id=self._next_order_id,
                seq=self._seq,
                user=user,
                symbol=cfg.symbol,
                side=str(params["side"]),
                order_type=str(params["order_type"]),
                time_in_force=str(params["time_in_force"]),
                price=price,
                qty=qty,
                reduce_only=reduce_only,
                cl_ord_id=str(cl_ord_id),
                leverage=pc.leverage,
                margin_mode=pc.margin_mode,
                position_id=self._position_id(user, cfg.symbol),
                created_at=now,
                updated_at=now,
                source=source,
                tp_price=Decimal(str(params["tp_price"])) if params.get("tp_price") is not None else None,
                sl_price=Decimal(str(params["sl_price"])) if params.get("sl_price") is not None else None,
            )
            self._next_order_id += 1
            self.orders[order.id] = order
            self.orders_by_user.setdefault(user, []).append(order)
            self.cl_ord_index.setdefault((user, order.cl_ord_id), order)  # a duplicate (accepted) is not indexed
            if source == "user":
                self.orders_created += 1
            self._touch(order)
            self._match(order)
            return order

    def _market_reference_price(self, symbol: str, is_buy: bool) -> Decimal:
        book = self.books[symbol]
        best = book.best_ask() if is_buy else book.best_bid()
        mark = self.marks[symbol]
        if best is None:
            return mark
        return max(best, mark) if is_buy else min(best, mark)

    def _reducible(self, user: str, symbol: str, is_buy: bool) -> Decimal:
        pos_qty = self._position_qty(user, symbol)
        if is_buy and pos_qty < 0:
            return -pos_qty
        if not is_buy and pos_qty > 0:
            return pos_qty
        return ZERO

    def _close(self, order: Order, status: str, remark: str = "") -> None:
        self._touch(order)
        order.status = status
        order.locked = ZERO
        order.updated_at = self.clock()
        if remark:
            order.remark = f"{order.remark}; {remark}" if order.trigger_kind else remark
        self.books[order.symbol].remove(order)
        if order.fill_qty > 0 and (order.tp_price is not None or order.sl_price is not None):
            self._spawn_tp_sl(order)

    def _pending_reduce_only(self, user: str, symbol: str, is_buy: bool, exclude: Order) -> Decimal:
        return sum(
            (
                o.remaining
                for o in self.open_orders(user, symbol)
                if o.reduce_only and o.is_buy == is_buy and o is not exclude
            ),
            ZERO,
        )

    def _spawn_tp_sl(self, parent: Order) -> None:
        """Once an order with tp_price / sl_price is done, create its untriggered reduce-only children."""
        if parent.children_created:
            return
        parent.children_created = True
        for kind, trigger in (("tp", parent.tp_price), ("sl", parent.sl_price)):
            if trigger is None:
                continue
            now = self.clock()
            self._seq += 1
            child = Order(
                id=self._next_order_id,
                seq=self._seq,
                user=parent.user,
                symbol=parent.symbol,
                side="sell" if parent.is_buy else "buy",
                order_type="market",
                time_in_force="ioc",
                price=None,
                qty=parent.fill_qty,
                reduce_only=True,
                cl_ord_id=ulid(self._order_rng, now),
                leverage=parent.leverage,
                margin_mode=parent.margin_mode,
                position_id=parent.position_id,
                created_at=now,
                updated_at=now,
                status=UNTRIGGERED,
                remark="take profit" if kind == "tp" else "stop loss",
                source="tpsl",
                trigger_kind=kind,
                trigger_price=trigger,
                parent_id=parent.id,
            )
            self._next_order_id += 1
            self.orders[child.id] = child
            self.orders_by_user.setdefault(child.user, []).append(child)
            self.cl_ord_index[(child.user, child.cl_ord_id)] = child
            self._touch(child)

    def _check_triggers(self, symbol: str) -> None:
        """Fire untriggered TP/SL orders whose trigger the mark price has crossed (one of a pair cancels the other)."""
        mark = self.marks[symbol]
        for child in sorted(
            (o for o in self.orders.values() if o.symbol == symbol and o.status == UNTRIGGERED), key=lambda o: o.id
        ):
            if child.status != UNTRIGGERED:
                continue  # canceled as the sibling of an earlier trigger
            assert child.trigger_price is not None
            closes_long = not child.is_buy
            rising = mark >= child.trigger_price
            falling = mark <= child.trigger_price
            fire = (
                (rising if closes_long else falling)
                if child.trigger_kind == "tp"
                else (falling if closes_long else rising)
            )
            if not fire:
                continue
            for sibling in self.orders.values():
                if sibling.parent_id == child.parent_id and sibling is not child and sibling.status == UNTRIGGERED:
                    self._close(sibling, CANCELED, "canceled: the other TP/SL order triggered")
            self._touch(child)
            child.status = OPEN
            child.updated_at = self.clock()
            self._match(child)

    def _match(self, order: Order) -> None:
        book = self.books[order.symbol]
        opposite = book.opposite(order.is_buy)
        if order.reduce_only:
            reducible = self._reducible(order.user, order.symbol, order.is_buy)
            if reducible <= 0:
                self._close(order, REJECTED, "reduce only order rejected: no position to reduce")
                return
            if order.source != "tpsl":
                others = self._pending_reduce_only(order.user, order.symbol, order.is_buy, order)
                if order.qty > reducible - others:
                    self._close(
                        order,
                        REJECTED,
                        "reduce only order rejected: qty exceeds the position minus pending reduce-only orders",
                    )
                    return
        if order.time_in_force == "alo" and order.order_type == "limit":
            assert order.price is not None
            if opposite and opposite[0].price is not None and _crosses(order.is_buy, order.price, opposite[0].price):
                self._close(order, REJECTED, "alo order rejected")
                return
        while order.remaining > 0 and opposite:
            maker = opposite[0]
            assert maker.price is not None
            if order.price is not None and not _crosses(order.is_buy, order.price, maker.price):
                break
            qty = min(order.remaining, maker.remaining)
            if order.reduce_only:
                qty = min(qty, self._reducible(order.user, order.symbol, order.is_buy))
                if qty <= 0:
                    break
            if maker.reduce_only:
                maker_cap = self._reducible(maker.user, maker.symbol, maker.is_buy)
                if maker_cap <= 0:
                    self._close(maker, CANCELED, "reduce only order canceled: position closed")
                    continue
                qty = min(qty, maker_cap)
            self._execute(order, maker, maker.price, qty)
        if order.remaining <= 0:
            self._close(order, FILLED)
        elif (
            order.order_type == "limit"
            and order.time_in_force in ("gtc", "alo")
            and not (order.reduce_only and self._reducible(order.user, order.symbol, order.is_buy) <= 0)
        ):
            book.add(order)
            order.locked = self._order_lock(order)
        else:
            if order.reduce_only and self._reducible(order.user, order.symbol, order.is_buy) <= 0:
                reason = "reduce only order canceled: the position is closed"
            else:
                reason = "unfilled quantity canceled (no liquidity)"
            self._close(order, CANCELED, reason)

    def _execute(self, taker: Order, maker: Order, price: Decimal, qty: Decimal) -> None:
        now = self.clock()
        cfg = self.symbols[taker.symbol]
        for order, is_maker in ((maker, True), (taker, False)):
            fee_rate = cfg.maker_fee if is_maker else cfg.taker_fee
            self._apply_fill(order, price, qty, fee_rate, is_maker, now)
        if maker.remaining <= 0:
            self._close(maker, FILLED)
        else:
            maker.locked = self._order_lock(maker)
        pt = PublicTrade(
            id=self._next_public_trade_id,
            symbol=taker.symbol,
            price=price,
            qty=qty,
            is_buyer_taker=taker.is_buy,
            time=now,
        )
        self._next_public_trade_id += 1
        self.public_trades[taker.symbol].append(pt)
        self.changes.public_trades.append(pt)

    def _apply_fill(
        self, order: Order, price: Decimal, qty: Decimal, fee_rate: Decimal, is_maker: bool, now: datetime
    ) -> None:
        self._touch(order)
        acct = self.accounts[order.user]
        pos = self._position(order.user, order.symbol)
        value = price * qty
        fee = q9(value * fee_rate)
        realized = ZERO
        opening = qty
        if pos.qty != 0 and (pos.qty > 0) != order.is_buy:
            closing = min(qty, abs(pos.qty))
            cost = q9(pos.entry_value * closing / abs(pos.qty))
            realized = price * closing - cost if pos.qty > 0 else cost - price * closing
            if pos.margin_mode == "isolated":
                release = q9(pos.isolated_margin * closing / abs(pos.qty))
                pos.isolated_margin -= release
                acct.cross_balance += release
            pos.entry_value -= cost
            pos.qty += closing if pos.qty < 0 else -closing
            if pos.qty == 0:
                pos.entry_value = ZERO
                for o in self.open_orders(order.user, order.symbol):
                    if o.status == UNTRIGGERED:
                        self._close(o, CANCELED, "canceled: the position is closed")
                if pos.isolated_margin:
                    acct.cross_balance += pos.isolated_margin
                    pos.isolated_margin = ZERO
            pos.realized_pnl += realized
            acct.cross_balance += realized
            opening = qty - closing
        if opening > 0:
            pos.entry_value += price * opening
            pos.qty += opening if order.is_buy else -opening
            order.margin += q9(price * opening / order.leverage)
            if pos.margin_mode == "isolated":
                add = q9(price * opening / pos.leverage)
                acct.cross_balance -= add
                pos.isolated_margin += add
        acct.cross_balance -= fee
        pos.updated_at = now
        order.fill_qty += qty
        order.fill_value += value
        order.updated_at = now
        trade = Trade(
            id=self._next_trade_id,
            order_id=order.id,
            user=order.user,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee_qty=fee,
            pnl=realized,
            is_maker=is_maker,
            created_at=now,
        )
        self._next_trade_id += 1
        self.trades.append(trade)
        self.changes.trades.append(trade)
        self.trades_by_user.setdefault(order.user, []).append(trade)

    def find_order(self, user: str, order_id: int | None, cl_ord_id: str | None) -> Order:
        with self.lock:
            order: Order | None = None
            if order_id is not None:
                order = self.orders.get(order_id)
                mismatch = cl_ord_id is not None and order is not None and order.cl_ord_id != cl_ord_id
                if order is not None and (order.user != user or mismatch):
                    order = None
            elif cl_ord_id is not None:
                order = self.cl_ord_index.get((user, cl_ord_id))
            if order is None:
                raise EngineError("order not found", 404)
            return order

    def cancel_order(self, user: str, order_id: int | None, cl_ord_id: str | None) -> Order:
        with self.lock:
            order = self.find_order(user, order_id, cl_ord_id)
            if order.status not in PENDING:
                raise EngineError(f"order {order.id} is not open (status {order.status})")
            self._close(order, CANCELED, "canceled by user")
            return order

    def cancel_orders(self, user: str, order_ids: list[int], cl_ord_ids: list[str]) -> list[Order]:
        """Cancel every listed open order of the user; unknown or closed ones are skipped."""
        with self.lock:
            canceled: list[Order] = []
            targets: list[Order] = []
            for oid in order_ids:
                o = self.orders.get(oid)
                if o is not None and o.user == user:
                    targets.append(o)
            for cid in cl_ord_ids:
                o = self.cl_ord_index.get((user, cid))
                if o is not None:
                    targets.append(o)
            for o in targets:
                if o.status in PENDING:
                    self._close(o, CANCELED, "canceled by user")
                    canceled.append(o)
            return canceled

    # ------------------------------------------------------------------ position settings

    def change_leverage(self, user: str, symbol: str, leverage: int) -> None:
        with self.lock:
            cfg = self.symbol_config(symbol)
            if leverage < 1 or leverage > cfg.max_leverage:
                raise EngineError(f"leverage must be between 1 and {cfg.max_leverage}")
            pc = self.position_config(user, symbol)
            pos = self.positions.get((user, symbol))
            if pos is not None and pos.qty != 0 and pos.margin_mode == "isolated" and leverage != pc.leverage:
                needed = q9(pos.entry_value / leverage)
                shortfall = needed - pos.isolated_margin
                if shortfall > 0 and shortfall > self.balance(user)["cross_available"]:
                    raise EngineError("insufficient margin to lower the leverage of the isolated position")
                if shortfall > 0:
                    self.accounts[user].cross_balance -= shortfall
                    pos.isolated_margin += shortfall
            if pos is not None and pos.qty != 0 and pos.margin_mode == "cross" and leverage < pc.leverage:
                extra = q9(pos.entry_value / leverage) - q9(pos.entry_value / pc.leverage)
                if extra > self.balance(user)["cross_available"]:
                    raise EngineError("insufficient margin to lower the leverage")
            pc.leverage = leverage
            if pos is not None:
                pos.leverage = leverage
                pos.updated_at = self.clock()
            for o in self.open_orders(user, symbol):
                self._touch(o)
                o.leverage = leverage
                o.locked = self._order_lock(o)

    def change_margin_mode(self, user: str, symbol: str, margin_mode: str) -> None:
        with self.lock:
            self.symbol_config(symbol)
            if margin_mode not in MARGIN_MODES:
                raise EngineError(f"invalid margin_mode {margin_mode!r}")
            pc = self.position_config(user, symbol)
            if pc.margin_mode == margin_mode:
                return
            if self._position_qty(user, symbol) != 0:
                raise EngineError(f"cannot change margin mode while a {symbol} position is open")
            if self.open_orders(user, symbol):
                raise EngineError(f"cannot change margin mode while {symbol} orders are open")
            pc.margin_mode = margin_mode
            pos = self.positions.get((user, symbol))
            if pos is not None:
                pos.margin_mode = margin_mode
                pos.updated_at = self.clock()

    def transfer_margin(self, user: str, symbol: str, amount: Decimal) -> None:
        with self.lock:
            self.symbol_config(symbol)
            if amount == 0:
                raise EngineError("amount_in must not be zero")
            pos = self.positions.get((user, symbol))
            if pos is None or pos.qty == 0 or pos.margin_mode != "isolated":
                raise EngineError(f"no isolated position in {symbol}")
            acct = self.accounts[user]
            if amount > 0:
                available = self.balance(user)["cross_available"]
                if amount > available:
                    raise EngineError(f"insufficient balance: available {dstr(q9(available))} DUSD")
                acct.cross_balance -= amount
                pos.isolated_margin += amount
            else:
                required = q9(pos.entry_value / pos.leverage)
                removable = pos.isolated_margin - required
                if -amount > removable:
                    raise EngineError(
                        f"not enough isolated margin: at most {dstr(max(removable, ZERO))} DUSD can be removed"
                    )
                pos.isolated_margin += amount
                acct.cross_balance -= amount
            pos.updated_at = self.clock()

    # ------------------------------------------------------------------ admin

    def set_mark_price(self, symbol: str, price: Decimal) -> None:
        with self.lock:
            cfg = self.symbol_config(symbol)
            if price <= 0:
                raise EngineError("mark price must be positive")
            self.marks[symbol] = price.quantize(cfg.price_tick)
            self._check_triggers(symbol)

    def ensure_market_maker(self) -> Account:
        with self.lock:
            if self.market_maker_user is not None and self.market_maker_user in self.accounts:
                return self.accounts[self.market_maker_user]
            acct = self.create_account("market-maker", self.config.market_maker_balance, market_maker=True)
            self.market_maker_user = acct.user
            return acct

    def seed_market_maker(self, symbol: str, levels: int, spread: Decimal) -> list[Order]:
        """Replace the market maker's quotes in `symbol` with `levels` orders per side around the mark."""
        with self.lock:
            cfg = self.symbol_config(symbol)
            if levels < 1 or levels > 50:
                raise EngineError("levels must be between 1 and 50")
            if spread <= 0 or spread >= 1:
                raise EngineError("spread must be between 0 and 1 (relative, e.g. 0.0002)")
            mm = self.ensure_market_maker()
            for o in self.open_orders(mm.user, symbol):
                self._close(o, CANCELED, "market maker requote")
            pc = self.position_config(mm.user, symbol)
            pc.leverage = cfg.max_leverage
            generation = self._mm_generation.get(symbol, 0)
            self._mm_generation[symbol] = generation + 1
            rng = random.Random(f"market-maker:{self.config.seed}:{symbol}:{generation}")
            mark = self.marks[symbol]
            tick = cfg.price_tick
            best_bid = floor_to(mark * (1 - spread / 2), tick)
            best_ask = ceil_to(mark * (1 + spread / 2), tick)
            if best_ask <= best_bid:
                best_ask = best_bid + tick
            step = max(tick, floor_to(mark * spread / 2, tick))
            placed: list[Order] = []
            for i in range(levels):
                for side, price in (("buy", best_bid - step * i), ("sell", best_ask + step * i)):
                    book = self.books[symbol]
                    opp = book.opposite(side == "buy")
                    best = opp[0].price if opp else None
                    if price <= 0 or (best is not None and _crosses(side == "buy", price, best)):
                        continue
                    qty = (cfg.min_order_qty * rng.randint(5, 50)).quantize(cfg.qty_tick)
                    qty = min(qty, cfg.max_order_qty)
                    order = self.new_order(
                        mm.user,
                        {
                            "symbol": symbol,
                            "side": side,
                            "order_type": "limit",
                            "qty": str(qty),
                            "price": str(price),
                            "time_in_force": "gtc",
                            "reduce_only": False,
                        },
                        source="market_maker",
                    )
                    placed.append(order)
            return placed

    def settle_funding(self, symbol: str | None = None) -> list[FundingEntry]:
        """Charge the current funding rate on every open position (longs pay a positive rate)."""
        with self.lock:
            now = self.clock()
            entries: list[FundingEntry] = []
            for (user, sym), pos in sorted(self.positions.items(), key=lambda kv: kv[1].id):
                if pos.qty == 0 or (symbol is not None and sym != symbol):
                    continue
                rate = self.funding_rate(sym, now)
                payment = q9(-pos.qty * self.marks[sym] * rate)
                acct = self.accounts[user]
                if pos.margin_mode == "isolated":
                    pos.isolated_margin += payment
                else:
                    acct.cross_balance += payment
                entry = FundingEntry(self._next_funding_id, user, sym, payment, rate, now)
                self._next_funding_id += 1
                self.funding.append(entry)
                entries.append(entry)
            return entries

    # ------------------------------------------------------------------ market data

    def funding_rate(self, symbol: str, when: datetime) -> Decimal:
        hour = int(when.timestamp()) // 3600
        rng = random.Random(f"funding:{self.config.seed}:{symbol}:{hour}")
        return Decimal(rng.randint(-50, 150)).scaleb(-6)

    def funding_series(self, symbol: str, start_ms: int, end_ms: int, limit: int = 1000) -> list[dict[str, Any]]:
        cfg = self.symbol_config(symbol)
        now_s = int(self.clock().timestamp())
        first = -(-start_ms // 3_600_000)
        last = min(end_ms // 3_600_000, now_s // 3600)
        hours = list(range(first, last + 1))[-limit:] if last >= first else []
        mark = self.marks[symbol]
        out: list[dict[str, Any]] = []
        for h in hours:
            t = datetime.fromtimestamp(h * 3600, UTC)
            rate = self.funding_rate(symbol, t)
            out.append(
                {
                    "id": h,
                    "symbol": symbol,
                    "funding_rate": dstr(rate),
                    "index_price": fixed(mark, cfg.price_tick_decimals),
                    "mark_price": fixed(mark, cfg.price_tick_decimals),
                    "premium": dstr(rate),
                    "time": iso(t),
                    "created_at": iso(t),
                    "updated_at": iso(t),
                }
            )
        return out

    def price_snapshot(self, symbol: str) -> dict[str, Decimal | None]:
        with self.lock:
            self.symbol_config(symbol)
            book = self.books[symbol]
            bid, ask = book.best_bid(), book.best_ask()
            trades = self.public_trades[symbol]
            mid = (bid + ask) / 2 if bid is not None and ask is not None else None
            return {
                "mark_price": self.marks[symbol],
                "index_price": self.marks[symbol],
                "last_price": trades[-1].price if trades else None,
                "mid_price": mid,
                "spread_bid": bid,
                "spread_ask": ask,
            }

    def stats_24h(self, symbol: str) -> dict[str, Decimal | None]:
        since = self.clock() - timedelta(hours=24)
        recent = [t for t in self.public_trades[symbol] if t.time >= since]
        if not recent:
            return {"high": None, "low": None, "open": None, "volume": ZERO, "quote_volume": ZERO}
        return {
            "high": max(t.price for t in recent),
            "low": min(t.price for t in recent),
            "open": recent[0].price,
            "volume": sum((t.qty for t in recent), ZERO),
            "quote_volume": sum((t.price * t.qty for t in recent), ZERO),
        }

    def open_interest(self, symbol: str) -> Decimal:
        return sum((p.qty for (_, s), p in self.positions.items() if s == symbol and p.qty > 0), ZERO)

    def next_funding_time(self) -> datetime:
        now = self.clock()
        return datetime.fromtimestamp((int(now.timestamp()) // 3600 + 1) * 3600, UTC)

    def depth(self, symbol: str, limit: int | None = None) -> dict[str, list[tuple[Decimal, Decimal]]]:
        with self.lock:
            self.symbol_config(symbol)
            book = self.books[symbol]
            bids, asks = book.levels(book.bids), book.levels(book.asks)
            if limit is not None:
                bids, asks = bids[:limit], asks[:limit]
            return {"bids": bids, "asks": asks}

    def recent_trades(self, symbol: str, limit: int = 50) -> list[PublicTrade]:
        with self.lock:
            self.symbol_config(symbol)
            return list(reversed(self.public_trades[symbol][-limit:]))

    def kline(
        self, symbol: str, resolution: str, start_s: int, end_s: int, countback: int | None = None
    ) -> dict[str, list[Any]] | None:
        """OHLCV bars (UDF style) from the public trades in [start_s, end_s]; None when there are none."""
        with self.lock:
            self.symbol_config(symbol)
            if resolution not in KLINE_RESOLUTIONS:
                raise EngineError(f"invalid resolution {resolution!r}")
            trades = [t for t in self.public_trades[symbol] if start_s <= int(t.time.timestamp()) <= end_s]
        if not trades:
            return None
        bars: list[list[Any]] = []  # [t, o, h, l, c, v]
        for tr in trades:
            ts = int(tr.time.timestamp())
            if resolution == "1T":
                bucket = ts
            elif resolution == "1M":
                d = tr.time.astimezone(UTC)
                bucket = calendar.timegm((d.year, d.month, 1, 0, 0, 0))
            else:
                size = KLINE_SECONDS[resolution]
                bucket = ts - ts % size
            if bars and bars[-1][0] == bucket and resolution != "1T":
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
        return {
            "t": [b[0] for b in bars],
            "o": [b[1] for b in bars],
            "h": [b[2] for b in bars],
            "l": [b[3] for b in bars],
            "c": [b[4] for b in bars],
            "v": [b[5] for b in bars],
        }

    # ------------------------------------------------------------------ serialisation

    def order_json(self, o: Order) -> dict[str, Any]:
        cfg = self.symbols[o.symbol]
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
            "liq_id": 0,
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

    def trade_json(self, t: Trade) -> dict[str, Any]:
        cfg = self.symbols[t.symbol]
        return {
            "created_at": iso(t.created_at),
            "fee_asset": "DUSD",
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

    def position_json(self, pos: Position) -> dict[str, Any]:
        cfg = self.symbols[pos.symbol]
        mark = self.marks[pos.symbol]
        qty_abs = abs(pos.qty)
        entry_price = q9(pos.entry_price)
        upnl = pos.upnl(mark)
        position_value = qty_abs * mark
        initial_margin = q9(pos.entry_value / pos.leverage)
        maint_margin = q9(position_value * cfg.maint_margin_rate)
        if pos.margin_mode == "isolated":
            holding = pos.isolated_margin
            collateral = pos.isolated_margin
        else:
            holding = initial_margin
            bal = self.balance(pos.user)
            collateral = bal["cross_balance"] - bal["locked"] + bal["cross_upnl"] - upnl
        liq = self._liq_price(pos, collateral, cfg.maint_margin_rate, cfg)
        bankruptcy = self._liq_price(pos, collateral, ZERO, cfg)
        denominator = collateral + upnl
        mmr = q9(maint_margin / denominator * 100) if pos.qty and denominator > 0 else None
        return {
            "bankruptcy_price": fixed(bankruptcy, cfg.price_tick_decimals) if bankruptcy is not None else "0",
            "created_at": iso(pos.created_at),
            "entry_price": dstr(entry_price),
            "entry_value": dstr(pos.entry_value),
            "holding_margin": dstr(holding),
            "id": pos.id,
            "initial_margin": dstr(initial_margin),
            "leverage": str(pos.leverage),
            "liq_price": fixed(liq, cfg.price_tick_decimals) if liq is not None else None,
            "maint_margin": dstr(maint_margin),
            "margin_asset": "DUSD",
            "margin_mode": pos.margin_mode,
            "mark_price": fixed(mark, cfg.price_tick_decimals),
            "mmr": dstr(mmr) if mmr is not None else None,
            "position_value": dstr(position_value),
            "qty": fixed(pos.qty, cfg.qty_tick_decimals),
            "realized_pnl": dstr(pos.realized_pnl),
            "status": "open",
            "symbol": pos.symbol,
            "time": iso(self.clock()),
            "updated_at": iso(pos.updated_at),
            "upnl": dstr(upnl),
            "user": pos.user,
        }

    @staticmethod
    def _liq_price(pos: Position, collateral: Decimal, mmr: Decimal, cfg: SymbolConfig) -> Decimal | None:
        q = abs(pos.qty)
        if q == 0:
            return None
        if pos.qty > 0:
            price = (pos.entry_value - collateral) / (q * (1 - mmr))
            price = ceil_to(price, cfg.price_tick)
        else:
            price = (pos.entry_value + collateral) / (q * (1 + mmr))
            price = floor_to(price, cfg.price_tick)
        return price if price > 0 else None

    def funding_json(self, f: FundingEntry) -> dict[str, Any]:
        return {
            "id": f.id,
            "user": f.user,
            "asset": "DUSD",
            "symbol": f.symbol,
            "qty": dstr(f.qty),
            "txn_type": "funding",
            "transact_time": iso(f.time),
            "created_at": iso(f.time),
            "updated_at": iso(f.time),
        }

    def symbol_info_json(self, cfg: SymbolConfig, created: datetime) -> dict[str, Any]:
        return {
            "base_asset": cfg.base_asset,
            "base_decimals": cfg.base_decimals,
            "created_at": iso(created),
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
            "updated_at": iso(created),
        }
