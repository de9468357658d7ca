"""The exchange engine: every change to the state goes through here, under the state's lock. It ties the
concerns together: orders (`matching`), margin (`accounts`), market data (`market`) and liquidations
(`liquidation`), and runs the moving market on the mock's clock: funding at each funding time, the
optional random walk of the mark, TP/SL triggers and liquidations whenever a mark moves."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from . import accounts, liquidation, market, matching
from .config import MockConfig, RandomWalk
from .state import Account, EngineError, ExchangeState, FundingEntry, Order, Vault


@dataclass
class MarketEvents:
    """What a move of the market did: funding payments made and liquidation orders filled."""

    funding: list[FundingEntry] = field(default_factory=list)
    liquidations: list[Order] = field(default_factory=list)

    def extend(self, other: MarketEvents) -> None:
        self.funding += other.funding
        self.liquidations += other.liquidations


class Engine:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.state = ExchangeState(config)
        self.lock = self.state.lock
        self.quote_market_maker()

    # ------------------------------------------------------------------ lifecycle

    def reset(self, keep_accounts: bool = True) -> None:
        """Back to the initial state and clock. Kept accounts get their initial balance back."""
        with self.lock:
            state = self.state
            state.clock.reset()
            if keep_accounts:
                for acct in state.accounts.values():
                    acct.cross_balance = acct.initial_balance
                    acct.configs.clear()
            else:
                state.reset_accounts()
            state.reset_market()
            self.quote_market_maker()

    def quote_market_maker(self, symbols: Iterable[str] | None = None) -> None:
        """The configured market maker's book on `symbols` (None: every symbol); nothing when it is off."""
        if self.config.market_maker:
            for symbol in self.state.symbols if symbols is None else symbols:
                self.requote(symbol, self.config.market_maker_levels, self.config.market_maker_spread)

    # ------------------------------------------------------------------ accounts

    def create_account(self, public_key: str, balance: Decimal | None = None) -> Account:
        with self.lock:
            return accounts.create_account(self.state, public_key, balance)

    def add_key(self, user: str, public_key: str) -> Account:
        with self.lock:
            acct = self.state.account(user)
            acct.public_keys.append(public_key)
            return acct

    def create_vault(self, owner: str, balance: Decimal | None = None) -> Vault:
        with self.lock:
            return accounts.create_vault(self.state, owner, balance)

    def acting_user(self, user: str | None, vault_id: str) -> str:
        with self.lock:
            return accounts.acting_user(self.state, user, vault_id)

    # ------------------------------------------------------------------ trading

    def new_order(self, user: str, params: dict[str, Any]) -> Order:
        with self.lock:
            return matching.new_order(self.state, user, params)

    def cancel_order(self, user: str, order_id: int | None, cl_ord_id: str | None) -> Order:
        with self.lock:
            return matching.cancel_order(self.state, user, order_id, cl_ord_id)

    def cancel_orders(self, user: str, order_ids: list[int], cl_ord_ids: list[str]) -> list[Order]:
        with self.lock:
            return matching.cancel_orders(self.state, user, order_ids, cl_ord_ids)

    def change_leverage(self, user: str, symbol: str, leverage: int) -> None:
        with self.lock:
            accounts.change_leverage(self.state, user, symbol, leverage)

    def change_margin_mode(self, user: str, symbol: str, margin_mode: str) -> None:
        with self.lock:
            accounts.change_margin_mode(self.state, user, symbol, margin_mode)

    def transfer_margin(self, user: str, symbol: str, amount: Decimal) -> None:
        with self.lock:
            accounts.transfer_margin(self.state, user, symbol, amount)

    def requote(self, symbol: str, levels: int, spread: Decimal) -> list[Order]:
        with self.lock:
            return matching.quote_market_maker(self.state, symbol, levels, spread)

    # ------------------------------------------------------------------ the moving market

    def set_mark_price(self, symbol: str, price: Decimal, *, requote: bool = False) -> MarketEvents:
        """Move the mark: TP/SL triggers fire and positions past their liquidation price are liquidated."""
        with self.lock:
            cfg = self.state.symbol_config(symbol)
            if not price.is_finite() or price <= 0:
                raise EngineError("mark price must be positive")
            events = self._move_mark(symbol, price.quantize(cfg.price_tick))
            if requote:
                self.quote_market_maker([symbol])
            return events

    def _move_mark(self, symbol: str, price: Decimal) -> MarketEvents:
        self.state.marks[symbol] = price
        matching.check_triggers(self.state, symbol)
        return MarketEvents(liquidations=liquidation.check(self.state, symbol))

    def set_funding_rate(self, symbol: str, rate: Decimal | None) -> None:
        """Fix the funding rate of `symbol` (None: back to the seeded rate of each period)."""
        with self.lock:
            self.state.symbol_config(symbol)
            if rate is None:
                self.state.funding_rates.pop(symbol, None)
            else:
                self.state.funding_rates[symbol] = rate

    def settle_funding(
        self, symbol: str | None = None, rate: Decimal | None = None, when: datetime | None = None
    ) -> MarketEvents:
        """Charge one funding period on every open position (longs pay a positive rate), then liquidate
        what the payments pushed past its liquidation price."""
        with self.lock:
            state = self.state
            if symbol is not None:
                state.symbol_config(symbol)
            at = when or state.clock.now()
            events = MarketEvents()
            for pos in sorted(state.positions.values(), key=lambda p: p.id):
                if pos.qty != 0 and (symbol is None or pos.symbol == symbol):
                    paid = rate if rate is not None else market.funding_rate(state, pos.symbol, at)
                    events.funding.append(accounts.pay_funding(state, pos, paid, at))
            events.liquidations += liquidation.check(state, symbol)
            return events

    def set_random_walk(self, walk: RandomWalk | None) -> None:
        with self.lock:
            self.catch_up()
            self.state.random_walk = walk

    def advance(self, seconds: float) -> MarketEvents:
        """Move the mock clock forward and run what fell due on the way, in time order."""
        with self.lock:
            events = self.catch_up()  # what was due before the jump keeps its own time
            self.state.clock.advance(seconds)
            events.extend(self.catch_up())
            return events

    def catch_up(self) -> MarketEvents:
        """Run the funding times and random-walk steps between the last run and now, oldest first."""
        with self.lock:
            state = self.state
            start, end = state.events_done_at, state.clock.timestamp()
            events = MarketEvents()
            if end <= start:
                return events
            schedule: list[tuple[float, int, str]] = []  # (mock time, order within a time, symbol or "")
            interval = self.config.market.funding_interval_s
            if interval:
                schedule += [(k * interval, 1, "") for k in _ticks(start, end, interval)]
            walk = state.random_walk
            if walk is not None:
                for k in _ticks(start, end, walk.interval_s):
                    schedule += [(k * walk.interval_s, 0, s) for s in market.walking_symbols(state, walk)]
            walked: set[str] = set()
            for at, kind, symbol in sorted(schedule):
                when = datetime.fromtimestamp(at, UTC)
                if kind == 1:
                    events.extend(self.settle_funding(when=when))
                elif walk is not None:
                    step = state.walk_steps.get(symbol, 0) + 1
                    state.walk_steps[symbol] = step
                    events.extend(self._move_mark(symbol, market.walk_step(state, walk, symbol, step)))
                    walked.add(symbol)
            state.events_done_at = end
            if walk is not None and walk.requote:
                self.quote_market_maker(sorted(walked))
            return events

    def seconds_to_next_event(self) -> float | None:
        """Mock seconds until the next funding time or random-walk step (None: nothing scheduled)."""
        with self.lock:
            now = self.state.clock.timestamp()
            intervals = [float(self.config.market.funding_interval_s or 0)]
            if self.state.random_walk is not None:
                intervals.append(self.state.random_walk.interval_s)
            waits = [(math.floor(now / i) + 1) * i - now for i in intervals if i > 0]
            return min(waits) if waits else None


def _ticks(start: float, end: float, interval: float) -> range:
    """The k with start < k * interval <= end."""
    return range(math.floor(start / interval) + 1, math.floor(end / interval) + 1)
