"""Accounts and margin: funded accounts and vaults, position settings, balances, fills into positions,
funding payments, and the liquidation and bankruptcy prices. Callers hold `state.lock`."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from .config import SymbolConfig
from .enums import CROSS, ISOLATED, MARGIN_MODES, OPEN, UNTRIGGERED
from .state import Account, EngineError, ExchangeState, FundingEntry, Order, Position, PositionConfig, Trade, Vault
from .util import ceil_to, dstr, floor_to, q9

ZERO = Decimal(0)


# ---------------------------------------------------------------------- accounts and vaults


def create_account(
    state: ExchangeState,
    public_key: str,
    balance: Decimal | None = None,
    *,
    user: str | None = None,
    address: str | None = None,
) -> Account:
    """A funded account; a random `bsc_0x...` one unless `user` and `address` are given (wallet sign-in)."""
    if user is not None and address is not None:
        if user in state.accounts:
            raise EngineError(f"account {user} exists")
    else:
        while True:
            address = "0x" + format(state.account_rng.getrandbits(160), "040x")
            user = f"bsc_{address}"
            if user not in state.accounts:
                break
    amount = state.config.balance if balance is None else balance
    acct = Account(
        user=user,
        address=address,
        public_keys=[public_key],
        initial_balance=amount,
        cross_balance=amount,
        created_at=state.clock.now(),
    )
    state.accounts[user] = acct
    return acct


def ensure_market_maker(state: ExchangeState) -> Account:
    if state.market_maker_user is not None and state.market_maker_user in state.accounts:
        return state.accounts[state.market_maker_user]
    acct = create_account(state, "market-maker", state.config.market_maker_balance)
    state.market_maker_user = acct.user
    return acct


def create_vault(state: ExchangeState, owner: str, balance: Decimal | None = None) -> Vault:
    """A funded vault account that `owner` may act for with `x-impersonate: <vault id>`."""
    state.account(owner)
    acct = create_account(state, "vault", balance)
    vault = Vault(id=f"cv_{acct.address[2:14]}", user=acct.user, owner=owner)
    state.vaults[vault.id] = vault
    return vault


def acting_user(state: ExchangeState, user: str | None, vault_id: str) -> str:
    """The account a request that impersonates `vault_id` acts for: the vault's, when the caller owns it;
    403 otherwise (an unknown vault, another's, or no caller: `user` None)."""
    vault = state.vaults.get(vault_id)
    if vault is None or vault.owner != user:
        raise EngineError(f"Forbidden - the caller does not own vault {vault_id}", 403)
    return vault.user


# ---------------------------------------------------------------------- positions


def position_config(state: ExchangeState, user: str, symbol: str) -> PositionConfig:
    acct = state.account(user)
    cfg = state.symbol_config(symbol)
    pc = acct.configs.get(symbol)
    if pc is None:
        pc = PositionConfig(leverage=cfg.def_leverage, margin_mode=CROSS)
        acct.configs[symbol] = pc
    return pc


def position_id(state: ExchangeState, user: str, symbol: str) -> int:
    key = (user, symbol)
    pid = state.position_ids.get(key)
    if pid is None:
        pid = state.next_position_id
        state.next_position_id += 1
        state.position_ids[key] = pid
    return pid


def position(state: ExchangeState, user: str, symbol: str) -> Position:
    """The user's position in `symbol`, created flat on first use."""
    key = (user, symbol)
    pos = state.positions.get(key)
    if pos is None:
        pc = position_config(state, user, symbol)
        now = state.clock.now()
        pos = Position(
            id=position_id(state, user, symbol),
            user=user,
            symbol=symbol,
            margin_mode=pc.margin_mode,
            leverage=pc.leverage,
            created_at=now,
            updated_at=now,
        )
        state.positions[key] = pos
    return pos


# ---------------------------------------------------------------------- balances


def order_margin(cfg: SymbolConfig, qty: Decimal, price: Decimal, leverage: int) -> Decimal:
    """What an order of `qty` at `price` needs: its margin at `leverage` and the taker fee."""
    notional = qty * price
    return q9(notional / leverage + notional * cfg.taker_fee)


def initial_margin(pos: Position, leverage: int | None = None) -> Decimal:
    """The position's entry value over `leverage` (its own when None)."""
    return q9(pos.entry_value / (pos.leverage if leverage is None else leverage))


def order_lock(state: ExchangeState, order: Order) -> Decimal:
    """What a resting order locks: its margin and the taker fee (reduce-only orders lock nothing)."""
    if order.status != OPEN or order.reduce_only or order.price is None:
        return ZERO
    return order_margin(state.symbols[order.symbol], order.remaining, order.price, order.leverage)


def balance(state: ExchangeState, user: str) -> dict[str, Decimal]:
    """The fields of `query_balance`, exact."""
    acct = state.account(user)
    cross_margin = ZERO
    cross_upnl = ZERO
    isolated_balance = ZERO
    isolated_upnl = ZERO
    for pos in state.user_positions(user):
        upnl = pos.upnl(state.marks[pos.symbol])
        if pos.margin_mode == ISOLATED:
            isolated_balance += pos.isolated_margin
            isolated_upnl += upnl
        else:
            cross_margin += initial_margin(pos) if pos.qty else ZERO
            cross_upnl += upnl
    locked = sum((o.locked for o in state.open_orders(user)), ZERO)
    cross_available = acct.cross_balance - cross_margin - locked + cross_upnl
    total = acct.cross_balance + isolated_balance
    upnl = cross_upnl + isolated_upnl
    since = state.clock.now() - timedelta(hours=24)
    pnl_24h = sum((t.pnl for t in state.trades_by_user.get(user, []) if t.created_at >= since), ZERO)
    return {
        "isolated_balance": isolated_balance,
        "isolated_upnl": isolated_upnl,
        "cross_balance": acct.cross_balance,
        "cross_margin": cross_margin,
        "cross_upnl": cross_upnl,
        "locked": locked,
        "cross_available": cross_available,
        "balance": total,
        "upnl": upnl,
        "equity": total + upnl,
        "pnl_freeze": pnl_24h,
    }


def available(state: ExchangeState, user: str) -> Decimal:
    return balance(state, user)["cross_available"]


# ---------------------------------------------------------------------- fills


def apply_fill(
    state: ExchangeState, order: Order, price: Decimal, qty: Decimal, fee_rate: Decimal, now: datetime
) -> Trade:
    """Book one fill of `order` into its position and the account's balance; returns the user's trade."""
    state.touch(order)
    acct = state.accounts[order.user]
    pos = position(state, order.user, order.symbol)
    value = price * qty
    fee = q9(value * fee_rate)
    realized = ZERO
    opening = qty
    if pos.qty != 0 and (pos.qty > 0) != order.is_buy:
        closing = min(qty, abs(pos.qty))
        cost = q9(pos.entry_value * closing / abs(pos.qty))
        realized = price * closing - cost if pos.qty > 0 else cost - price * closing
        if pos.margin_mode == ISOLATED:
            release = q9(pos.isolated_margin * closing / abs(pos.qty))
            pos.isolated_margin -= release
            acct.cross_balance += release
        pos.entry_value -= cost
        pos.qty += closing if pos.qty < 0 else -closing
        if pos.qty == 0:
            pos.entry_value = ZERO
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
        if pos.margin_mode == ISOLATED:
            add = q9(price * opening / pos.leverage)
            acct.cross_balance -= add
            pos.isolated_margin += add
    acct.cross_balance -= fee
    pos.updated_at = now
    order.fill_qty += qty
    order.fill_value += value
    order.updated_at = now
    trade = Trade(
        id=state.next_trade_id,
        order_id=order.id,
        user=order.user,
        symbol=order.symbol,
        side=order.side,
        price=price,
        qty=qty,
        fee_qty=fee,
        pnl=realized,
        created_at=now,
    )
    state.next_trade_id += 1
    state.changes.trades.append(trade)
    state.trades_by_user.setdefault(order.user, []).append(trade)
    return trade


def untriggered_after_close(state: ExchangeState, user: str, symbol: str) -> list[Order]:
    """The TP/SL orders left waiting on a position that is now flat (the caller cancels them)."""
    if state.position_qty(user, symbol) != 0:
        return []
    return [o for o in state.open_orders(user, symbol) if o.status == UNTRIGGERED]


# ---------------------------------------------------------------------- funding


def pay_funding(state: ExchangeState, pos: Position, rate: Decimal, when: datetime) -> FundingEntry:
    """Charge one funding period on an open position (a long pays a positive rate) at the mark price."""
    payment = q9(-pos.qty * state.marks[pos.symbol] * rate)
    if pos.margin_mode == ISOLATED:
        pos.isolated_margin += payment
    else:
        state.accounts[pos.user].cross_balance += payment
    entry = FundingEntry(state.next_funding_id, pos.user, pos.symbol, payment, rate, when)
    state.next_funding_id += 1
    state.funding.append(entry)
    return entry


# ---------------------------------------------------------------------- position settings


def change_leverage(state: ExchangeState, user: str, symbol: str, leverage: int) -> None:
    cfg = state.symbol_config(symbol)
    if leverage < 1 or leverage > cfg.max_leverage:
        raise EngineError(f"leverage must be between 1 and {cfg.max_leverage}")
    pc = position_config(state, user, symbol)
    pos = state.positions.get((user, symbol))
    if pos is not None and pos.qty != 0 and pos.margin_mode == ISOLATED and leverage != pc.leverage:
        shortfall = initial_margin(pos, leverage) - pos.isolated_margin
        if shortfall > 0 and shortfall > available(state, user):
            raise EngineError("insufficient margin to lower the leverage of the isolated position")
        if shortfall > 0:
            state.accounts[user].cross_balance -= shortfall
            pos.isolated_margin += shortfall
    if pos is not None and pos.qty != 0 and pos.margin_mode == CROSS and leverage < pc.leverage:
        extra = initial_margin(pos, leverage) - initial_margin(pos, pc.leverage)
        if extra > available(state, user):
            raise EngineError("insufficient margin to lower the leverage")
    pc.leverage = leverage
    if pos is not None:
        pos.leverage = leverage
        pos.updated_at = state.clock.now()
    for o in state.open_orders(user, symbol):
        state.touch(o)
        o.leverage = leverage
        o.locked = order_lock(state, o)


def change_margin_mode(state: ExchangeState, user: str, symbol: str, margin_mode: str) -> None:
    state.symbol_config(symbol)
    if margin_mode not in MARGIN_MODES:
        raise EngineError(f"invalid margin_mode {margin_mode!r}")
    pc = position_config(state, user, symbol)
    if pc.margin_mode == margin_mode:
        return
    if state.position_qty(user, symbol) != 0:
        raise EngineError(f"cannot change margin mode while a {symbol} position is open")
    if state.open_orders(user, symbol):
        raise EngineError(f"cannot change margin mode while {symbol} orders are open")
    pc.margin_mode = margin_mode
    pos = state.positions.get((user, symbol))
    if pos is not None:
        pos.margin_mode = margin_mode
        pos.updated_at = state.clock.now()


def transfer_margin(state: ExchangeState, user: str, symbol: str, amount: Decimal) -> None:
    state.symbol_config(symbol)
    if amount == 0:
        raise EngineError("amount_in must not be zero")
    pos = state.positions.get((user, symbol))
    if pos is None or pos.qty == 0 or pos.margin_mode != ISOLATED:
        raise EngineError(f"no isolated position in {symbol}")
    acct = state.accounts[user]
    if amount > 0:
        free = available(state, user)
        if amount > free:
            raise EngineError(f"insufficient balance: available {dstr(q9(free))} DUSD")
        acct.cross_balance -= amount
        pos.isolated_margin += amount
    else:
        removable = pos.isolated_margin - initial_margin(pos)
        if -amount > removable:
            raise EngineError(f"not enough isolated margin: at most {dstr(max(removable, ZERO))} DUSD can be removed")
        pos.isolated_margin += amount
        acct.cross_balance -= amount
    pos.updated_at = state.clock.now()


# ---------------------------------------------------------------------- liquidation and bankruptcy prices


def collateral(state: ExchangeState, pos: Position) -> Decimal:
    """What backs the position: its isolated margin, or the cross balance less open-order locks plus the
    other cross positions' unrealized pnl."""
    if pos.margin_mode == ISOLATED:
        return pos.isolated_margin
    bal = balance(state, pos.user)
    return bal["cross_balance"] - bal["locked"] + bal["cross_upnl"] - pos.upnl(state.marks[pos.symbol])


def threshold_price(
    state: ExchangeState, pos: Position, maint_rate: Decimal, backing: Decimal | None = None
) -> Decimal | None:
    """The mark at which collateral + upnl falls to `maint_rate` x position value, rounded towards the
    entry (so a mark at or beyond the shown price is past it): the liquidation price with the symbol's
    maintenance rate, the bankruptcy price with 0. None when flat or never reached. `backing` is the
    position's `collateral` when the caller has it already (it sums the whole balance)."""
    q = abs(pos.qty)
    if q == 0:
        return None
    cfg = state.symbols[pos.symbol]
    if backing is None:
        backing = collateral(state, pos)
    if pos.qty > 0:
        price = ceil_to((pos.entry_value - backing) / (q * (1 - maint_rate)), cfg.price_tick)
    else:
        price = floor_to((pos.entry_value + backing) / (q * (1 + maint_rate)), cfg.price_tick)
    return price if price > 0 else None


def liquidation_price(state: ExchangeState, pos: Position, backing: Decimal | None = None) -> Decimal | None:
    return threshold_price(state, pos, state.symbols[pos.symbol].maint_margin_rate, backing)


def bankruptcy_price(state: ExchangeState, pos: Position, backing: Decimal | None = None) -> Decimal | None:
    return threshold_price(state, pos, ZERO, backing)
