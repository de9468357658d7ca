"""Breaking-change report between two versions of an OpenAPI document, grouped by operation.

`make spec-diff BASE=<git ref>` compares openapi/standx.yaml at BASE with the working tree:

    python tools/spec_diff.py --base REF [--path openapi/standx.yaml] [NEW]   # old side from `git show REF:PATH`
    python tools/spec_diff.py OLD NEW                                          # two files

Both documents are loaded and their `$ref`s resolved by the project's one spec loader
(generator/spec_loader.py; siblings of a `$ref` win, as in OpenAPI 3.1), schema cycles are cut, and every
operation (matched by operationId) is compared: parameters, request body, security and responses, schemas
recursively. Each change is classified from the point of view of a client built from the old document, and
the direction matters:

* request side (what the client sends): narrowing is breaking (enum value removed, new required field or
  parameter, optional made required, type narrowed, constraint tightened), widening is not;
* response side (what the client receives): widening is breaking or a warning (type widened, field made
  optional or removed; a new enum value is a warning, since a strict client enum rejects it), narrowing
  is not.

Exit status: 0 no breaking change, 1 breaking changes (or warnings with --fail-on-warning), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))
from spec_loader import SpecError, merged, parse  # noqa: E402

DEFAULT_PATH = "openapi/standx.yaml"

BREAKING = "breaking"
WARNING = "warning"
NON_BREAKING = "non-breaking"
_ORDER = {BREAKING: 0, WARNING: 1, NON_BREAKING: 2}
_LABEL = {BREAKING: "BREAKING", WARNING: "WARNING", NON_BREAKING: "ok"}
DOCUMENT = "(document)"
STREAMS = "x-standx-streams"
HOSTS = "x-standx-hosts"
LIMITS = "x-standx-limits"

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NOISE = frozenset({"description", "summary", "example", "examples", "title", "externalDocs", "deprecated"})
# Formats that change the Python type a generated client uses: changing them breaks callers either way.
_TYPED_FORMATS = frozenset({"date-time", "date", "time", "decimal", "binary", "byte", "uuid", "duration"})
# (keyword, +1 when a larger value is stricter, -1 when a smaller value is stricter)
_BOUNDS = (
    ("minimum", +1),
    ("exclusiveMinimum", +1),
    ("minLength", +1),
    ("minItems", +1),
    ("minProperties", +1),
    ("maximum", -1),
    ("exclusiveMaximum", -1),
    ("maxLength", -1),
    ("maxItems", -1),
    ("maxProperties", -1),
)


@dataclass(frozen=True, order=True)
class Change:
    """One classified difference. `kind` is a stable code (tests and CI can match on it)."""

    group: str  # operationId, or "(document)"
    level: str  # breaking | warning | non-breaking
    where: str  # e.g. "request body .price", "query parameter symbol", "response 200 .result[].status"
    kind: str  # e.g. "enum-value-removed"
    message: str


@dataclass
class Report:
    old_label: str
    new_label: str
    changes: list[Change] = field(default_factory=list)
    headings: dict[str, str] = field(default_factory=dict)  # group -> "new_order (POST /api/new_order)"

    def count(self, level: str) -> int:
        return sum(1 for c in self.changes if c.level == level)

    @property
    def breaking(self) -> bool:
        return self.count(BREAKING) > 0

    def kinds(self, level: str | None = None) -> set[str]:
        return {c.kind for c in self.changes if level is None or c.level == level}

    def by_group(self) -> dict[str, list[Change]]:
        groups: dict[str, list[Change]] = {DOCUMENT: []}
        for change in self.changes:
            groups.setdefault(change.group, []).append(change)
        for items in groups.values():
            items.sort(key=lambda c: (_ORDER[c.level], c.where, c.kind, c.message))
        return {group: items for group, items in groups.items() if items}

    def text(self) -> str:
        lines = [f"spec-diff: {self.old_label} -> {self.new_label}", ""]
        groups = self.by_group()
        if not groups:
            lines.append("No differences in operations, parameters, bodies, responses or security.")
        for group, items in groups.items():
            lines.append(self.headings.get(group, group))
            for change in items:
                lines.append(f"  {_LABEL[change.level]:<9} {change.where}: {change.message}")
            lines.append("")
        ops = len([g for g in groups if g != DOCUMENT])
        lines.append(
            f"Summary: {self.count(BREAKING)} breaking, {self.count(WARNING)} warning(s), "
            f"{self.count(NON_BREAKING)} non-breaking change(s) in {ops} operation(s)."
        )
        return "\n".join(lines).rstrip() + "\n"

    def json(self) -> str:
        return json.dumps(
            {
                "old": self.old_label,
                "new": self.new_label,
                "summary": {level: self.count(level) for level in _ORDER},
                "changes": [asdict(c) for c in self.changes],
            },
            indent=2,
        )


# --- $ref resolution --------------------------------------------------------------------------------------------


class Resolver:
    """Follows local `$ref`s (`#/components/...`) of one document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def deref(self, node: Any) -> tuple[Any, str | None]:
        """The node with its `$ref` chain followed (sibling keywords override), and the first ref's name."""
        return merged(self.doc, node)

    def schema(self, node: Any) -> tuple[dict[str, Any], str | None]:
        """A schema with its `$ref` followed and `allOf` merged into one object schema."""
        schema, ref = self.deref(node)
        if schema is True or schema is None:
            return {}, ref
        if not isinstance(schema, dict):
            raise SpecError(f"schema expected, got {schema!r}")
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            props: dict[str, Any] = dict(merged.get("properties", {}))
            required: list[str] = list(merged.get("required", []))
            for part in schema["allOf"]:
                sub, _ = self.schema(part)
                props.update(sub.get("properties", {}))
                required += [r for r in sub.get("required", []) if r not in required]
                for key, value in sub.items():
                    if key not in ("properties", "required"):
                        merged.setdefault(key, value)
            if props:
                merged["properties"] = props
            if required:
                merged["required"] = required
            schema = merged
        return schema, ref

    def canonical(self, node: Any, depth: int = 0) -> Any:
        """A comparable form of a schema (refs resolved, documentation keywords dropped), for rename detection."""
        if depth > 12:
            return "..."
        node, _ = self.deref(node)
        if isinstance(node, dict):
            return {k: self.canonical(v, depth + 1) for k, v in sorted(node.items()) if k not in _NOISE}
        if isinstance(node, list):
            return [self.canonical(v, depth + 1) for v in node]
        return node


