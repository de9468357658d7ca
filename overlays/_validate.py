"""Arguments -> wire values, checked against the spec's rules before anything is sent.

Every refusal is a `ValidationError` naming the operation and the field, in plain words:
"new_order: qty must be a positive decimal, got '-1'". Money never goes through float: a float argument for a
decimal field is refused, and decimals go out as plain strings with no exponent.

`KEYWORDS` is the one list of the JSON Schema keywords enforced here, by kind of value. The generator reads it
(generator/rules.py) and refuses a spec whose request schemas use any other, so no rule is dropped silently.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

from ._ids import new_client_order_id
from ._operation import Operation, Param
from .exceptions import ValidationError
from .precision import EXACT

if TYPE_CHECKING:
    from .precision import SymbolRules

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_DECIMAL_CHARS = 64  # far beyond any price or size; stops 1e400-style values from going out
_SHOWN_CHARS = 60  # how much of a refused value a message repeats

# Integer formats and their ranges: `format: int64` is enforced as -2**63 .. 2**63-1.
INTEGER_FORMATS = {"int32": 32, "int64": 64}
_NUMERIC = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
# Kind of value (from the schema's type and format, generator/rules.py) -> the keywords checked on it.
KEYWORDS: dict[str, frozenset[str]] = {
    "decimal": _NUMERIC | {"pattern"},
    "integer": _NUMERIC | {"format"},
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "enum": frozenset(),
    "boolean": frozenset(),
    "datetime": frozenset(),
    "array": frozenset({"minItems", "maxItems", "uniqueItems"}),
}


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


@cache
def _number(arg: int | str) -> Decimal:
    return Decimal(arg)  # a bound from the table: an int, or the exact text of a fractional one


def _int_range(fmt: str) -> tuple[int, int]:
    bits = INTEGER_FORMATS[fmt]
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_Test = Callable[[Any, Any], bool]  # (the number: int or Decimal, or the value itself; the wire form: str or list)


def _test(key: str, arg: Any) -> _Test:
    """One keyword's check, bound to its value from the table (bounds converted, patterns compiled once)."""
    match key:
        case "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf":
            bound = _number(arg)
            return {
                "minimum": lambda n, _: n >= bound,
                "maximum": lambda n, _: n <= bound,
                "exclusiveMinimum": lambda n, _: n > bound,
                "exclusiveMaximum": lambda n, _: n < bound,
                "multipleOf": lambda n, _: EXACT.remainder(Decimal(n), bound) == 0,
            }[key]
        case "format":
            low, high = _int_range(arg)
            return lambda n, _: low <= n <= high
        case "pattern":  # (regex, meaning)
            search = _pattern(arg[0]).search
            return lambda _, t: search(t) is not None
        case "minLength" | "minItems":
            return lambda _, t: len(t) >= arg
        case "maxLength" | "maxItems":
            return lambda _, t: len(t) <= arg
        case _:  # uniqueItems
            return lambda _, t: not arg or len(set(t)) == len(t)


# Keyword -> what the value must be, given the keyword's value.
_EXPECTED: dict[str, Callable[[Any], str]] = {
    "minimum": lambda a: f"at least {a}",
    "maximum": lambda a: f"at most {a}",
    "exclusiveMinimum": lambda a: f"greater than {a}",
    "exclusiveMaximum": lambda a: f"less than {a}",
    "multipleOf": lambda a: f"a multiple of {a}",
    "format": lambda a: "a {}-bit integer ({} to {})".format(INTEGER_FORMATS[a], *_int_range(a)),
    "minLength": lambda a: f"at least {_plural(a, 'character')} long",
    "maxLength": lambda a: f"at most {_plural(a, 'character')} long",
    "pattern": lambda a: str(a[1]),
    "minItems": lambda a: f"a list of at least {_plural(a, 'item')}",
    "maxItems": lambda a: f"a list of at most {_plural(a, 'item')}",
    "uniqueItems": lambda a: "a list without repeated items",
}
assert set(_EXPECTED) == set().union(*KEYWORDS.values()), "every keyword listed is checked"

# A rule's checks, bound once (bounds converted, patterns compiled): the hot path runs only these.
_Plan = tuple[tuple[_Test, str], ...]
_PLANS: dict[int, tuple[Mapping[str, Any], _Plan]] = {}


def _plan(rule: Mapping[str, Any]) -> _Plan:
    entry = _PLANS.get(id(rule))
    if entry is None or entry[0] is not rule:  # keyed by identity: the table's rules live as long as the module
        bound = tuple((_test(k, a), _EXPECTED[k](a)) for k, a in rule.items() if k in _EXPECTED)
        entry = _PLANS[id(rule)] = (rule, bound)
    return entry[1]


