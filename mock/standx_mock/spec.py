"""The served spec: the routing table of its operations, and request and response validation against it."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .spec_loader import SpecError, chain, load, pointer, resolve

SPEC_URI = "urn:standx-mock:spec"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REQUIRE_ONE_OF = "x-standx-require-one-of"
REQUIRED_WHEN = "x-standx-required-when"
FORBIDDEN_WHEN = "x-standx-forbidden-when"


class RequestInvalid(Exception):
    """The request does not match the spec; the message names the offending field."""


class SpecHashMismatch(SpecError):
    """The spec file is not the one this mock was built for."""


def expected_spec_hash() -> str:
    """The sha256 of the spec `make generate` built this package from (`_spec_hash.py`)."""
    try:
        module = importlib.import_module("standx_mock._spec_hash")
    except ModuleNotFoundError:
        raise SpecError("standx_mock/_spec_hash.py is missing: run `make generate`") from None
    value = getattr(module, "SPEC_SHA256", None)
    if not isinstance(value, str):
        raise SpecError("standx_mock/_spec_hash.py does not define SPEC_SHA256")
    return value


INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Param:
    name: str
    location: str
    required: bool
    schema_ptr: str
    types: tuple[str, ...]
    item_types: tuple[str, ...]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    query: Mapping[str, Param]
    headers: Mapping[str, Param]
    body_ptr: str | None
    body_required: bool
    body_require_one_of: tuple[tuple[str, ...], ...]
    #: (kind, field, condition) from x-standx-required-when / x-standx-forbidden-when on the body schema;
    #: condition maps other fields to a value or a list of values, all of which must match.
    body_conditions: tuple[tuple[str, str, tuple[tuple[str, tuple[Any, ...]], ...]], ...]
    query_require_one_of: tuple[tuple[str, ...], ...]
    security: tuple[tuple[str, ...], ...]  # alternatives, each a tuple of scheme names; () = public
    responses: Mapping[str, Mapping[str, str | None]]  # status -> media type -> schema pointer


@dataclass
class ValidatedRequest:
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def _int64_format(instance: object) -> bool:
    if isinstance(instance, int) and not isinstance(instance, bool):
        lo, hi = INT_BOUNDS["int64"]
        return lo <= instance <= hi
    return True


def _int32_format(instance: object) -> bool:
    if isinstance(instance, int) and not isinstance(instance, bool):
        lo, hi = INT_BOUNDS["int32"]
        return lo <= instance <= hi
    return True


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class Spec:
    """The parsed spec: routing table, compiled validators, security schemes."""

    @classmethod
    def load(cls, path: Path, expected_sha256: str | None, verify: bool = True) -> Spec:
        """The spec at `path`; refused when its sha256 is not the expected one (None: the packaged spec's)."""
        doc, raw, digest = load(path)
        if verify:
            want = expected_sha256 if expected_sha256 is not None else expected_spec_hash()
            if digest != want:
                raise SpecHashMismatch(
                    f"refusing to start: sha256 of {path} is {digest}, but the mock was built for {want}. "
                    "Regenerate with `make generate`."
                )
        return cls(doc, digest, raw)

    def __init__(self, doc: dict[str, Any], sha256: str = "", raw: bytes = b"") -> None:
        self.doc = doc
        self.sha256 = sha256
        #: The file's bytes as read and hash-checked (`GET /mock/openapi.yaml` serves them).
        self.raw = raw
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.format_checker = FormatChecker()
        self.format_checker.checks("int64")(_int64_format)
        self.format_checker.checks("int32")(_int32_format)
        self._validators: dict[str, Any] = {}
        self.security_schemes = self._security_schemes()
        self.routes: dict[str, dict[str, Operation]] = {}
        self._templates: list[tuple[re.Pattern[str], str]] = []
        self._build()

    # ---------------------------------------------------------------- construction

    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s (`#/...`) until a non-reference node."""
        return resolve(self.doc, node)

    def _ref_pointer(self, node: Any, default: str) -> str:
        """Pointer of the node a `$ref` chain ends at (or `default` when it is inline)."""
        ptr = default
        for ref, _ in chain(self.doc, node):
            ptr = default if ref is None else ref[1:]
        return ptr

    def _security_schemes(self) -> dict[str, str]:
        schemes = self.doc.get("components", {}).get("securitySchemes", {}) or {}
        kinds: dict[str, str] = {}
        for name, raw in schemes.items():
            scheme = self.resolve(raw)
            if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                kinds[name] = "bearer"
            elif (
                scheme.get("type") == "apiKey"
                and scheme.get("in") == "header"
                and str(scheme.get("name", "")).lower().startswith("x-request-")
            ):
                kinds[name] = "signature"
            else:
                raise SpecError(f"security scheme {name!r} is not supported by the mock")
        return kinds

    def _types(self, schema: Any) -> tuple[str, ...]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return ("string",)
        t = schema.get("type")
        if isinstance(t, str):
            return (t,)
        if isinstance(t, list):
            return tuple(str(x) for x in t)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                out: list[str] = []
                for sub in schema[key]:
                    out.extend(x for x in self._types(sub) if x not in out)
                return tuple(out)
        if "enum" in schema:
            kinds = {type(v).__name__ for v in schema["enum"]}
            return ("string",) if kinds == {"str"} else ("string", "integer", "number", "boolean")
        return ("string",)

    def _require_one_of(self, schema: Any) -> tuple[tuple[str, ...], ...]:
        schema = self.resolve(schema)
        groups: list[tuple[str, ...]] = []
        if not isinstance(schema, dict):
            return ()
        raw = schema.get(REQUIRE_ONE_OF)
        groups.extend(_one_of_groups(raw))
        for sub in schema.get("allOf", []) or []:
            groups.extend(self._require_one_of(sub))
        return tuple(groups)

    def _conditions(self, schema: Any) -> tuple[tuple[str, str, tuple[tuple[str, tuple[Any, ...]], ...]], ...]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return ()
        out: list[tuple[str, str, tuple[tuple[str, tuple[Any, ...]], ...]]] = []
        for key, kind in ((REQUIRED_WHEN, "required"), (FORBIDDEN_WHEN, "forbidden")):
            raw = schema.get(key) or {}
            if not isinstance(raw, dict):
                raise SpecError(f"{key} must map field names to conditions")
            for field_name, cond in raw.items():
                if not isinstance(cond, dict) or not cond:
                    raise SpecError(f"{key}.{field_name} must be a non-empty mapping of field to value(s)")
                parts = tuple(
                    (str(other), tuple(value) if isinstance(value, list) else (value,)) for other, value in cond.items()
                )
                out.append((kind, str(field_name), parts))
        for sub in schema.get("allOf", []) or []:
            out.extend(self._conditions(sub))
        return tuple(out)

    def _build(self) -> None:
        global_security = self.doc.get("security")
        seen_ids: set[str] = set()
        for path, raw_item in self.doc["paths"].items():
            item = self.resolve(raw_item)
            path_params = item.get("parameters", []) or []
            methods: dict[str, Operation] = {}
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                op_ptr = pointer("paths", path, method)
                op_id = op.get("operationId")
                if not op_id:
                    raise SpecError(f"{method.upper()} {path} has no operationId")
                if op_id in seen_ids:
                    raise SpecError(f"duplicate operationId {op_id!r}")
                seen_ids.add(op_id)
                query: dict[str, Param] = {}
                headers: dict[str, Param] = {}
                params = [(p, pointer("paths", path, "parameters", str(i))) for i, p in enumerate(path_params)]
                params += [(p, op_ptr + pointer("parameters", str(i))) for i, p in enumerate(op.get("parameters", []))]
                for raw_param, default_ptr in params:
                    param_ptr = self._ref_pointer(raw_param, default_ptr)
                    p = self.resolve(raw_param)
                    loc = p.get("in")
                    if loc not in ("query", "header", "path", "cookie"):
                        raise SpecError(f"{op_id}: parameter {p.get('name')!r} has an unknown location {loc!r}")
                    if loc in ("path", "cookie"):
                        raise SpecError(f"{op_id}: {loc} parameters are not supported by the mock")
                    if "schema" not in p:
                        raise SpecError(f"{op_id}: parameter {p['name']!r} has no schema")
                    schema = self.resolve(p["schema"])
                    item_types: tuple[str, ...] = ()
                    if isinstance(schema, dict) and "items" in schema:
                        item_types = self._types(schema["items"])
                    param = Param(
                        name=p["name"],
                        location=loc,
                        required=bool(p.get("required", False)),
                        schema_ptr=param_ptr + "/schema",
                        types=self._types(p["schema"]),
                        item_types=item_types,
                    )
                    if loc == "query":
                        query[param.name] = param
                    else:
                        headers[param.name.lower()] = param
                body_ptr: str | None = None
                body_required = False
                body_one_of: tuple[tuple[str, ...], ...] = ()
                body_conditions: tuple[tuple[str, str, tuple[tuple[str, tuple[Any, ...]], ...]], ...] = ()
                if "requestBody" in op:
                    rb_ptr = self._ref_pointer(op["requestBody"], op_ptr + "/requestBody")
                    rb = self.resolve(op["requestBody"])
                    content = rb.get("content", {})
                    if "application/json" not in content:
                        raise SpecError(f"{op_id}: only application/json request bodies are supported")
                    body_ptr = rb_ptr + pointer("content", "application/json", "schema")
                    body_required = bool(rb.get("required", False))
                    body_one_of = self._require_one_of(content["application/json"].get("schema", {}))
                    body_conditions = self._conditions(content["application/json"].get("schema", {}))
                security_raw = op.get("security", global_security) or []
                security: list[tuple[str, ...]] = []
                for alternative in security_raw:
                    names = tuple(alternative)
                    for name in names:
                        if name not in self.security_schemes:
                            raise SpecError(f"{op_id}: unknown security scheme {name!r}")
                    security.append(names)
                if any(len(alt) == 0 for alt in security):
                    security = []
                responses: dict[str, dict[str, str | None]] = {}
                for status, raw_resp in (op.get("responses") or {}).items():
                    resp_ptr = self._ref_pointer(raw_resp, op_ptr + pointer("responses", str(status)))
                    resp = self.resolve(raw_resp)
                    media: dict[str, str | None] = {}
                    for mt, body in (resp.get("content") or {}).items():
                        media[mt] = resp_ptr + pointer("content", mt, "schema") if "schema" in body else None
                    responses[str(status)] = media
                methods[method.upper()] = Operation(
                    operation_id=op_id,
                    method=method.upper(),
                    path=path,
                    query=query,
                    headers=headers,
                    body_ptr=body_ptr,
                    body_required=body_required,
                    body_require_one_of=body_one_of,
                    body_conditions=body_conditions,
                    query_require_one_of=tuple(_one_of_groups(op.get(REQUIRE_ONE_OF))),
                    security=tuple(security),
                    responses=responses,
                )
            if "{" in path:
                regex = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
                self._templates.append((regex, path))
            self.routes[path] = methods

    # ---------------------------------------------------------------- lookup

    @property
    def operations(self) -> list[Operation]:
        return [op for methods in self.routes.values() for op in methods.values()]

    def match(self, path: str) -> dict[str, Operation] | None:
        found = self.routes.get(path)
        if found is not None:
            return found
        for regex, template in self._templates:
            if regex.match(path):
                return self.routes[template]
        return None

    def validator(self, ptr: str) -> Any:
        v = self._validators.get(ptr)
        if v is None:
            v = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{ptr}"}, registry=self.registry, format_checker=self.format_checker
            )
            self._validators[ptr] = v
        return v

    def errors(self, ptr: str, instance: Any) -> list[str]:
        """Human-readable validation errors, each prefixed with the JSON path of the offending value."""
        out: list[str] = []
        for err in sorted(self.validator(ptr).iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
            out.append(_describe(err))
        return out

    # ---------------------------------------------------------------- requests

    def validate_request(
        self,
        op: Operation,
        query_items: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        content_type: str | None,
        body: bytes,
    ) -> ValidatedRequest:
        result = ValidatedRequest()
        raw_query: dict[str, list[str]] = {}
        for name, value in query_items:
            raw_query.setdefault(name, []).append(value)
        for name in raw_query:
            if name not in op.query:
                known = ", ".join(sorted(op.query)) or "none"
                raise RequestInvalid(f"unknown query parameter '{name}' (allowed: {known})")
        for name, param in op.query.items():
            values = raw_query.get(name)
            if values is None:
                if param.required:
                    raise RequestInvalid(f"missing required query parameter '{name}'")
                continue
            value = _coerce(param, values)
            errors = self.errors(param.schema_ptr, value)
            if errors:
                raise RequestInvalid(f"invalid query parameter '{name}': {errors[0]}")
            result.query[name] = value
        for group in op.query_require_one_of:
            if not any(g in result.query for g in group):
                raise RequestInvalid(f"at least one of the query parameters {', '.join(group)} is required")
        for name, param in op.headers.items():
            header_value = headers.get(name)
            if header_value is None:
                if param.required:
                    raise RequestInvalid(f"missing required header '{name}'")
                continue
            errors = self.errors(param.schema_ptr, header_value)
            if errors:
                raise RequestInvalid(f"invalid header '{name}': {errors[0]}")
            result.headers[name] = header_value
        if op.body_ptr is None:
            if body.strip():
                raise RequestInvalid(f"{op.operation_id} takes no request body")
            return result
        if not body.strip():
            if op.body_required:
                raise RequestInvalid("request body is required (application/json)")
            return result
        media = (content_type or "").split(";")[0].strip().lower()
        if media != "application/json":
            shown = content_type or "none"
            raise RequestInvalid(f"unsupported content-type {shown!r}: the request body must be application/json")
        try:
            text = body.decode("utf-8")
            parsed = json.loads(text, parse_float=Decimal, parse_constant=_json_constant)
        except UnicodeDecodeError:
            raise RequestInvalid("request body is not valid UTF-8") from None
        except ValueError as exc:
            raise RequestInvalid(f"request body is not valid JSON: {exc}") from None
        errors = self.errors(op.body_ptr, parsed)
        if errors:
            shown = "; ".join(errors[:5])
            raise RequestInvalid(f"invalid request body: {shown}")
        if isinstance(parsed, dict):
            for group in op.body_require_one_of:
                if not any(parsed.get(g) is not None for g in group):
                    raise RequestInvalid(f"invalid request body: at least one of {', '.join(group)} is required")
            for kind, name, cond in op.body_conditions:
                if not all(parsed.get(other) in values for other, values in cond):
                    continue
                when = " and ".join(f"{other} is {'/'.join(str(v) for v in values)}" for other, values in cond)
                present = parsed.get(name) is not None
                if kind == "required" and not present:
                    raise RequestInvalid(f"invalid request body: {name} is required when {when}")
                if kind == "forbidden" and present:
                    raise RequestInvalid(f"invalid request body: {name} is not allowed when {when}")
        result.body = parsed
        return result

    # ---------------------------------------------------------------- responses

    def response_errors(self, op: Operation, status: int, media_type: str, body: Any) -> list[str]:
        documented = (
            op.responses.get(str(status)) or op.responses.get(f"{str(status)[0]}XX") or op.responses.get("default")
        )
        if documented is None:
            return [f"status {status} is not documented for {op.operation_id}"]
        if media_type not in documented:
            if not documented:
                return []
            return [f"media type {media_type} is not documented for {op.operation_id} {status}"]
        ptr = documented[media_type]
        if ptr is None:
            return []
        return self.errors(ptr, body)


def _one_of_groups(raw: Any) -> list[tuple[str, ...]]:
    if raw is None:
        return []
    if isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        return [tuple(raw)]
    if isinstance(raw, list) and all(isinstance(x, list) for x in raw):
        return [tuple(str(y) for y in x) for x in raw]
    raise SpecError(f"{REQUIRE_ONE_OF} must be a list of names or a list of lists, got {raw!r}")


def _describe(err: Any) -> str:
    location = "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(err.absolute_path)
    )
    message = str(err.message)
    shown = _show(err.instance)
    if err.validator == "pattern":
        message = f"{shown} does not match the required format {err.validator_value}"
    elif err.validator == "format":
        message = f"{shown} is not a valid {err.validator_value}"
    elif err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        message = f"{shown} is not of type {wanted}"
    elif err.validator == "enum":
        message = f"{shown} is not one of {', '.join(_show(v) for v in err.validator_value)}"
    return f"{location}: {message}" if location else message


def _show(value: Any) -> str:
    """A value as it appeared in JSON (numbers unquoted, strings quoted)."""
    if isinstance(value, Decimal):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _coerce_scalar(kinds: tuple[str, ...], raw: str) -> Any:
    """Convert a query string value to the JSON type the schema expects (left as-is when it doesn't parse)."""
    if "integer" in kinds and re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if "number" in kinds:
        try:
            value = Decimal(raw)
            if value.is_finite():
                return int(value) if value == value.to_integral_value() and "." not in raw else value
        except InvalidOperation:
            pass
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    if "null" in kinds and raw in ("", "null"):
        return None
    return raw


def _coerce(param: Param, values: list[str]) -> Any:
    if "array" in param.types:
        items: list[str] = []
        for v in values:
            items.extend(v.split(",") if len(values) == 1 else [v])
        return [_coerce_scalar(param.item_types or ("string",), v) for v in items]
    if len(values) > 1:
        raise RequestInvalid(f"query parameter '{param.name}' was given {len(values)} times")
    return _coerce_scalar(param.types, values[0])