# --- Comparison -------------------------------------------------------------------------------------------------


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema allows; None for "any"."""
    raw = schema.get("type")
    if raw is None:
        if "properties" in schema:
            types = {"object"}
        elif "items" in schema:
            types = {"array"}
        else:
            return None
    else:
        types = {raw} if isinstance(raw, str) else set(raw)
    if schema.get("nullable") is True:  # OpenAPI 3.0
        types.add("null")
    return types


def _covers(wide: set[str] | None, narrow: set[str] | None) -> bool:
    """True when every value of type `narrow` is also of type `wide` (integer is a number)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _fmt(values: Iterable[Any]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _field(where: str) -> str:
    """The prefix for a field below `where`: "request body .", "response 200 .result[]." """
    last = where.rsplit(" ", 1)[-1]
    return f"{where}." if last.startswith(".") or where.endswith("]") else f"{where} ."


def _types_text(types: set[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


class Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.ro, self.rn = Resolver(old), Resolver(new)
        self.changes: list[Change] = []
        self.headings: dict[str, str] = {}
        self._group = DOCUMENT

    def add(self, level: str, where: str, kind: str, message: str) -> None:
        change = Change(self._group, level, where, kind, message)
        if change not in self.changes:
            self.changes.append(change)

    # -- document level ---------------------------------------------------------------------------------------

    def run(self) -> list[Change]:
        self._group = DOCUMENT
        self._document()
        old_ops, new_ops = dict(self._operations(self.old)), dict(self._operations(self.new))
        moved = {(op["method"], op["path"]): op_id for op_id, op in new_ops.items() if op_id not in old_ops}
        for op_id, op in new_ops.items():
            self._group = op_id
            self.headings[op_id] = f"{op_id} ({op['method'].upper()} {op['path']})"
            if op_id not in old_ops:
                self.add(NON_BREAKING, "operation", "operation-added", "new operation")
            else:
                self._operation(old_ops[op_id], op)
        for op_id, op in old_ops.items():
            if op_id in new_ops:
                continue
            self._group = op_id
            self.headings[op_id] = f"{op_id} ({op['method'].upper()} {op['path']}, removed)"
            renamed = moved.get((op["method"], op["path"]))
            if renamed:
                self.add(BREAKING, "operation", "operation-renamed", f"operationId renamed to `{renamed}`")
            else:
                self.add(BREAKING, "operation", "operation-removed", "operation removed")
        self._streams()
        old_version = str(self.old.get("info", {}).get("version"))
        new_version = str(self.new.get("info", {}).get("version"))
        if any(c.level == BREAKING for c in self.changes) and old_version == new_version:
            self._group = DOCUMENT
            self.add(
                WARNING, "info.version", "version-not-bumped", f"breaking changes but version is still {old_version}"
            )
        return self.changes

    def _document(self) -> None:
        old_servers = [s.get("url") for s in self.old.get("servers", [])]
        new_servers = [s.get("url") for s in self.new.get("servers", [])]
        if old_servers[:1] != new_servers[:1]:
            self.add(BREAKING, "servers", "server-changed", f"default server {old_servers[:1]} -> {new_servers[:1]}")
        old_schemes = self.old.get("components", {}).get("securitySchemes", {})
        new_schemes = self.new.get("components", {}).get("securitySchemes", {})
        for name, old_scheme in old_schemes.items():
            if name not in new_schemes:
                self.add(BREAKING, f"security scheme {name}", "security-scheme-removed", "security scheme removed")
                continue
            o, _ = self.ro.deref(old_scheme)
            n, _ = self.rn.deref(new_schemes[name])
            for key in ("type", "scheme", "in", "name", "bearerFormat"):
                if o.get(key) != n.get(key):
                    self.add(
                        BREAKING,
                        f"security scheme {name}",
                        "security-scheme-changed",
                        f"{key} {o.get(key)!r} -> {n.get(key)!r}",
                    )
        for name in new_schemes.keys() - old_schemes.keys():
            self.add(NON_BREAKING, f"security scheme {name}", "security-scheme-added", "new security scheme")
        self._hosts_and_limits()

    def _hosts_and_limits(self) -> None:
        """`x-standx-hosts` and `x-standx-limits`: a client built from the old document defaults to the old
        URLs and paces itself by the old figures."""
        old, new = self.old.get(HOSTS, {}), self.new.get(HOSTS, {})
        for name in sorted(old.keys() | new.keys()):
            o, n = (old.get(name) or {}).get("url"), (new.get(name) or {}).get("url")
            if o != n:
                level, kind = (NON_BREAKING, "host-added") if o is None else (BREAKING, "host-changed")
                self.add(level, f"host {name}", kind, f"{o} -> {n}")
        old, new = self.old.get(LIMITS, {}), self.new.get(LIMITS, {})
        for section in sorted((old.keys() | new.keys()) - {"description"}):
            o, n = old.get(section) or {}, new.get(section) or {}
            for figure in sorted((o.keys() | n.keys()) - {"description"}):
                before, after = o.get(figure), n.get(figure)
                where = f"limit {section}.{figure}"
                if before == after:
                    continue
                if before is None:  # clients built from the old document do not pace themselves by it
                    self.add(WARNING, where, "limit-added", f"new documented limit {after}")
                elif after is None:
                    self.add(NON_BREAKING, where, "limit-removed", f"{before} no longer documented")
                elif (after > before) == (figure == "cost"):  # a larger cost is stricter, else a smaller figure
                    self.add(BREAKING, where, "limit-tightened", f"{before} -> {after}")
                else:
                    self.add(NON_BREAKING, where, "limit-loosened", f"{before} -> {after}")

    def _streams(self) -> None:
        """`x-standx-streams`: WebSocket channels (payloads as responses) and order-stream commands."""
        old, new = self.old.get(STREAMS, {}), self.new.get(STREAMS, {})
        if not old and not new:
            return
        self._group = STREAMS
        self.headings[STREAMS] = "WebSocket streams (x-standx-streams)"
        for stream in sorted(old.keys() | new.keys()):
            o, n = old.get(stream), new.get(stream)
            if n is None or o is None:
                level, kind = (BREAKING, "stream-removed") if n is None else (NON_BREAKING, "stream-added")
                self.add(level, f"stream {stream}", kind, "stream removed" if n is None else "new stream")
                continue
            if o.get("url") != n.get("url"):
                self.add(BREAKING, f"stream {stream}", "stream-url-changed", f"{o.get('url')} -> {n.get('url')}")
            self._stream_channels(stream, o.get("channels", {}), n.get("channels", {}))
            for name in sorted(o.get("commands", {}).keys() | n.get("commands", {}).keys()):
                oc, nc = o.get("commands", {}).get(name), n.get("commands", {}).get(name)
                if nc is None:
                    self.add(BREAKING, f"command {name}", "command-removed", "order-stream command removed")
                elif oc is None:
                    self.add(NON_BREAKING, f"command {name}", "command-added", "new order-stream command")
                elif oc != nc:
                    self.add(BREAKING, f"command {name}", "command-changed", f"{oc} -> {nc}")
            if "response" in o and "response" in n:
                self._schema(o["response"], n["response"], f"stream {stream} frames", "response")

    def _stream_channels(self, stream: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for name in sorted(old.keys() | new.keys()):
            where = f"channel {name}"
            o, n = old.get(name), new.get(name)
            if n is None:
                self.add(BREAKING, where, "channel-removed", f"{stream} channel removed")
            elif o is None:
                self.add(NON_BREAKING, where, "channel-added", f"new {stream} channel")
            else:
                for flag in ("symbol", "auth"):
                    if bool(o.get(flag)) != bool(n.get(flag)):
                        self.add(BREAKING, where, "channel-changed", f"{flag} {o.get(flag)} -> {n.get(flag)}")
                self._schema(o.get("schema", {}), n.get("schema", {}), where, "response")

    def _operations(self, doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        resolver = Resolver(doc)
        default_server = (doc.get("servers") or [{}])[0].get("url")
        for path, raw_item in (doc.get("paths") or {}).items():
            item, _ = resolver.deref(raw_item)
            for method in _METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                params: dict[tuple[str, str], dict[str, Any]] = {}
                for raw in list(item.get("parameters", [])) + list(op.get("parameters", [])):
                    param, _ = resolver.deref(raw)
                    where = param.get("in", "query")
                    name = param.get("name", "")
                    params[(where, name.lower() if where == "header" else name)] = param
                explicit = op.get("servers") or item.get("servers")
                server = (explicit or [{"url": default_server}])[0].get("url")
                security = op.get("security", doc.get("security", []))
                yield (
                    op.get("operationId") or f"{method.upper()} {path}",
                    {
                        "method": method,
                        "path": path,
                        "server": server,
                        "explicit_server": bool(explicit),
                        "op": op,
                        "params": params,
                        "security": [frozenset(req) for req in security],
                    },
                )

    # -- one operation -----------------------------------------------------------------------------------------

    def _operation(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if (old["method"], old["path"]) != (new["method"], new["path"]):
            self.add(
                BREAKING,
                "operation",
                "operation-moved",
                f"{old['method'].upper()} {old['path']} -> {new['method'].upper()} {new['path']}",
            )
        # A changed default server is reported once, for the document; here only operation-level servers.
        if old["server"] != new["server"] and (old["explicit_server"] or new["explicit_server"]):
            self.add(BREAKING, "operation", "server-changed", f"server {old['server']} -> {new['server']}")
        if not old["op"].get("deprecated") and new["op"].get("deprecated"):
            self.add(WARNING, "operation", "operation-deprecated", "operation deprecated")
        for key in sorted(
            {k for k in (*old["op"], *new["op"]) if k.startswith("x-standx-")} - {"x-standx-require-one-of"}
        ):
            a, b = old["op"].get(key), new["op"].get(key)
            if a != b:  # the client's behaviour follows these (for example whether a call is retried)
                self.add(
                    WARNING, "operation", "extension-changed", f"{key} {a!r} -> {b!r}: client behaviour may change"
                )
        self._security(old["security"], new["security"])
        self._parameters(old["params"], new["params"])
        self._one_of_groups("operation", old["op"], new["op"])
        self._request_body(old["op"].get("requestBody"), new["op"].get("requestBody"))
        self._responses(old["op"].get("responses") or {}, new["op"].get("responses") or {})

    def _security(self, old: list[frozenset[str]], new: list[frozenset[str]]) -> None:
        old_alts = old or [frozenset()]
        new_alts = new or [frozenset()]
        if old_alts == new_alts:
            return
        text = f"{[sorted(a) for a in old_alts]} -> {[sorted(a) for a in new_alts]}"
        # A client satisfying some old alternative must still satisfy a new one.
        if all(any(n <= o for n in new_alts) for o in old_alts):
            self.add(NON_BREAKING, "security", "security-relaxed", text)
        else:
            self.add(BREAKING, "security", "security-added", f"new authentication requirement: {text}")

    def _parameters(self, old: dict[tuple[str, str], Any], new: dict[tuple[str, str], Any]) -> None:
        for key, param in old.items():
            where = f"{key[0]} parameter {param.get('name')}"
            if key not in new:
                self.add(BREAKING, where, "parameter-removed", "parameter removed")
                continue
            other = new[key]
            was, now = bool(param.get("required")), bool(other.get("required"))
            if not was and now:
                self.add(BREAKING, where, "parameter-required", "optional parameter made required")
            elif was and not now:
                self.add(NON_BREAKING, where, "parameter-optional", "required parameter made optional")
            if "schema" in param or "schema" in other:
                self._schema(param.get("schema", {}), other.get("schema", {}), where, "request")
        for key, param in new.items():
            if key in old:
                continue
            where = f"{key[0]} parameter {param.get('name')}"
            if param.get("required"):
                self.add(BREAKING, where, "parameter-added-required", "new required parameter")
            else:
                self.add(NON_BREAKING, where, "parameter-added", "new optional parameter")

    def _request_body(self, old_raw: Any, new_raw: Any) -> None:
        where = "request body"
        if old_raw is None and new_raw is None:
            return
        if old_raw is None:
            new_body, _ = self.rn.deref(new_raw)
            if new_body.get("required"):
                self.add(BREAKING, where, "request-body-added-required", "new required request body")
            else:
                self.add(NON_BREAKING, where, "request-body-added", "new optional request body")
            return
        old_body, _ = self.ro.deref(old_raw)
        if new_raw is None:
            self.add(BREAKING, where, "request-body-removed", "request body removed")
            return
        new_body, _ = self.rn.deref(new_raw)
        if not old_body.get("required") and new_body.get("required"):
            self.add(BREAKING, where, "request-body-required", "optional request body made required")
        for media, old_media in (old_body.get("content") or {}).items():
            new_media = (new_body.get("content") or {}).get(media)
            label = where if media == "application/json" else f"{where} ({media})"
            if new_media is None:
                self.add(BREAKING, label, "media-type-removed", f"{media} no longer accepted")
                continue
            self._schema(old_media.get("schema", {}), new_media.get("schema", {}), label, "request")
        for media in (new_body.get("content") or {}).keys() - (old_body.get("content") or {}).keys():
            self.add(NON_BREAKING, f"{where} ({media})", "media-type-added", f"{media} also accepted")

    def _responses(self, old_by_status: dict[Any, Any], new_by_status: dict[Any, Any]) -> None:
        # Unquoted YAML status codes load as integers: compare them as the strings they are in the spec.
        old = {str(status): value for status, value in old_by_status.items()}
        new = {str(status): value for status, value in new_by_status.items()}
        for status, old_raw in old.items():
            where = f"response {status}"
            success = status.startswith("2")
            new_raw = new.get(status)
            if new_raw is None:
                if success:
                    self.add(BREAKING, where, "response-removed", "success response removed")
                else:
                    self.add(NON_BREAKING, where, "response-removed", "error response no longer documented")
                continue
            old_resp, _ = self.ro.deref(old_raw)
            new_resp, _ = self.rn.deref(new_raw)
            for media, old_media in (old_resp.get("content") or {}).items():
                new_media = (new_resp.get("content") or {}).get(media)
                label = where if media == "application/json" else f"{where} ({media})"
                if new_media is None:
                    level = BREAKING if success else WARNING
                    self.add(level, label, "media-type-removed", f"{media} no longer returned")
                    continue
                self._schema(old_media.get("schema", {}), new_media.get("schema", {}), label, "response")
            for media in (new_resp.get("content") or {}).keys() - (old_resp.get("content") or {}).keys():
                level = WARNING if success else NON_BREAKING
                self.add(level, f"{where} ({media})", "media-type-added", f"may now return {media}")
        for status in new:
            if status in old:
                continue
            success = status.startswith("2")
            level = WARNING if success else NON_BREAKING
            message = "new success response: old clients may not decode it" if success else "new error response"
            self.add(level, f"response {status}", "response-added", message)

    # -- schemas -----------------------------------------------------------------------------------------------

    def _schema(
        self,
        old_raw: Any,
        new_raw: Any,
        where: str,
        direction: str,
        stack: frozenset[tuple[str | None, str | None]] = frozenset(),
    ) -> None:
        old, old_ref = self.ro.schema(old_raw)
        new, new_ref = self.rn.schema(new_raw)
        if old_ref is not None and new_ref is not None:
            if (old_ref, new_ref) in stack:
                return  # a recursive schema: this pair is already being compared further up
            stack = stack | {(old_ref, new_ref)}
        request = direction == "request"

        old_types, new_types = _types(old), _types(new)
        if old_types != new_types:
            text = f"type {_types_text(old_types)} -> {_types_text(new_types)}"
            if request:
                if _covers(new_types, old_types):
                    self.add(NON_BREAKING, where, "type-widened", text)
                else:
                    self.add(BREAKING, where, "type-changed", f"{text}: values sent so far may be refused")
            elif _covers(old_types, new_types):
                self.add(NON_BREAKING, where, "type-narrowed", text)
            elif new_types is not None and old_types is not None and new_types - old_types == {"null"}:
                self.add(BREAKING, where, "type-nullable", f"{text}: may now be null")
            else:
                self.add(BREAKING, where, "type-changed", f"{text}: clients may not decode the new values")

        old_format, new_format = old.get("format"), new.get("format")
        if old_format != new_format:
            text = f"format {old_format or '(none)'} -> {new_format or '(none)'}"
            if {old_format, new_format} & _TYPED_FORMATS:
                self.add(BREAKING, where, "format-changed", f"{text}: the generated Python type changes")
            else:
                self.add(WARNING, where, "format-changed", text)

        if old_ref != new_ref and old_ref and new_ref and self._is_class(new):
            self.add(
                WARNING,
                where,
                "model-changed",
                f"schema {old_ref.rsplit('/', 1)[-1]} -> {new_ref.rsplit('/', 1)[-1]}: the generated class changes",
            )
        self._enums(old, new, where, request)
        self._bounds(old, new, where, request)
        if request and ("default" in old or "default" in new) and old.get("default") != new.get("default"):
            self.add(
                WARNING,
                where,
                "default-changed",
                f"default {old.get('default', '(none)')!r} -> {new.get('default', '(none)')!r}: "
                "generated clients send the spec's default",
            )

        if "properties" in old or "properties" in new or {"object"} & ((old_types or set()) | (new_types or set())):
            self._object(old, new, where, direction, stack)
        if "items" in old and "items" in new:
            self._schema(old["items"], new["items"], f"{where}[]", direction, stack)
        for keyword in ("oneOf", "anyOf"):
            if keyword in old or keyword in new:
                self._alternatives(keyword, old.get(keyword, []), new.get(keyword, []), where, direction, stack)

    @staticmethod
    def _is_class(schema: dict[str, Any]) -> bool:
        """Whether a generator turns this schema into a named class (an object model or an enum)."""
        return "enum" in schema or "properties" in schema or schema.get("type") == "object"

    def _enums(self, old: dict[str, Any], new: dict[str, Any], where: str, request: bool) -> None:
        old_enum, new_enum = _enum(old), _enum(new)
        if old_enum is None and new_enum is None:
            return
        if old_enum is None:
            assert new_enum is not None
            if request:
                self.add(BREAKING, where, "enum-added", f"now restricted to {_fmt(new_enum)}")
            else:
                self.add(NON_BREAKING, where, "enum-added", f"now documented as one of {_fmt(new_enum)}")
            return
        if new_enum is None:
            if request:
                self.add(NON_BREAKING, where, "enum-removed", "no longer restricted to an enum")
            else:
                self.add(WARNING, where, "enum-removed", "no longer an enum: any value may come back")
            return
        removed = [v for v in old_enum if v not in new_enum]
        added = [v for v in new_enum if v not in old_enum]
        if removed:
            if request:
                self.add(BREAKING, where, "enum-value-removed", f"enum value(s) {_fmt(removed)} removed")
            else:
                self.add(NON_BREAKING, where, "enum-value-removed", f"enum value(s) {_fmt(removed)} no longer returned")
        if added:
            if request:
                self.add(NON_BREAKING, where, "enum-value-added", f"enum value(s) {_fmt(added)} added")
            else:
                self.add(
                    WARNING,
                    where,
                    "enum-value-added",
                    f"new enum value(s) {_fmt(added)} may be returned: clients with a strict enum must accept them",
                )

    def _bounds(self, old: dict[str, Any], new: dict[str, Any], where: str, request: bool) -> None:
        for keyword, stricter in _BOUNDS:
            a, b = old.get(keyword), new.get(keyword)
            if a == b or isinstance(a, bool) or isinstance(b, bool):
                continue
            if a is None:
                tightened = True
            elif b is None:
                tightened = False
            else:
                tightened = (b - a) * stricter > 0
            text = f"{keyword} {a if a is not None else '(none)'} -> {b if b is not None else '(none)'}"
            if request and tightened:
                self.add(BREAKING, where, "constraint-tightened", f"{text}: values sent so far may be refused")
            else:
                self.add(NON_BREAKING, where, "constraint-loosened" if not tightened else "constraint-tightened", text)
        for keyword in ("pattern", "multipleOf"):
            a, b = old.get(keyword), new.get(keyword)
            if a != b:
                text = f"{keyword} {a!r} -> {b!r}"
                if request and b is not None:
                    self.add(WARNING, where, f"{keyword}-changed", f"{text}: check that values sent so far still match")
                else:
                    self.add(NON_BREAKING, where, f"{keyword}-changed", text)

    def _object(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        where: str,
        direction: str,
        stack: frozenset[tuple[str | None, str | None]],
    ) -> None:
        request = direction == "request"
        old_props: dict[str, Any] = old.get("properties") or {}
        new_props: dict[str, Any] = new.get("properties") or {}
        old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
        removed = [name for name in old_props if name not in new_props]
        added = [name for name in new_props if name not in old_props]

        # A removed and an added field with the same schema, each the other's only match: a rename.
        renames: dict[str, str] = {}
        shapes_old = {name: self.ro.canonical(old_props[name]) for name in removed}
        shapes_new = {name: self.rn.canonical(new_props[name]) for name in added}
        for name in removed:
            matches = [a for a in added if shapes_new[a] == shapes_old[name]]
            if len(matches) == 1 and [r for r in removed if shapes_old[r] == shapes_new[matches[0]]] == [name]:
                renames[name] = matches[0]
        for old_name, new_name in renames.items():
            self.add(BREAKING, f"{_field(where)}{old_name}", "field-renamed", f"field renamed to `{new_name}`")
        for name in removed:
            if name in renames:
                continue
            if request:
                self.add(BREAKING, f"{_field(where)}{name}", "field-removed", "field removed: clients still send it")
            else:
                self.add(BREAKING, f"{_field(where)}{name}", "field-removed", "response field removed")
        for name in added:
            if name in renames.values():
                continue
            is_required = name in new_req
            if request and is_required:
                self.add(BREAKING, f"{_field(where)}{name}", "field-added-required", "new required field")
            else:
                detail = "required" if is_required else "optional"
                self.add(NON_BREAKING, f"{_field(where)}{name}", "field-added", f"new {detail} field")
        for name in old_props:
            if name not in new_props:
                continue
            was, now = name in old_req, name in new_req
            label = f"{_field(where)}{name}"
            if request and not was and now:
                self.add(BREAKING, label, "field-required", "optional field made required")
            elif request and was and not now:
                self.add(NON_BREAKING, label, "field-optional", "required field made optional")
            elif not request and was and not now:
                self.add(BREAKING, label, "field-optional", "field may now be absent from responses")
            elif not request and not was and now:
                self.add(NON_BREAKING, label, "field-required", "field now always present")
            self._schema(old_props[name], new_props[name], label, direction, stack)
        # Required names without a property schema (rare): still a new obligation for senders.
        for name in sorted((new_req - old_req) - set(new_props)):
            if request:
                self.add(BREAKING, f"{_field(where)}{name}", "field-added-required", "new required field")
        if request:
            old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
            if old_extra is not False and new_extra is False:
                self.add(WARNING, where, "additional-properties-closed", "unknown fields are now refused")
            self._one_of_groups(where, old, new)

    def _one_of_groups(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        """StandX's `x-standx-require-one-of` (at least one of these fields): a new or changed group binds senders."""
        key = "x-standx-require-one-of"
        a, b = old.get(key), new.get(key)
        if a == b:
            return
        if b is None:
            self.add(NON_BREAKING, where, "require-one-of-removed", f"{key} {a} removed")
        elif a is None or not set(a) <= set(b):
            self.add(BREAKING, where, "require-one-of-changed", f"{key} {a} -> {b}")
        else:
            self.add(NON_BREAKING, where, "require-one-of-widened", f"{key} {a} -> {b}")

    def _alternatives(
        self,
        keyword: str,
        old: list[Any],
        new: list[Any],
        where: str,
        direction: str,
        stack: frozenset[tuple[str | None, str | None]],
    ) -> None:
        old_shapes = [self.ro.canonical(s) for s in old]
        new_shapes = [self.rn.canonical(s) for s in new]
        matched_new: set[int] = set()
        unmatched_old: list[int] = []
        for i, shape in enumerate(old_shapes):
            j = next((j for j, s in enumerate(new_shapes) if s == shape and j not in matched_new), None)
            if j is None:
                unmatched_old.append(i)
            else:
                matched_new.add(j)
        unmatched_new = [j for j in range(len(new)) if j not in matched_new]
        # Changed alternatives are compared pairwise, in order; the rest were removed or added.
        for i, j in zip(unmatched_old, unmatched_new, strict=False):
            self._schema(old[i], new[j], f"{where} ({keyword}[{j}])", direction, stack)
        request = direction == "request"
        for i in unmatched_old[len(unmatched_new) :]:
            level = BREAKING if request else NON_BREAKING
            self.add(level, where, f"{keyword}-alternative-removed", f"{keyword} alternative {i} removed")
        for j in unmatched_new[len(unmatched_old) :]:
            level = NON_BREAKING if request else BREAKING
            self.add(level, where, f"{keyword}-alternative-added", f"{keyword} alternative {j} added")


# --- Entry points -----------------------------------------------------------------------------------------------


def load(text: str | bytes, label: str) -> dict[str, Any]:
    return parse(text, label)


def compare(old: dict[str, Any], new: dict[str, Any], old_label: str = "old", new_label: str = "new") -> Report:
    """Classify every difference between two parsed OpenAPI documents."""
    differ = Differ(old, new)
    changes = differ.run()
    labels = []
    for doc, label in ((old, old_label), (new, new_label)):
        version = doc.get("info", {}).get("version")
        labels.append(f"{label} (version {version})" if version is not None else label)
    return Report(labels[0], labels[1], changes, differ.headings)


def git_show(ref: str, path: str, repo: Path = ROOT) -> bytes:
    result = subprocess.run(
        ["git", "-C", str(repo), "show", f"{ref}:{path}"], capture_output=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise SpecError(f"git show {ref}:{path} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="spec_diff", description="Breaking-change report between two versions of an OpenAPI document."
    )
    parser.add_argument("files", nargs="*", type=Path, help="OLD NEW, or only NEW with --base")
    parser.add_argument("--base", metavar="REF", help="take the old document from `git show REF:PATH`")
    parser.add_argument("--path", default=DEFAULT_PATH, help=f"the document's path in the repository ({DEFAULT_PATH})")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--fail-on-warning", action="store_true", help="exit 1 on warnings too")
    options = parser.parse_args(argv)

    try:
        if options.base:
            if len(options.files) > 1:
                parser.error("with --base give at most one file (the new document)")
            new_path = options.files[0] if options.files else ROOT / options.path
            old_label = f"{options.base}:{options.path}"
            old = load(git_show(options.base, options.path), old_label)
            new_label = str(new_path) if options.files else f"working tree:{options.path}"
        else:
            if len(options.files) != 2:
                parser.error("give OLD and NEW files, or --base REF")
            old_path, new_path = options.files
            old_label, new_label = str(old_path), str(new_path)
            old = load(old_path.read_bytes(), old_label)
        new = load(new_path.read_bytes(), new_label)
        report = compare(old, new, old_label, new_label)
    except (SpecError, OSError) as exc:
        print(f"spec_diff: {exc}", file=sys.stderr)
        return 2

    print(report.text() if options.format == "text" else report.json(), end="" if options.format == "text" else "\n")
    if report.breaking:
        if options.format == "text":
            print(f"FAIL: {report.count(BREAKING)} breaking change(s) for clients built from the old document.")
        return 1
    if options.fail_on_warning and report.count(WARNING):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
