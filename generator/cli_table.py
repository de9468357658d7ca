"""The `standx` command line's everyday commands and stream words, read from the spec for `_commands.py`.

An operation's `x-standx-cli` makes it an everyday command (`standx market funding BTC-USD`):

    x-standx-cli:
      command: market funding        # a noun of the CLI's, and the verb
      help: funding rates of the last hours
      positional: [symbol]           # arguments given without a flag
      columns: [time, funding_rate]  # the table's columns: fields of the answer (of each item, for a list)
      defaults: {countBack: 24}      # a trader's defaults
      window: {start: start_time, end: end_time, unit: ms, back: hours}  # a time range filled in when not given
      view: page                     # how the answer is shown, when not as a plain table

Only `command` and `help` are required; names are the spec's (wire) names. A market-stream channel's `cli`
(in `x-standx-streams`) is its word in `standx stream <word>` (default: its name).

The nouns, views, window units and `back`s are those the CLI has code for (overlays/cli/_vocabulary.py, read
here). Anything else, an unknown key, a name the operation or its answer does not have, or a command given twice
stops generation, naming the place.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

from rules import refuse
from spec_loader import merged

VOCABULARY = Path(__file__).resolve().parent.parent / "overlays" / "cli" / "_vocabulary.py"
KEYS = ("command", "help", "positional", "columns", "defaults", "window", "view")
WINDOW_KEYS = ("start", "end", "unit", "back")
_WORD = re.compile(r"[a-z][a-z0-9-]*")
# What a default must be, by the kind of the argument's rule (other kinds are text).
_DEFAULT_TYPES: dict[str, type] = {"integer": int, "boolean": bool}


def vocabulary() -> dict[str, Any]:
    """The names of overlays/cli/_vocabulary.py, run from its file: the package around it is only laid out by
    generation."""
    return runpy.run_path(str(VOCABULARY))


def _names(where: str, value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or len(set(value)) < len(value):
        refuse(where, f"must be a list of {what}, each once, got {value!r}")
    return value


def _unknown(where: str, names: list[str], known: dict[str, Any] | list[str], what: str) -> None:
    missing = [str(name) for name in names if not isinstance(name, str) or name not in known]
    if missing:
        refuse(where, f"{', '.join(missing)}: not {what} (it has {', '.join(known) or 'none'})")


def _schema(doc: dict[str, Any], node: Any) -> dict[str, Any]:
    schema, _ = merged(doc, node)
    return schema if isinstance(schema, dict) else {}


def _items(doc: dict[str, Any], node: Any) -> dict[str, Any]:
    """An array's item schema; any other schema itself."""
    schema = _schema(doc, node)
    types = schema.get("type")
    if "array" in (types if isinstance(types, list) else [types]):
        return _schema(doc, schema.get("items", {}))
    return schema


