"""Commands made from the spec's operation table: `standx api <tag> <operation>` for every operation (options from
each argument's rule), and the everyday `market` and `account` commands, which are the same operations with
positional symbols, defaults and table columns."""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._commands import COMMANDS, TAGS
from .._operation import Param
from .._operations import OPERATIONS
from .._tables import RESOLUTION_BAR_LENGTH

if TYPE_CHECKING:
    from . import Run

Values = dict[str, Any]


def flag(py: str) -> str:
    """`--cl-ord-id` for cl_ord_id, `--from` for from_."""
    return "--" + py.rstrip("_").replace("_", "-")


def _datetime(text: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; add Z or +00:00")
    return value


_TYPES: dict[str, Callable[[str], Any]] = {"integer": int, "datetime": _datetime}


def _argument(param: Param, help_text: str) -> dict[str, Any]:
    """argparse keywords for one operation argument. Decimals stay text: the client checks and sends them
    exactly, so money never passes through float."""
    rule, kind = param.rule, param.rule["kind"]
    kwargs: dict[str, Any] = {"dest": param.py, "help": help_text or None}
    if kind == "boolean":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind == "enum":
        kwargs["choices"] = rule["values"]
    elif kind == "array":
        kwargs.update(nargs="+", type=_TYPES.get(rule["items"]["kind"], str), metavar=param.py.upper().rstrip("_"))
    else:
        kwargs["type"] = _TYPES.get(kind, str)
        kwargs["metavar"] = "DECIMAL" if kind == "decimal" else param.py.upper().rstrip("_")
    return kwargs


def add_operation_arguments(
    parser: argparse.ArgumentParser,
    name: str,
    *,
    positional: Sequence[str] = (),
    defaults: Values | None = None,
    computed: Sequence[str] = (),
) -> None:
    """One option per argument of the operation (positional ones as arguments); required unless defaulted,
    computed by the command, or optional in the spec."""
    helps = COMMANDS[name].help
    for param in OPERATIONS[name].params:
        kwargs = _argument(param, helps.get(param.py, ""))
        if defaults and param.py in defaults:
            kwargs["default"] = defaults[param.py]
            kwargs["help"] = f"{kwargs['help'] or ''} (default {defaults[param.py]})".strip()
        if param.py in positional:
            dest = kwargs.pop("dest")
            if not param.required:
                kwargs["nargs"] = "?"
            parser.add_argument(dest, **kwargs)
        else:
            required = param.required and param.py not in computed and not (defaults and param.py in defaults)
            parser.add_argument(flag(param.py), required=required, **kwargs)


def operation_values(run: Run, name: str) -> Values:
    return {p.py: run.opt(p.py) for p in OPERATIONS[name].params}


def call(run: Run, name: str, values: Values) -> Any:
    op = OPERATIONS[name]
    with run.client(auth=op.auth, signed=op.signed) as client:
        return getattr(client, name)(**values)


def _run_operation(run: Run) -> int:
    name = run.opt("operation")
    run.out.result(call(run, name, operation_values(run, name)))
    return 0


def add_api(nouns: Any, common: argparse.ArgumentParser) -> None:
    """`api <tag> <operation>`: every operation of the spec, grouped by its tag, named by its operationId."""
    api = nouns.add_parser(
        "api",
        parents=[common],
        help="every operation of the spec: api <tag> <operation> [options]",
        description="Every operation of the StandX spec, by tag. Options are the operation's arguments.",
    )
    tags = api.add_subparsers(dest="tag", metavar="TAG", required=True)
    for tag, text in TAGS.items():
        group = tags.add_parser(tag, parents=[common], help=text, description=text)
        operations = group.add_subparsers(dest="verb", metavar="OPERATION", required=True)
        for name, command in COMMANDS.items():
            if command.tag != tag:
                continue
            verb = name.replace("_", "-")
            aliases = [name] if verb != name else []
            parser = operations.add_parser(
                verb, aliases=aliases, parents=[common], help=command.summary, description=command.summary
            )
            add_operation_arguments(parser, name)
            parser.set_defaults(handler=_run_operation, operation=name)


# --- Everyday commands: operations with a trader's defaults ---------------------------------------------------


@dataclass(frozen=True)
class Everyday:
    """`standx <noun> <verb>`: one operation with positional arguments, defaults, computed arguments and a view."""

    operation: str
    help: str
    positional: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    defaults: Values = field(default_factory=dict)
    computed: tuple[str, ...] = ()  # filled by `prepare` when not given
    prepare: Callable[[Run, Values], None] | None = None
    extra: Callable[[argparse.ArgumentParser], None] | None = None
    view: Callable[[Run, Any], None] | None = None


def _last_hours(start: str, end: str, scale: int) -> Callable[[Run, Values], None]:
    def prepare(run: Run, values: Values) -> None:
        now = int(time.time() * scale)
        values[end] = values[end] if values[end] is not None else now
        if values[start] is None:
            values[start] = values[end] - int(run.opt("hours") * 3600 * scale)

    return prepare


def _hours_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=float, default=24.0, help="how far back (default 24)")