class _Refused(Exception):
    """A rule broken by one value; the message is a whole sentence naming the field."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _refuse(label: str, expected: str, value: object) -> NoReturn:
    raise _Refused(f"{label} must be {expected}, got {_shown(value)}")


def _decimal(value: object, rule: Mapping[str, Any], label: str) -> tuple[Decimal, str]:
    """The number and its plain-notation text."""
    if isinstance(value, float):
        _refuse(label, "a Decimal, an int or a decimal string, not a float (floats are not exact for money)", value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):  # in the words of the spec's pattern, when it has one
            _refuse(
                label, rule["pattern"][1] if "pattern" in rule else "a decimal in plain notation such as '0.1'", value
            )
        number = Decimal(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        _refuse(label, "a decimal (a Decimal, an int or a decimal string)", value)
    if not number.is_finite():
        _refuse(label, "a finite decimal", value)
    try:
        text = format(number, "f")
    except InvalidOperation:  # pragma: no cover - finite decimals always format
        _refuse(label, "a decimal", value)
    if len(text) > _MAX_DECIMAL_CHARS:
        _refuse(label, f"a decimal of at most {_MAX_DECIMAL_CHARS} characters", value)
    return number, text


def _convert(value: object, rule: Mapping[str, Any], label: str) -> object:
    """One value, checked against its rule and turned into its JSON form."""
    kind = rule["kind"]
    number: Any
    result: object
    if kind == "decimal":
        number, result = _decimal(value, rule, label)
    elif kind == "enum":
        if not isinstance(value, str) or value not in rule["values"]:
            _refuse(label, "one of " + ", ".join(rule["values"]), value)
        number = result = str.__str__(value)  # a StrEnum member goes out as its plain value
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            _refuse(label, "an integer", value)
        number = result = int(value)
    elif kind == "boolean":
        if not isinstance(value, bool):
            _refuse(label, "True or False", value)
        number = result = value
    elif kind == "datetime":
        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            _refuse(label, "a timezone-aware datetime (for example datetime.now(timezone.utc))", value)
        number, result = value, value.isoformat()
    elif kind == "array":
        if not isinstance(value, list | tuple):
            _refuse(label, "a list", value)
        number = result = [_convert(item, rule["items"], f"{label}[{i}]") for i, item in enumerate(value)]
    else:
        if not isinstance(value, str):
            _refuse(label, "a string", value)
        number = result = value
    for test, expected in _plan(rule):
        if not test(number, result):
            _refuse(label, expected, value)
    return result


_Convert = Callable[[object], object]


def _remembered(convert: _Convert) -> _Convert:
    """`convert` that remembers its last value and result: bots pass the same symbol and size objects call after
    call, and a str or Decimal never changes, so the same object always gives the same result."""
    last: list[tuple[object, object]] = [(_NOTHING, None)]

    def remembered(value: object) -> object:
        seen, result = last[0]  # one tuple, replaced whole: safe between threads
        if seen is value:
            return result
        result = convert(value)
        last[0] = (value, result)
        return result

    return remembered


_NOTHING = object()


def _converter(rule: Mapping[str, Any], label: str) -> _Convert:
    """`_convert` for one rule, with a fast path for the common case (an exact str, bool or plain decimal string):
    built once per field, so the hot path does no table lookups."""
    kind, plan = rule["kind"], _plan(rule)
    if kind == "enum":
        allowed = frozenset(rule["values"])

        def enum(value: object) -> object:
            return value if value.__class__ is str and value in allowed else _convert(value, rule, label)

        return enum
    if kind == "string":

        def string(value: object) -> object:
            if value.__class__ is not str:
                return _convert(value, rule, label)
            for test, expected in plan:
                if not test(value, value):
                    _refuse(label, expected, value)
            return value

        return _remembered(string)
    if kind == "boolean":
        return lambda value: value if value is True or value is False else _convert(value, rule, label)
    if kind == "decimal":
        plain, numeric = _DECIMAL_TEXT.fullmatch, any(key in _NUMERIC for key in rule)

        def decimal(value: object) -> object:
            number: Any
            if value.__class__ is Decimal:
                number = value
                if not number.is_finite():
                    return _convert(value, rule, label)
                text = str(number)  # plain unless it has an exponent ("1E+3"): then the slower exact format
                if "E" in text:
                    text = format(number, "f")
            else:
                # A plain decimal string without leading zeros is its own wire text: no formatting needed.
                if value.__class__ is not str or not plain(value):
                    return _convert(value, rule, label)
                text = value
                digits = text[1:] if text[0] == "-" else text
                if digits[0] == "0" and digits[:2] != "0.":  # leading zeros ("007") or zero itself: the slow path
                    return _convert(value, rule, label)
                number = Decimal(text) if numeric else None
            if len(text) > _MAX_DECIMAL_CHARS:
                return _convert(value, rule, label)
            for test, expected in plan:
                if not test(number, text):
                    _refuse(label, expected, value)
            return text

        return _remembered(decimal)

    return lambda value: _convert(value, rule, label)


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _either(names: tuple[str, ...]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def prepare(
    op: Operation, values: Mapping[str, object], rules: Mapping[str, SymbolRules] | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, object] | None]:
    """Check `values` (Python names -> arguments; None = not given) against `op`, and, when `rules`
    (symbol -> SymbolRules) are loaded, the symbol against them: an unknown symbol is refused, and a price or
    quantity must be on that symbol's tick and lot (the fields the spec marks with a symbol rule).

    Returns the query pairs, the header pairs and the JSON body (None when the operation has none).
    """
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    body: dict[str, object] | None = {} if op.has_body else None
    for group in op.require_one_of:
        given = [name for name in group if values.get(name) is not None]
        if len(given) != 1:
            problem = f"give {_either(group)}" + (
                "" if not given else ", not both" if len(group) == 2 else ", not several"
            )
            raise ValidationError(op.name, " / ".join(group), problem, sentence=True)
    for kind, name, other, expected in op.conditions:
        present = values.get(name) is not None
        other_value = values.get(other)
        if (other_value == expected or str(other_value) == str(expected)) and present != (kind == "required"):
            problem = "is required" if kind == "required" else "is not allowed"
            raise ValidationError(op.name, name, f"{name} {problem} when {other} is {expected}", sentence=True)
    _filler(op)(values.get, body, query, headers, rules)
    return query, headers, body


_FILLERS: dict[str, tuple[Operation, Callable[..., None]]] = {}


def _filler(op: Operation) -> Callable[..., None]:
    """`prepare`'s walk over the operation's fields, written out once per operation as straight-line code:
    the hot path (a market maker's new_order) then runs no loop, no unpacking and no branching on where a
    field goes. Per field: its value (else the generated id, or "required"), its converter, its symbol rule,
    its place (body, query or header)."""
    entry = _FILLERS.get(op.name)
    if entry is not None and entry[0] is op:
        return entry[1]
    names: dict[str, Any] = {"_Refused": _Refused, "ValidationError": ValidationError, "op": op,
                             "new_client_order_id": new_client_order_id, "_query_text": _query_text,
                             "_check_symbol_rule": _check_symbol_rule}  # fmt: skip
    code = ["def fill(get, body, query, headers, rules):"]
    # The rules of the symbol this call names (its `x-standx-symbol-rule: symbol` field), when loaded.
    symbol = next((p.py for p in op.params if p.rule.get("symbol_rule") == "symbol"), None)
    code.append(
        "    symbol_rules = None"
        if symbol is None
        else f"    symbol_rules = rules.get(get({symbol!r})) if rules and get({symbol!r}).__class__ is str else None"
    )
    for i, field in enumerate(op.params):
        names[f"convert{i}"], names[f"param{i}"], py = _converter(field.rule, field.py), field, repr(field.py)
        checked = [
            "try:",
            f"    converted = convert{i}(value)",
            "except _Refused as refused:",
            f"    raise ValidationError(op.name, {py}, str(refused), sentence=True) from None",
        ]
        placed = []
        if "symbol_rule" in field.rule:
            placed += ["if rules:", f"    _check_symbol_rule(op, param{i}, rules, symbol_rules, converted)"]
        if field.location != "body":
            placed.append(f"{'query' if field.location == 'query' else 'headers'}.append(({field.wire!r}, "
                          "_query_text(converted)))")  # fmt: skip
        elif op.has_body:
            placed.append(f"body[{field.wire!r}] = converted")
        code.append(f"    value = get({py})")
        generate = "generate" in field.rule
        if generate or field.required:
            missing = (
                "converted = new_client_order_id()"  # so a lost answer can be looked up; made in the spec's format
                if generate
                else f"raise ValidationError(op.name, {py}, {field.py + ' is required'!r}, sentence=True)"
            )
            code += ["    if value is None:", f"        {missing}", "    else:"]
            code += [f"        {line}" for line in checked] + [f"    {line}" for line in placed]
        else:
            code += ["    if value is not None:"] + [f"        {line}" for line in checked + placed]
    code.append("    return None")
    exec(compile("\n".join(code), f"<prepare {op.name}>", "exec"), names)
    fill: Callable[..., None] = names["fill"]
    _FILLERS[op.name] = (op, fill)
    return fill


def _check_symbol_rule(
    op: Operation, param: Param, rules: Mapping[str, SymbolRules], symbol_rules: SymbolRules | None, value: object
) -> None:
    """A known symbol; a price on its tick, a quantity on its lot and within its range."""
    kind = param.rule["symbol_rule"]
    if kind == "symbol":
        if value not in rules:
            known = sorted(rules)
            listed = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
            problem = (
                f"{param.py} {value!r} is not one of the loaded symbols ({listed}); "
                "call load_symbol_rules() again for a symbol listed since"
            )
            raise ValidationError(op.name, param.py, problem, sentence=True)
        return
    off = symbol_rules.problem(kind, Decimal(value)) if symbol_rules and isinstance(value, str) else None
    if off:
        raise ValidationError(op.name, param.py, off)


def declared_headers(op: Operation) -> frozenset[str]:
    """The header parameters an operation declares (x-session-id, x-impersonate ...)."""
    return frozenset(p.wire for p in op.params if p.location == "header")


__all__ = ["INTEGER_FORMATS", "KEYWORDS", "Param", "declared_headers", "prepare"]
