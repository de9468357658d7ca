# Copied from overlays/_validate.py by `make generate`. Do not edit here: edit overlays/_validate.py.
"""Arguments -> wire values, checked against the spec's rules before anything is sent.

Every refusal is a `ValidationError` naming the operation and the field. Money never goes through float:
a float argument for a decimal field is refused, and decimals go out as plain strings with no exponent.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any

from ._ids import new_client_order_id
from ._operation import Operation, Param
from .exceptions import ValidationError

if TYPE_CHECKING:
    from .precision import SymbolRules

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_DECIMAL_CHARS = 64  # far beyond any price or size; stops 1e400-style values from going out


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


class _Refused(Exception):
    """A rule broken by one value; turned into a ValidationError that names the field."""


def _decimal(value: object) -> str:
    if isinstance(value, float):
        raise _Refused("float is not accepted for money; pass a Decimal, an int or a decimal string")
    if isinstance(value, bool):
        raise _Refused("expected a decimal, got bool")
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise _Refused(f"malformed decimal {value[:40]!r}; expected digits with an optional fraction")
        number = Decimal(value)
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise _Refused(f"expected a decimal, got {type(value).__name__}")
    if not number.is_finite():
        raise _Refused(f"not a finite decimal: {value}")
    try:
        text = format(number, "f")
    except InvalidOperation:  # pragma: no cover - finite decimals always format
        raise _Refused(f"not a decimal: {value}") from None
    if len(text) > _MAX_DECIMAL_CHARS:
        raise _Refused(f"decimal out of range ({len(text)} digits)")
    return text


def _string(value: object, rule: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        raise _Refused(f"expected a string, got {type(value).__name__}")
    if len(value) < rule.get("minLength", 0) or len(value) > rule.get("maxLength", len(value)):
        raise _Refused(f"length {len(value)} is outside {rule.get('minLength', 0)}..{rule.get('maxLength', '')}")
    return value


def _convert(value: object, rule: Mapping[str, Any]) -> object:
    """One value, checked and turned into its JSON form."""
    kind = rule["kind"]
    if kind == "decimal":
        result: object = _decimal(value)
    elif kind == "enum":
        if not isinstance(value, str) or value not in rule["values"]:
            allowed = ", ".join(rule["values"])
            raise _Refused(f"{value!r} is not one of: {allowed}")
        result = str.__str__(value)  # a StrEnum member goes out as its plain value
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Refused(f"expected an integer, got {type(value).__name__}")
        if value < rule.get("minimum", value) or value > rule.get("maximum", value):
            raise _Refused(f"{value} is outside {rule.get('minimum', '')}..{rule.get('maximum', '')}")
        result = value
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _Refused(f"expected a bool, got {type(value).__name__}")
        result = value
    elif kind == "datetime":
        if not isinstance(value, datetime.datetime):
            raise _Refused(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise _Refused("a timezone-aware datetime is required (for example datetime.now(timezone.utc))")
        result = value.isoformat()
    elif kind == "array":
        if not isinstance(value, list | tuple):
            raise _Refused(f"expected a list, got {type(value).__name__}")
        if not rule.get("minItems", 0) <= len(value) <= rule.get("maxItems", len(value)):
            raise _Refused(f"{len(value)} items is outside {rule.get('minItems', 0)}..{rule.get('maxItems', '')}")
        result = [_convert(item, rule["items"]) for item in value]
    elif kind == "string":
        result = _string(value, rule)
    else:
        result = value
    if "pattern" in rule and isinstance(result, str) and not _pattern(rule["pattern"]).search(result):
        raise _Refused(f"{result[:40]!r} does not match {rule['pattern']}")
    return result


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def prepare(
    op: Operation, values: Mapping[str, object], rules: Mapping[str, SymbolRules] | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, object] | None]:
    """Check `values` (Python names -> arguments; None = not given) against `op`, and against the symbol's
    tick and lot when `rules` (symbol -> SymbolRules) has that symbol (`x-standx-symbol-rule` fields).

    Returns the query pairs, the header pairs and the JSON body (None when the operation has none).
    """
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    body: dict[str, object] | None = {} if op.has_body else None
    for group in op.require_one_of:
        given = [name for name in group if values.get(name) is not None]
        if len(given) != 1:
            problem = "is required" if not given else "are mutually exclusive: give exactly one"
            raise ValidationError(op.name, " / ".join(group), f"one of these {problem}")
    for kind, name, other, expected in op.conditions:
        present = values.get(name) is not None
        if str(values.get(other)) == str(expected) and present != (kind == "required"):
            problem = "is required" if kind == "required" else "is not allowed"
            raise ValidationError(op.name, name, f"{problem} when {other} is {expected}")
    symbol_rules = _symbol_rules(op, values, rules) if rules else None
    for param in op.params:
        value = values.get(param.py)
        if value is None and "generate" in param.rule:
            value = new_client_order_id()  # so that the order can be looked up if its answer is lost
        if value is None:
            if param.required:
                raise ValidationError(op.name, param.py, "is required")
            continue
        try:
            converted = _convert(value, param.rule)
            if symbol_rules is not None and "symbol_rule" in param.rule:
                _check_symbol_rule(symbol_rules, param.rule["symbol_rule"], converted)
        except _Refused as refused:
            raise ValidationError(op.name, param.py, str(refused)) from None
        if param.location == "query":
            query.append((param.wire, _query_text(converted)))
        elif param.location == "header":
            headers.append((param.wire, _query_text(converted)))
        elif body is not None:
            body[param.wire] = converted
    return query, headers, body


def _symbol_rules(op: Operation, values: Mapping[str, object], rules: Mapping[str, SymbolRules]) -> SymbolRules | None:
    """The rules of the symbol this call names (its `x-standx-symbol-rule: symbol` field), when known."""
    symbol = next((values.get(p.py) for p in op.params if p.rule.get("symbol_rule") == "symbol"), None)
    return rules.get(symbol) if isinstance(symbol, str) else None


def _check_symbol_rule(symbol_rules: SymbolRules, kind: str, text: object) -> None:
    """A price on the symbol's tick, a quantity on its lot and within its range."""
    if kind == "symbol" or not isinstance(text, str):
        return
    problem = symbol_rules.problem(kind, Decimal(text))
    if problem:
        raise _Refused(problem)


def declared_headers(op: Operation) -> frozenset[str]:
    """The header parameters an operation declares (x-session-id, x-impersonate ...)."""
    return frozenset(p.wire for p in op.params if p.location == "header")


__all__ = ["Param", "declared_headers", "prepare"]