# How far back `count_back` bars reach: each resolution's bar length from the spec; a bar of one trade is taken
# as a second, a calendar month as 31 days.
_UNSIZED_BAR_SECONDS = {"trade": 1, "month": 31 * 86400}


def _kline_range(run: Run, values: Values) -> None:
    resolution = values["resolution"]
    length = RESOLUTION_BAR_LENGTH[resolution]
    bar = _UNSIZED_BAR_SECONDS[length] if isinstance(length, str) else length
    values["to"] = values["to"] if values["to"] is not None else int(time.time())
    if values["from_"] is None:
        values["from_"] = values["to"] - bar * values["count_back"]


def _kline_rows(run: Run, history: Any) -> None:
    if run.out.json:
        run.out.result(history)  # the exchange's own shape, exact
        return
    data = history.to_dict()
    times = data.get("t") or []
    columns = ("t", "o", "h", "l", "c", "v")
    rows = [
        {"time": datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M")}
        | {c: (data.get(c) or [None] * len(times))[i] for c in columns[1:]}
        for i, t in enumerate(times)
    ]
    run.out.result(rows, ("time", "o", "h", "l", "c", "v"))


def _depth_rows(run: Run, book: Any) -> None:
    if run.out.json:
        run.out.result(book)
        return
    levels = run.opt("levels")
    bids = sorted(book.bids, key=lambda level: level[0], reverse=True)[:levels]
    asks = sorted(book.asks, key=lambda level: level[0])[:levels]
    rows = []
    for i in range(max(len(bids), len(asks))):
        bid = bids[i] if i < len(bids) else [None, None]
        ask = asks[i] if i < len(asks) else [None, None]
        rows.append({"bid_qty": bid[1], "bid": bid[0], "ask": ask[0], "ask_qty": ask[1]})
    run.out.result(rows, ("bid_qty", "bid", "ask", "ask_qty"))


def _levels_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--levels", type=int, default=10, help="price levels per side (default 10)")


def _page(columns: tuple[str, ...]) -> Callable[[Run, Any], None]:
    """A paginated answer ({page_size, result, ...}): JSON as the exchange sent it, a table of its items."""

    def view(run: Run, page: Any) -> None:
        if run.out.json:
            run.out.result(page)
        else:
            run.out.result(page.result, columns)

    return view


ORDER_COLUMNS = (
    "id",
    "cl_ord_id",
    "symbol",
    "side",
    "order_type",
    "qty",
    "fill_qty",
    "price",
    "status",
    "time_in_force",
    "reduce_only",
    "created_at",
)
TRADE_COLUMNS = ("id", "order_id", "symbol", "side", "price", "qty", "fee_qty", "pnl", "created_at")

EVERYDAY: dict[str, tuple[str, dict[str, Everyday]]] = {
    "market": (
        "public market data",
        {
            "price": Everyday("query_symbol_price", "mark, index, last and mid price", ("symbol",)),
            "depth": Everyday(
                "query_depth_book", "the order book", ("symbol",), extra=_levels_option, view=_depth_rows
            ),
            "trades": Everyday(
                "query_recent_trades",
                "recent public trades",
                ("symbol",),
                ("time", "price", "qty", "quote_qty", "is_buyer_taker"),
            ),
            "klines": Everyday(
                "kline_history",
                "candles (OHLCV)",
                ("symbol",),
                defaults={"resolution": "60", "count_back": 24},
                computed=("from_", "to"),
                prepare=_kline_range,
                view=_kline_rows,
            ),
            "symbols": Everyday(
                "query_symbol_info",
                "symbols with their tick, lot, size range and fees",
                ("symbol",),
                (
                    "symbol",
                    "price_tick_decimals",
                    "qty_tick_decimals",
                    "min_order_qty",
                    "max_order_qty",
                    "maker_fee",
                    "taker_fee",
                    "max_leverage",
                    "enabled",
                ),
            ),
            "funding": Everyday(
                "query_funding_rates",
                "funding rates of the last hours",
                ("symbol",),
                ("time", "funding_rate", "mark_price", "index_price", "premium"),
                computed=("start_time", "end_time"),
                prepare=_last_hours("start_time", "end_time", 1000),
                extra=_hours_option,
            ),
            "overview": Everyday("query_market_overview", "every symbol's market in one answer"),
        },
    ),
    "account": (
        "the signed-in account (needs credentials)",
        {
            "balance": Everyday("query_balance", "balances, margin and pnl"),
            "positions": Everyday(
                "query_positions",
                "open positions",
                ("symbol",),
                ("symbol", "qty", "entry_price", "mark_price", "upnl", "leverage", "margin_mode", "liq_price"),
            ),
            "orders": Everyday("query_open_orders", "open orders", ("symbol",), view=_page(ORDER_COLUMNS)),
            "history": Everyday(
                "query_orders", "order history (one page; --limit, --last-id)", ("symbol",), view=_page(ORDER_COLUMNS)
            ),
            "trades": Everyday(
                "query_trades", "your fills (one page; --limit, --last-id)", ("symbol",), view=_page(TRADE_COLUMNS)
            ),
            "funding": Everyday(
                "query_funding_history",
                "funding payments (one page)",
                ("symbol",),
                view=_page(("id", "symbol", "qty", "funding_rate", "created_at")),
            ),
            "config": Everyday("query_position_config", "leverage and margin mode of a symbol", ("symbol",)),
        },
    ),
}


def _run_everyday(run: Run) -> int:
    spec: Everyday = run.opt("everyday")
    values = operation_values(run, spec.operation)
    if spec.prepare is not None:
        spec.prepare(run, values)
    result = call(run, spec.operation, values)
    if spec.view is not None:
        spec.view(run, result)
    else:
        run.out.result(result, spec.columns)
    return 0


def add_everyday(nouns: Any, common: argparse.ArgumentParser) -> None:
    for noun, (text, verbs) in EVERYDAY.items():
        group = nouns.add_parser(noun, parents=[common], help=text, description=text)
        commands = group.add_subparsers(dest="verb", metavar="VERB", required=True)
        for verb, spec in verbs.items():
            summary = f"{spec.help} ({spec.operation})"
            parser = commands.add_parser(verb, parents=[common], help=summary, description=summary)
            add_operation_arguments(
                parser, spec.operation, positional=spec.positional, defaults=spec.defaults, computed=spec.computed
            )
            if spec.extra is not None:
                spec.extra(parser)
            parser.set_defaults(handler=_run_everyday, everyday=spec)
