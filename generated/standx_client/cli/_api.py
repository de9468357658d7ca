# Copied from overlays/cli/_api.py by `make generate`. Do not edit here: edit overlays/cli/_api.py.
"""Commands made from the spec's operation table: `standx api <tag> <operation>` for every operation (options from
each argument's rule), and the everyday `market` and `account` commands, which are the operations the spec marks
`x-standx-cli`, with its positional symbols, defaults, table columns, time windows and views."""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._commands import COMMANDS, EVERYDAY, TAGS, Everyday, Window
from .._operation import Param
from .._operations import OPERATIONS
from .._tables import RESOLUTION_BAR_LENGTH
from ._vocabulary import BACKS, NOUNS, VIEWS

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
# What each command is (operation, positional arguments, defaults, columns, window, view) is the spec's
# `x-standx-cli` (`_commands.EVERYDAY`); the views and windows it names are code, here.


def _hours_back(run: Run, values: Values) -> float:
    return float(run.opt("hours")) * 3600


def _hours_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=float, default=24.0, help="how far back (default 24)")


# How far back `count_back` bars reach: each resolution's bar length from the spec; a bar of one trade is taken
# as a second, a calendar month as 31 days.
_UNSIZED_BAR_SECONDS = {"trade": 1, "month": 31 * 86400}


def _bars_back(run: Run, values: Values) -> int:
    length = RESOLUTION_BAR_LENGTH[values["resolution"]]
    bar = _UNSIZED_BAR_SECONDS[length] if isinstance(length, str) else length
    return bar * int(values["count_back"])


# A window's `back` -> seconds from its end to its start, and the option it adds (if any).
_BACKS: dict[str, Callable[[Run, Values], float]] = {"hours": _hours_back, "bars": _bars_back}
_BACK_OPTIONS = {"hours": _hours_option}


def _fill_window(run: Run, window: Window, values: Values) -> None:
    """The window's end defaults to now, its start to `back` before the end."""
    if values[window.end] is None:
        values[window.end] = int(time.time() * window.scale)
    if values[window.start] is None:
        values[window.start] = values[window.end] - int(_BACKS[window.back](run, values) * window.scale)


def _kline_rows(run: Run, history: Any, columns: tuple[str, ...] | None) -> None:
    if run.out.json:
        run.out.result(history)  # the exchange's own shape, exact
        return
    data = history.to_dict()
    times = data.get("t") or []
    fields = ("t", "o", "h", "l", "c", "v")
    rows = [
        {"time": datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M")}
        | {c: (data.get(c) or [None] * len(times))[i] for c in fields[1:]}
        for i, t in enumerate(times)
    ]
    run.out.result(rows, ("time", "o", "h", "l", "c", "v"))


def _depth_rows(run: Run, book: Any, columns: tuple[str, ...] | None) -> None:
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


def _page_rows(run: Run, page: Any, columns: tuple[str, ...] | None) -> None:
    """A paginated answer ({page_size, result, ...}): JSON as the exchange sent it, a table of its items."""
    if run.out.json:
        run.out.result(page)
    else:
        run.out.result(page.result, columns)


# A view -> how it shows an answer, and the option it adds (if any).
_VIEWS: dict[str, Callable[[Run, Any, tuple[str, ...] | None], None]] = {
    "depth": _depth_rows,
    "klines": _kline_rows,
    "page": _page_rows,
}
_VIEW_OPTIONS = {"depth": _levels_option}
assert set(_VIEWS) == set(VIEWS) and set(_BACKS) == set(BACKS), "code for each name the spec's x-standx-cli may use"


def _run_everyday(run: Run) -> int:
    command: Everyday = run.opt("everyday")
    values = operation_values(run, command.operation)
    if command.window is not None:
        _fill_window(run, command.window, values)
    result = call(run, command.operation, values)
    if command.view is not None:
        _VIEWS[command.view](run, result, command.columns)
    else:
        run.out.result(result, command.columns)
    return 0


def add_everyday(nouns: Any, common: argparse.ArgumentParser) -> None:
    for noun, text in NOUNS.items():
        mine = [command for command in EVERYDAY if command.noun == noun]
        if not mine:
            continue
        group = nouns.add_parser(noun, parents=[common], help=text, description=text)
        verbs = group.add_subparsers(dest="verb", metavar="VERB", required=True)
        for command in mine:
            summary = f"{command.help} ({command.operation})"
            parser = verbs.add_parser(command.verb, parents=[common], help=summary, description=summary)
            window = command.window
            add_operation_arguments(
                parser,
                command.operation,
                positional=command.positional,
                defaults=command.defaults,
                computed=(window.start, window.end) if window else (),
            )
            if command.view in _VIEW_OPTIONS:
                _VIEW_OPTIONS[command.view](parser)
            if window and window.back in _BACK_OPTIONS:
                _BACK_OPTIONS[window.back](parser)
            parser.set_defaults(handler=_run_everyday, everyday=command)
