# Copied from overlays/cli/_output.py by `make generate`. Do not edit here: edit overlays/cli/_output.py.
"""What the command line prints: a readable table by default, JSON with `--json` (one document, or one line per
event for streams). Field names are the spec's wire names; money is the exact decimal text, never a float."""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, TextIO


def plain(value: Any) -> Any:
    """JSON-ready data: models by their wire field names, Decimal as its exact text (no exponent), enums as their
    values, datetimes in ISO 8601. Unset fields are left out (the models' to_dict does that)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False)


def cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _numeric(text: str) -> bool:
    return text.lstrip("-").replace(".", "", 1).isdigit()


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows under a header; numeric columns right-aligned so decimal points line up by magnitude."""
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    grid = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in grid]) for i, c in enumerate(columns)]
    right = [bool(grid) and all(_numeric(line[i]) or line[i] == "-" for line in grid) for i in range(len(columns))]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for line in grid:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(line, widths, right, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def key_values(data: Mapping[str, Any]) -> str:
    width = max((len(k) for k in data), default=0)
    return "\n".join(f"{k.ljust(width)}  {cell(v)}" for k, v in data.items())


class Output:
    """Where results, events, notes and errors go: stdout for results, stderr for the rest."""

    def __init__(self, json_mode: bool, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.json = json_mode
        self._out = stdout or sys.stdout
        self._err = stderr or sys.stderr

    def result(self, value: Any, columns: Sequence[str] | None = None) -> None:
        """One result: JSON, or a table (lists), key/value lines (one record) or the text itself."""
        if self.json:
            print(dumps(value), file=self._out)
            return
        data = plain(value)
        if isinstance(data, list) and all(isinstance(row, dict) for row in data):
            text = table(data, columns) if data else "(none)"
        elif isinstance(data, dict):
            text = key_values({c: data.get(c) for c in columns} if columns else data)
        else:
            text = cell(data)
        print(text, file=self._out)

    def event(self, value: Any, summary: str) -> None:
        """One stream event: an NDJSON line, or a one-line summary."""
        print(dumps(value) if self.json else summary, file=self._out, flush=True)

    def note(self, text: str) -> None:
        """Guidance for a person (stderr); left out with --json, where stderr carries JSON errors only."""
        if not self.json:
            print(text, file=self._err)

    def error(self, kind: str, message: str, exit_code: int, hint: str | None = None, **fields: Any) -> None:
        if self.json:
            error = {"type": kind, "message": message, "exit_code": exit_code, **fields}
            if hint:
                error["hint"] = hint
            print(dumps({"error": error}), file=self._err)
            return
        print(f"error: {message}", file=self._err)
        for name, value in fields.items():
            print(f"  {name}: {cell(value)}", file=self._err)
        if hint:
            print(hint, file=self._err)
