"""Request rules for the client's validator, read from the spec: every schema keyword enforced or refused.

`RequestRules` turns an operation's parameters and JSON body fields into the plain data that the overlay's
validator (overlays/_validate.py) checks at call time. Which keywords it enforces on which kind of value is the
validator's own `KEYWORDS` table, read here: any other keyword in a request schema (a new one, a typo,
`const`, `anyOf` ...) stops generation with the keyword and where it is, instead of being dropped silently.
The same holds for types, formats and parameter styles the client cannot send.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from openapi_python_client import strings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spec_loader import chain

from overlays._validate import INTEGER_FORMATS, KEYWORDS

# Keywords that describe and never constrain.
ANNOTATIONS = frozenset({"description", "title", "example", "examples", "default", "deprecated", "$comment"})
PARAMETER_FIELDS = frozenset({"name", "in", "required", "schema", "description", "example", "examples", "deprecated"})
BODY_SCHEMA_FIELDS = ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
MEANING = "x-standx-pattern-meaning"  # a pattern's meaning in plain words: "qty must be <meaning>, got '-1'"
SYMBOL_RULES = ("symbol", "tick", "lot")  # x-standx-symbol-rule: names the symbol, or is checked on its tick/lot
CLIENT_GENERATED = ("ulid",)


def refuse(where: str, problem: str) -> NoReturn:
    raise SystemExit(f"openapi/standx.yaml: {where}: {problem}")


def _not_enforced(where: str, keyword: str, value: Any, on: str) -> NoReturn:
    refuse(
        where,
        f"schema keyword {keyword!r} ({value!r}) is not enforced by the client's validator on {on}; "
        "enforce it in overlays/_validate.py (KEYWORDS) or leave it out of the spec, rather than drop it silently",
    )


def _bound(where: str, keyword: str, value: Any) -> int | str:
    """A numeric keyword's value: an int, or the exact text of a fraction (YAML reads 0.01 as a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        refuse(where, f"{keyword} must be a number (OpenAPI 3.1 form), got {value!r}")
    if keyword == "multipleOf" and value <= 0:
        refuse(where, f"multipleOf must be greater than 0, got {value!r}")
    return value if isinstance(value, int) else format(Decimal(repr(value)), "f")