def _answer(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of the operation's 200 answer ({} for a text answer)."""
    ok = _schema(doc, op.get("responses", {}).get("200", {}))
    return _schema(doc, ok.get("content", {}).get("application/json", {}).get("schema", {}))


def _defaults(where: str, given: Any, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(given, dict):
        refuse(where, f"must map arguments to values, got {given!r}")
    _unknown(where, list(given), params, "an argument of the operation")
    defaults = {}
    for name, value in given.items():
        rule = params[name]["rule"]
        wanted = _DEFAULT_TYPES.get(rule["kind"], str)
        if type(value) is not wanted or (rule["kind"] == "enum" and value not in rule["values"]):
            shown = f"one of {list(rule['values'])}" if rule["kind"] == "enum" else f"of type {wanted.__name__}"
            refuse(f"{where}.{name}", f"must be {shown}, got {value!r}")
        defaults[params[name]["py"]] = value
    return defaults


def _window(where: str, given: Any, params: dict[str, dict[str, Any]], vocab: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(given, dict) or sorted(given) != sorted(WINDOW_KEYS):
        refuse(where, f"must give {', '.join(WINDOW_KEYS)} and nothing else, got {given!r}")
    if not all(isinstance(value, str) for value in given.values()):
        refuse(where, f"each of {', '.join(WINDOW_KEYS)} is a name, got {given!r}")
    for end in ("start", "end"):
        _unknown(f"{where}.{end}", [given[end]], params, "an argument of the operation")
        if params[given[end]]["rule"]["kind"] != "integer":
            refuse(f"{where}.{end}", f"{given[end]} is not an integer time")
    if given["unit"] not in vocab["UNITS"]:
        refuse(f"{where}.unit", f"{given['unit']!r} is not a unit the CLI knows ({', '.join(vocab['UNITS'])})")
    if given["back"] not in vocab["BACKS"]:
        refuse(f"{where}.back", f"{given['back']!r} is not a window the CLI has ({', '.join(vocab['BACKS'])})")
    reads = list(vocab["BACKS"][given["back"]])
    takes = [p["py"] for p in params.values()]
    _unknown(f"{where}.back", reads, takes, f"arguments of the operation ({given['back']} reads them)")
    return {
        "start": params[given["start"]]["py"],
        "end": params[given["end"]]["py"],
        "scale": vocab["UNITS"][given["unit"]],
        "back": given["back"],
    }


def _command(doc: dict[str, Any], op: dict[str, Any], table: dict[str, Any], vocab: dict[str, Any]) -> dict[str, Any]:
    name = op["operationId"]
    where = f"{name}: x-standx-cli"
    given = op["x-standx-cli"]
    if not isinstance(given, dict):
        refuse(where, f"must be a mapping of {', '.join(KEYS)}")
    unknown = [key for key in given if key not in KEYS]
    if unknown:
        refuse(where, f"{', '.join(map(str, unknown))}: not a key of x-standx-cli ({', '.join(KEYS)})")
    words = str(given.get("command", "")).split(" ")
    if len(words) != 2 or not all(_WORD.fullmatch(w) for w in words):
        refuse(f"{where}.command", f"must be a noun and a verb ('market price'), got {given.get('command')!r}")
    if words[0] not in vocab["NOUNS"]:
        refuse(f"{where}.command", f"{words[0]!r} is not an everyday noun of the CLI ({', '.join(vocab['NOUNS'])})")
    if not isinstance(given.get("help"), str) or not given["help"].strip() or "\n" in given["help"]:
        refuse(f"{where}.help", "a one-line help text is required")
    params = {p["wire"]: p for p in table["params"]}
    positional = _names(f"{where}.positional", given.get("positional", []), "argument names")
    _unknown(f"{where}.positional", positional, params, "an argument of the operation")

    view = given.get("view")
    answer = _answer(doc, op)
    fields = _schema(doc, answer).get("properties", {})
    if view is not None:
        if not isinstance(view, str) or view not in vocab["VIEWS"]:
            refuse(f"{where}.view", f"{view!r} is not a view the CLI has ({', '.join(vocab['VIEWS'])})")
        _unknown(f"{where}.view", list(vocab["VIEWS"][view]), fields, f"fields of the answer ({view} reads them)")
    columns = None
    if "columns" in given:
        columns = _names(f"{where}.columns", given["columns"], "field names")
        if view is None:
            shown = _items(doc, answer).get("properties", {})
        elif view in vocab["COLUMNS_OF"]:
            shown = _items(doc, fields[vocab["COLUMNS_OF"][view]]).get("properties", {})
        else:
            refuse(f"{where}.columns", f"the {view} view makes its own columns")
        _unknown(f"{where}.columns", columns, shown, "a field of the answer")
    elif view in vocab["COLUMNS_OF"]:
        refuse(f"{where}.columns", f"the {view} view shows the columns given here: list them")
    return {
        "noun": words[0],
        "verb": words[1],
        "operation": name,
        "help": given["help"],
        "positional": tuple(params[p]["py"] for p in positional),
        "columns": tuple(columns) if columns is not None else None,
        "defaults": _defaults(f"{where}.defaults", given.get("defaults", {}), params),
        "window": _window(f"{where}.window", given["window"], params, vocab) if "window" in given else None,
        "view": view,
    }


def everyday_commands(doc: dict[str, Any], operations: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The operations marked `x-standx-cli`, in spec order, each command once."""
    vocab = vocabulary()
    found: list[dict[str, Any]] = []
    for item in doc["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "x-standx-cli" not in op:
                continue
            command = _command(doc, op, operations[op["operationId"]], vocab)
            twice = [c["operation"] for c in found if (c["noun"], c["verb"]) == (command["noun"], command["verb"])]
            if twice:
                where = f"{command['operation']}: x-standx-cli.command"
                refuse(where, f"'{command['noun']} {command['verb']}' is also the command of {twice[0]}")
            found.append(command)
    return found


def stream_words(doc: dict[str, Any]) -> dict[str, str]:
    """Market-stream channel -> its word in `standx stream <word>` (`cli`, or its name), each word once."""
    channels = doc.get("x-standx-streams", {}).get("market", {}).get("channels", {})
    words: dict[str, str] = {}
    taken: dict[str, str] = {}  # a word or a channel's own name (an alias) -> its channel
    for name, channel in channels.items():
        word = channel.get("cli", name.replace("_", "-")) if isinstance(channel, dict) else None
        where = f"x-standx-streams.market.channels.{name}.cli"
        if not isinstance(word, str) or not _WORD.fullmatch(word):
            refuse(where, f"must be a lower-case word ('depth'), got {word!r}")
        for said in dict.fromkeys((word, name.replace("_", "-"))):
            if said in taken:
                refuse(where, f"{said!r} is also the word of channel {taken[said]}")
            taken[said] = name
        words[name] = word
    return words
