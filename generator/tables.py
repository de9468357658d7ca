"""The exchange's documented figures, read from the spec for `_tables.py`: hosts, limits, enum values.

`x-standx-hosts` names the servers the operations live on; `x-standx-limits` holds the documented rate and
WebSocket connection limits; every string enum of `components/schemas` gives its values (and a name for
each value that is an identifier), with `x-standx-bar-length` where a schema has one. The client reads
`_tables.py` in its package; the mock reads its copy. A malformed table stops generation, naming the place.
"""

from __future__ import annotations

import re
from typing import Any

from rules import refuse

# x-standx-limits: section -> the figures it must give (all positive numbers), and nothing else.
LIMITS = {
    "account": ("cost", "capacity", "refill_per_second"),
    "ip": ("requests_per_second",),
    "websocket": ("connections", "new_per_minute", "max_age_seconds", "ping_interval_seconds", "pong_timeout_seconds"),
    "token": ("default_lifetime_seconds",),
}
BAR_UNITS = ("trade", "month")  # x-standx-bar-length values besides a number of seconds
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def host_names(doc: dict[str, Any]) -> dict[str, str]:
    """Server URL -> its name in `x-standx-hosts` (each URL once, every name a Python identifier)."""
    hosts = doc.get("x-standx-hosts")
    if not isinstance(hosts, dict) or not hosts:
        refuse("x-standx-hosts", "a table of the hosts the operations live on is required (name: {url: ...})")
    names: dict[str, str] = {}
    for name, server in hosts.items():
        url = server.get("url") if isinstance(server, dict) else None
        if not _NAME.fullmatch(str(name)) or not isinstance(url, str) or not url.startswith("https://"):
            refuse(f"x-standx-hosts.{name}", "each host is a lower-case name with an https `url`")
        if url in names:
            refuse(f"x-standx-hosts.{name}", f"{url} is also host {names[url]!r}; give each host once")
        names[url] = name
    return names


def _limits(doc: dict[str, Any]) -> dict[str, dict[str, int | float]]:
    limits = doc.get("x-standx-limits")
    if not isinstance(limits, dict):
        refuse("x-standx-limits", "the documented rate and connection limits are required")
    table: dict[str, dict[str, int | float]] = {}
    for section, figures in LIMITS.items():
        given = limits.get(section)
        if not isinstance(given, dict):
            refuse(f"x-standx-limits.{section}", f"required, with {', '.join(figures)}")
        unknown = sorted(set(given) - set(figures) - {"description"})
        if unknown:  # a limit nobody reads would be a promise nobody keeps
            refuse(f"x-standx-limits.{section}", f"{', '.join(unknown)}: not read by the client or the mock")
        for figure in figures:
            value = given.get(figure)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                refuse(f"x-standx-limits.{section}.{figure}", f"must be a positive number, got {value!r}")
        table[section] = {figure: given[figure] for figure in figures}
    if table["account"]["capacity"] < table["account"]["cost"]:
        refuse("x-standx-limits.account", "capacity is less than one request's cost")
    return table


def _enums(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every string enum of components/schemas: its values, named constants, and bar lengths if it has them."""
    enums = []
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        if not isinstance(schema, dict) or schema.get("type") != "string" or "enum" not in schema:
            continue
        values = schema["enum"]
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()  # OrderStatus -> ORDER_STATUS
        named = {f"{prefix}_{v.upper()}": v for v in values if _NAME.fullmatch(v)}
        bars = schema.get("x-standx-bar-length")
        if bars is not None:
            where = f"components.schemas.{name}.x-standx-bar-length"
            if not isinstance(bars, dict) or set(bars) != set(values):
                refuse(where, f"must give a bar length for each of {values} and nothing else")
            for value, length in bars.items():
                if length not in BAR_UNITS and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
                    refuse(f"{where}.{value}", f"must be whole seconds or one of {BAR_UNITS}, got {length!r}")
            bars = {value: bars[value] for value in values}
        enums.append({"schema": name, "prefix": prefix, "values": tuple(values), "named": named, "bars": bars})
    return enums


def api_tables(doc: dict[str, Any]) -> dict[str, Any]:
    """The context of `_tables.py.jinja`."""
    streams = doc.get("x-standx-streams", {})
    return {
        "hosts": {name: url for url, name in host_names(doc).items()},
        "streams": {name: stream["url"] for name, stream in sorted(streams.items()) if "url" in stream},
        "limits": _limits(doc),
        "enums": _enums(doc),
    }