def _count(where: str, keyword: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        refuse(where, f"{keyword} must be a non-negative integer, got {value!r}")
    return value


def _flag(where: str, keyword: str, value: Any) -> bool:
    if not isinstance(value, bool):
        refuse(where, f"{keyword} must be true or false, got {value!r}")
    return value


def _pattern(where: str, schema: dict[str, Any]) -> tuple[str, str]:
    """The regex and what it means in plain words (the validator's message says the meaning, not the regex)."""
    regex, meaning = schema["pattern"], schema.get(MEANING)
    if not isinstance(regex, str):
        refuse(where, f"pattern must be a string, got {regex!r}")
    try:
        re.compile(regex)
    except re.error as error:
        refuse(where, f"pattern {regex!r} is not a regular expression Python can check: {error}")
    if not isinstance(meaning, str) or not meaning.strip():
        refuse(where, f"pattern {regex!r} needs {MEANING}: what a value must be, in plain words ('a positive decimal')")
    return regex, meaning


# How to read each enforced keyword's value; every keyword of the validator's table has one.
_ARGUMENTS: dict[str, Callable[[str, str, dict[str, Any]], Any]] = {
    "minimum": lambda where, key, s: _bound(where, key, s[key]),
    "maximum": lambda where, key, s: _bound(where, key, s[key]),
    "exclusiveMinimum": lambda where, key, s: _bound(where, key, s[key]),
    "exclusiveMaximum": lambda where, key, s: _bound(where, key, s[key]),
    "multipleOf": lambda where, key, s: _bound(where, key, s[key]),
    "format": lambda where, key, s: s[key],  # an integer format, checked when the kind was chosen
    "minLength": lambda where, key, s: _count(where, key, s[key]),
    "maxLength": lambda where, key, s: _count(where, key, s[key]),
    "minItems": lambda where, key, s: _count(where, key, s[key]),
    "maxItems": lambda where, key, s: _count(where, key, s[key]),
    "uniqueItems": lambda where, key, s: _flag(where, key, s[key]),
    "pattern": lambda where, key, s: _pattern(where, s),
}
assert set(_ARGUMENTS) == set().union(*KEYWORDS.values()), "a reader for every keyword the validator enforces"


class RequestRules:
    """Rules of request parameters and body fields of the spec document `doc`."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def flatten(self, schema: Any, where: str) -> dict[str, Any]:
        """The schema with its `$ref` chain merged in: keywords beside a `$ref` apply too (OpenAPI 3.1)."""
        merged: dict[str, Any] = {}
        for _, node in chain(self.doc, schema):
            if not isinstance(node, dict):
                refuse(where, f"a schema must be an object, got {node!r}")
            for key, value in node.items():
                constraint = key != "$ref" and key not in ANNOTATIONS and not key.startswith("x-")
                if constraint and key in merged and merged[key] != value:
                    refuse(where, f"{key} is set beside a $ref and in its target with different values; set it once")
                if key != "$ref":
                    merged.setdefault(key, value)  # beside the $ref wins: a field's own description
        return merged

    def rule(self, schema: Any, where: str) -> dict[str, Any]:
        """One value's rule: its kind, the checks the validator runs, and the client's own extensions."""
        s = self.flatten(schema, where)
        kind, chosen_by = self._kind(s, where)
        rule: dict[str, Any] = {"kind": kind}
        if kind == "enum":
            if not s["enum"] or not all(isinstance(v, str) for v in s["enum"]):
                refuse(where, f"enum values must be strings, got {s['enum']!r}")
            rule["values"] = tuple(s["enum"])
        if kind == "array":
            if "items" not in s:
                refuse(where, "an array needs items")
            rule["items"] = self.rule(s["items"], f"{where} items")
            if rule["items"]["kind"] == "array":
                refuse(where, "arrays of arrays are not enforced by the client's validator")
        for key in s:
            if key in chosen_by or key in ANNOTATIONS or key.startswith("x-"):
                continue
            if key not in KEYWORDS[kind]:
                _not_enforced(where, key, s[key], f"{kind} values")
            rule[key] = _ARGUMENTS[key](where, key, s)
        if "x-standx-symbol-rule" in s:
            if s["x-standx-symbol-rule"] not in SYMBOL_RULES:
                refuse(where, f"x-standx-symbol-rule must be one of {SYMBOL_RULES}, got {s['x-standx-symbol-rule']!r}")
            rule["symbol_rule"] = s["x-standx-symbol-rule"]
        if "x-standx-client-generated" in s:
            if s["x-standx-client-generated"] not in CLIENT_GENERATED:
                refuse(where, f"x-standx-client-generated must be one of {CLIENT_GENERATED}")
            rule["generate"] = s["x-standx-client-generated"]
        return rule

    @staticmethod
    def _kind(s: dict[str, Any], where: str) -> tuple[str, frozenset[str]]:
        """The validator's kind of value (a key of KEYWORDS), and the keywords that chose it."""
        types, fmt = s.get("type"), s.get("format")
        if types == "string" and fmt == "decimal":
            return "decimal", frozenset({"type", "format"})
        if types == "string" and fmt == "date-time":
            return "datetime", frozenset({"type", "format"})
        if types == "string" and fmt is None:
            return ("enum", frozenset({"type", "enum"})) if "enum" in s else ("string", frozenset({"type"}))
        if types == "integer" and (fmt is None or fmt in INTEGER_FORMATS):
            return "integer", frozenset({"type"})  # its format is a check: the integer's range
        if types == "boolean" and fmt is None:
            return "boolean", frozenset({"type"})
        if types == "array" and fmt is None:
            return "array", frozenset({"type", "items"})
        shown = f"type {types!r}" + (f" with format {fmt!r}" if fmt is not None else "")
        refuse(
            where,
            f"{shown} is not a kind of value the client's validator enforces ({', '.join(KEYWORDS)}; integer formats "
            f"{', '.join(INTEGER_FORMATS)}; decimals are strings with format decimal)",
        )

    def parameter(self, param: dict[str, Any], operation: str) -> dict[str, Any]:
        """A query or header parameter, sent as plain text."""
        where = f"{operation}: {param.get('in')} parameter {param.get('name')}"
        for key in param:
            if key not in PARAMETER_FIELDS and not key.startswith("x-"):
                refuse(
                    where, f"parameter field {key!r} is not supported: the client sends each parameter once, as text"
                )
        if param["in"] not in ("query", "header"):
            refuse(where, f"the client sends query and header parameters only, not {param['in']!r} ones")
        if "schema" not in param:
            refuse(where, "a parameter needs a schema")
        rule = self.rule(param["schema"], where)
        if rule["kind"] == "array":
            refuse(where, "an array in a query or header has no serialization in the client")
        return _entry(param["name"], param["in"], bool(param.get("required", False)), rule, param.get("description"))

    def body(self, body: dict[str, Any], operation: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The JSON body's fields, and its schema (for the client's extensions on it)."""
        where = f"{operation}: request body"
        for key in body:
            if key not in ("content", "required", "description") and not key.startswith("x-"):
                refuse(where, f"request body field {key!r} is not supported")
        media = body.get("content", {})
        if list(media) != ["application/json"]:
            refuse(where, f"the client sends application/json bodies only, not {', '.join(media) or 'none'}")
        schema = self.flatten(media["application/json"].get("schema", {}), where)
        if schema.get("type") != "object":
            refuse(where, f"the client sends a JSON object, not type {schema.get('type')!r}")
        for key in schema:
            if key not in BODY_SCHEMA_FIELDS and not key.startswith("x-"):
                _not_enforced(where, key, schema[key], "a request body")
        if not isinstance(schema.get("additionalProperties", False), bool):
            refuse(where, "additionalProperties must be true or false: the client sends only the declared fields")
        fields = schema.get("properties", {})
        unknown = [name for name in schema.get("required", []) if name not in fields]
        if unknown:
            refuse(where, f"required names fields it does not declare: {', '.join(unknown)}")
        required = set(schema.get("required", []))
        entries = []
        for name, prop in fields.items():
            rule = self.rule(prop, f"{operation}: body field {name}")
            doc = prop.get("description") if isinstance(prop, dict) else None  # the field's own text
            entries.append(_entry(name, "body", name in required, rule, doc))
        return entries, schema


def py_name(wire: str) -> str:
    """The generator's Python name for a wire name (`from` -> `from_`, `countBack` -> `count_back`)."""
    return str(strings.PythonIdentifier(value=wire, prefix="field_"))


def _entry(wire: str, location: str, required: bool, rule: dict[str, Any], doc: str | None) -> dict[str, Any]:
    return {"py": py_name(wire), "wire": wire, "in": location, "required": required, "rule": rule, "doc": doc}


def check_names(where: str, extension: str, names: list[str], params: list[dict[str, Any]]) -> None:
    """An extension that names fields (x-standx-require-one-of ...) must name fields that exist."""
    known = {p["wire"] for p in params}
    unknown = [name for name in names if name not in known]
    if unknown:
        refuse(where, f"{extension} names what the operation does not take: {', '.join(unknown)}")
