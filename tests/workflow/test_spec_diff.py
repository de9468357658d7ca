"""tools/spec_diff.py: each class of change on small spec pairs, direction awareness, the CLI and a real case."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_helpers import PY, ROOT, load_tool, make, run

spec_diff = load_tool("spec_diff")
B, W, OK = spec_diff.BREAKING, spec_diff.WARNING, spec_diff.NON_BREAKING
TOOL = ROOT / "tools" / "spec_diff.py"

BASE_YAML = """
openapi: 3.1.0
info: {title: Small, version: '1.0'}
servers: [{url: 'https://perps.example.com'}]
paths:
  /api/place:
    parameters:
      - {name: x-session-id, in: header, required: false, schema: {type: string}}
    post:
      operationId: place
      security: [{bearerAuth: []}]
      parameters:
        - {name: symbol, in: query, required: true, schema: {type: string}}
        - {name: depth, in: query, required: false, schema: {type: integer, maximum: 100}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/OrderRequest'}
      responses:
        '200':
          description: The order.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Order'}
        '400': {$ref: '#/components/responses/BadRequest'}
  /api/orders:
    get:
      operationId: list_orders
      parameters:
        - name: side
          in: query
          schema: {$ref: '#/components/schemas/Side'}
      responses:
        '200':
          description: Orders.
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Order'}}
  /api/health:
    get:
      operationId: health
      responses:
        '200': {description: up, content: {text/plain: {schema: {type: string}}}}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
    bodySignature: {type: apiKey, in: header, name: x-request-signature}
  responses:
    BadRequest:
      description: Bad request.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Side: {type: string, enum: [buy, sell]}
    Status: {type: string, enum: [open, filled]}
    Error:
      type: object
      required: [code]
      properties: {code: {type: integer}, message: {type: string}}
    OrderRequest:
      type: object
      required: [side, qty]
      properties:
        side: {$ref: '#/components/schemas/Side', description: Order side.}
        qty: {type: string, maxLength: 20}
        note: {type: string}
    Order:
      type: object
      required: [id, status, side]
      properties:
        id: {type: integer}
        status: {$ref: '#/components/schemas/Status'}
        side: {$ref: '#/components/schemas/Side'}
        price: {type: string}
"""
BASE: dict[str, Any] = yaml.safe_load(BASE_YAML)


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]


def _place(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["paths"]["/api/place"]["post"]


def _param(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in _place(doc)["parameters"] if p.get("name") == name)


def _set(obj: dict[str, Any], key: str, value: Any) -> None:
    obj[key] = value


def _rename(props: dict[str, Any], old: str, new: str) -> None:
    props[new] = props.pop(old)


# (id, edit of the base document, expected (level, operation, where, kind) that must be reported)
CASES: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, str, str, str]]] = [
    ("operation removed", lambda d: d["paths"].pop("/api/health"), (B, "health", "operation", "operation-removed")),
    (
        "operation added",
        lambda d: _set(d["paths"], "/api/ping", {"get": {"operationId": "ping", "responses": {"204": {}}}}),
        (OK, "ping", "operation", "operation-added"),
    ),
    (
        "operationId renamed",
        lambda d: _set(d["paths"]["/api/health"]["get"], "operationId", "healthcheck"),
        (B, "health", "operation", "operation-renamed"),
    ),
    (
        "request field removed",
        lambda d: _schemas(d)["OrderRequest"]["properties"].pop("note"),
        (B, "place", "request body .note", "field-removed"),
    ),
    (
        "request field renamed",
        lambda d: _rename(_schemas(d)["OrderRequest"]["properties"], "note", "memo"),
        (B, "place", "request body .note", "field-renamed"),
    ),
    (
        "response field removed",
        lambda d: _schemas(d)["Order"]["properties"].pop("price"),
        (B, "place", "response 200 .price", "field-removed"),
    ),
    (
        "response field renamed",
        lambda d: _rename(_schemas(d)["Order"]["properties"], "price", "limit_price"),
        (B, "list_orders", "response 200[].price", "field-renamed"),
    ),
    (
        "new required request field",
        lambda d: (
            _set(_schemas(d)["OrderRequest"]["properties"], "tag", {"type": "string"}),
            _schemas(d)["OrderRequest"]["required"].append("tag"),
        ),
        (B, "place", "request body .tag", "field-added-required"),
    ),
    (
        "new optional request field",
        lambda d: _set(_schemas(d)["OrderRequest"]["properties"], "tag", {"type": "string"}),
        (OK, "place", "request body .tag", "field-added"),
    ),
    (
        "optional request field made required",
        lambda d: _schemas(d)["OrderRequest"]["required"].append("note"),
        (B, "place", "request body .note", "field-required"),
    ),
    (
        "new required parameter",
        lambda d: _place(d)["parameters"].append({"name": "venue", "in": "query", "required": True, "schema": {}}),
        (B, "place", "query parameter venue", "parameter-added-required"),
    ),
    (
        "new optional parameter",
        lambda d: _place(d)["parameters"].append({"name": "venue", "in": "query", "schema": {"type": "string"}}),
        (OK, "place", "query parameter venue", "parameter-added"),
    ),
    (
        "optional parameter made required",  # the case openapi-diff 0.24.1 misses (toolchain-notes section 6)
        lambda d: _set(_param(d, "depth"), "required", True),
        (B, "place", "query parameter depth", "parameter-required"),
    ),
    (
        "parameter removed",
        lambda d: _place(d)["parameters"].pop(1),
        (B, "place", "query parameter depth", "parameter-removed"),
    ),
    (
        "path-level header parameter made required",
        lambda d: _set(d["paths"]["/api/place"]["parameters"][0], "required", True),
        (B, "place", "header parameter x-session-id", "parameter-required"),
    ),
    (
        "request enum value removed",
        lambda d: _set(_schemas(d)["Side"], "enum", ["buy"]),
        (B, "place", "request body .side", "enum-value-removed"),
    ),
    (
        "enum value removed from a query parameter",
        lambda d: _set(_schemas(d)["Side"], "enum", ["buy"]),
        (B, "list_orders", "query parameter side", "enum-value-removed"),
    ),
    (
        "response enum value removed",
        lambda d: _set(_schemas(d)["Status"], "enum", ["open"]),
        (OK, "place", "response 200 .status", "enum-value-removed"),
    ),
    (
        "new response enum value",
        lambda d: _schemas(d)["Status"]["enum"].append("canceled"),
        (W, "place", "response 200 .status", "enum-value-added"),
    ),
    (
        "new request enum value",
        lambda d: _schemas(d)["Side"]["enum"].append("close"),
        (OK, "place", "request body .side", "enum-value-added"),
    ),
    (
        "request field type changed",
        lambda d: _set(_schemas(d)["OrderRequest"]["properties"], "qty", {"type": "number"}),
        (B, "place", "request body .qty", "type-changed"),
    ),
    (
        "response field type changed",
        lambda d: _set(_schemas(d)["Order"]["properties"], "id", {"type": "string"}),
        (B, "place", "response 200 .id", "type-changed"),
    ),
    (
        "request type widened",
        lambda d: _set(_schemas(d)["OrderRequest"]["properties"]["qty"], "type", ["string", "number"]),
        (OK, "place", "request body .qty", "type-widened"),
    ),
    (
        "response field made nullable",
        lambda d: _set(_schemas(d)["Order"]["properties"]["id"], "type", ["integer", "null"]),
        (B, "place", "response 200 .id", "type-nullable"),
    ),
    (
        "parameter type changed",
        lambda d: _set(_param(d, "depth"), "schema", {"type": "string"}),
        (B, "place", "query parameter depth", "type-changed"),
    ),
    (
        "response field made optional",
        lambda d: _schemas(d)["Order"]["required"].remove("status"),
        (B, "place", "response 200 .status", "field-optional"),
    ),
    (
        "response field added",
        lambda d: _set(_schemas(d)["Order"]["properties"], "fee", {"type": "string"}),
        (OK, "place", "response 200 .fee", "field-added"),
    ),
    (
        "request constraint tightened",
        lambda d: _set(_schemas(d)["OrderRequest"]["properties"]["qty"], "maxLength", 10),
        (B, "place", "request body .qty", "constraint-tightened"),
    ),
    (
        "request constraint loosened",
        lambda d: _set(_param(d, "depth")["schema"], "maximum", 500),
        (OK, "place", "query parameter depth", "constraint-loosened"),
    ),
    (
        "security requirement added",
        lambda d: _set(_place(d), "security", [{"bearerAuth": [], "bodySignature": []}]),
        (B, "place", "security", "security-added"),
    ),
    (
        "success response removed",
        lambda d: _set(_place(d), "responses", {"400": {"$ref": "#/components/responses/BadRequest"}}),
        (B, "place", "response 200", "response-removed"),
    ),
    (
        "request body removed",
        lambda d: _place(d).pop("requestBody"),
        (B, "place", "request body", "request-body-removed"),
    ),
    (
        "format that changes the Python type",
        lambda d: _set(_schemas(d)["Order"]["properties"]["price"], "format", "decimal"),
        (B, "place", "response 200 .price", "format-changed"),
    ),
    (
        "behaviour extension changed",
        lambda d: _set(_place(d), "x-standx-idempotent", True),
        (W, "place", "operation", "extension-changed"),
    ),
    (
        "operation deprecated",
        lambda d: _set(d["paths"]["/api/health"]["get"], "deprecated", True),
        (W, "health", "operation", "operation-deprecated"),
    ),
    (
        "operation moved to another server",
        lambda d: _set(d["paths"]["/api/health"]["get"], "servers", [{"url": "https://geo.example.com"}]),
        (B, "health", "operation", "server-changed"),
    ),
    (
        "default server changed",
        lambda d: _set(d, "servers", [{"url": "https://perps2.example.com"}]),
        (B, "(document)", "servers", "server-changed"),
    ),
    (
        "request body made optional is fine",
        lambda d: _set(_place(d)["requestBody"], "required", False),
        (OK, "place", "operation", "no-op"),  # nothing breaking: checked below by the exit status
    ),
]


def _diff(edit: Callable[[dict[str, Any]], None]) -> Any:
    new = copy.deepcopy(BASE)
    edit(new)
    return spec_diff.compare(BASE, new, "base", "edited")


@pytest.mark.parametrize(("edit", "expected"), [pytest.param(e, x, id=i) for i, e, x in CASES])
def test_each_class_of_change(edit: Callable[[dict[str, Any]], None], expected: tuple[str, str, str, str]) -> None:
    report = _diff(edit)
    level, group, where, kind = expected
    if kind == "no-op":
        assert not report.breaking, report.text()
        return
    found = [(c.level, c.group, c.where, c.kind) for c in report.changes]
    assert (level, group, where, kind) in found, report.text()
    # A non-breaking edit reports nothing breaking anywhere (no false alarm on another operation).
    assert report.breaking == (level == B), report.text()


def test_default_server_change_is_reported_once() -> None:
    report = _diff(lambda d: _set(d, "servers", [{"url": "https://perps2.example.com"}]))
    assert [c.group for c in report.changes if c.kind == "server-changed"] == ["(document)"]


def test_identical_documents_have_no_changes() -> None:
    report = spec_diff.compare(BASE, copy.deepcopy(BASE))
    assert report.changes == []
    assert "No differences" in report.text()


def test_direction_one_enum_in_request_and_response() -> None:
    """`Side` is sent (place body, list_orders query) and received (Order.side): one edit, three verdicts."""
    removed = _diff(lambda d: _set(_schemas(d)["Side"], "enum", ["buy"]))
    verdicts = {(c.group, c.where): c.level for c in removed.changes if c.kind == "enum-value-removed"}
    assert verdicts[("place", "request body .side")] == B
    assert verdicts[("list_orders", "query parameter side")] == B
    assert verdicts[("place", "response 200 .side")] == OK
    assert verdicts[("list_orders", "response 200[].side")] == OK

    added = _diff(lambda d: _schemas(d)["Side"]["enum"].append("close"))
    verdicts = {(c.group, c.where): c.level for c in added.changes if c.kind == "enum-value-added"}
    assert verdicts[("place", "request body .side")] == OK
    assert verdicts[("place", "response 200 .side")] == W
    assert not added.breaking


def test_only_response_side_enum_changes_are_not_breaking() -> None:
    report = _diff(lambda d: _set(_schemas(d)["Status"], "enum", ["open", "canceled"]))  # filled out, canceled in
    assert not report.breaking
    assert report.kinds(W) == {"enum-value-added"}
    assert report.kinds(OK) == {"enum-value-removed"}


def test_unchanged_version_is_flagged_with_breaking_changes() -> None:
    report = _diff(lambda d: d["paths"].pop("/api/health"))
    assert ("(document)", "version-not-bumped") in {(c.group, c.kind) for c in report.changes}
    bumped = _diff(lambda d: (d["paths"].pop("/api/health"), _set(d["info"], "version", "2.0")))
    assert "version-not-bumped" not in bumped.kinds()


def test_refs_with_siblings_recursion_and_allof() -> None:
    tree_yaml = """
openapi: 3.1.0
info: {title: Tree, version: '1'}
paths:
  /tree:
    post:
      operationId: put_tree
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/Labeled'}}}
components:
  schemas:
    Node:
      type: object
      properties:
        kind: {type: string, enum: [leaf, branch]}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
    Base:
      type: object
      required: [id]
      properties: {id: {type: integer}}
    Labeled:
      allOf:
        - $ref: '#/components/schemas/Base'
        - type: object
          properties: {label: {type: string}}
"""
    old = yaml.safe_load(tree_yaml)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Node"]["properties"]["kind"]["enum"] = ["leaf"]
    new["components"]["schemas"]["Base"]["properties"].pop("id")  # removed through allOf
    report = spec_diff.compare(old, new)
    found = {(c.level, c.where, c.kind) for c in report.changes}
    assert (B, "request body .kind", "enum-value-removed") in found
    assert (B, "request body .children[].kind", "enum-value-removed") not in found  # recursion cut, no repeat
    assert (B, "response 200 .id", "field-removed") in found


def test_text_output_is_grouped_by_operation_and_exit_status(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(BASE_YAML, encoding="utf-8")
    edited = copy.deepcopy(BASE)
    edited["paths"].pop("/api/health")
    _schemas(edited)["Status"]["enum"].append("canceled")
    _schemas(edited)["OrderRequest"]["properties"]["tag"] = {"type": "string"}
    new.write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")

    result = run([PY, TOOL, old, new])
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "place (POST /api/place)\n" in out
    assert "health (GET /api/health, removed)\n  BREAKING  operation: operation removed\n" in out
    assert "  WARNING   response 200 .status: new enum value(s) `canceled` may be returned" in out
    assert "  ok        request body .tag: new optional field" in out
    assert out.index("place (POST") < out.index("health (GET")
    assert "Summary: 1 breaking, 3 warning(s)" in out  # version-not-bumped, and `canceled` on two operations
    assert "FAIL: 1 breaking change(s)" in out

    as_json = run([PY, TOOL, "--format", "json", old, new])
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["summary"] == {"breaking": 1, "warning": 3, "non-breaking": 1}
    assert any(c["group"] == "health" and c["kind"] == "operation-removed" for c in data["changes"])

    # Warnings alone pass, unless asked to fail on them; unreadable input is exit status 2.
    edited["paths"]["/api/health"] = BASE["paths"]["/api/health"]
    new.write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")
    assert run([PY, TOOL, old, new]).returncode == 0
    assert run([PY, TOOL, "--fail-on-warning", old, new]).returncode == 1
    (tmp_path / "bad.yaml").write_text("just: text\n", encoding="utf-8")
    bad = run([PY, TOOL, old, tmp_path / "bad.yaml"])
    assert bad.returncode == 2 and "not an OpenAPI document" in bad.stderr


def _head_spec() -> dict[str, Any]:
    return spec_diff.load(spec_diff.git_show("HEAD", "openapi/standx.yaml"), "HEAD")


def test_real_spec_against_itself() -> None:
    head = _head_spec()
    report = spec_diff.compare(head, copy.deepcopy(head))
    assert report.changes == []


def test_real_case_from_the_standx_spec(tmp_path: Path) -> None:
    """A plausible bad release of openapi/standx.yaml, compared with HEAD through git (`--base HEAD NEW`)."""
    doc = _head_spec()
    schemas = doc["components"]["schemas"]
    schemas["TimeInForce"]["enum"].remove("alo")  # sent by new_order, received in Order
    schemas["OrderStatus"]["enum"].append("expired")  # received in Order, sent as a query_orders filter
    schemas["NewOrderRequest"]["properties"]["client_tag"] = {"type": "string"}
    schemas["NewOrderRequest"]["required"].append("client_tag")
    schemas["SymbolPrice"]["properties"].pop("mark_price")
    schemas["SymbolPrice"]["required"].remove("mark_price")
    next(p for p in doc["paths"]["/api/query_orders"]["get"]["parameters"] if p.get("name") == "symbol")["required"] = (
        True
    )
    doc["paths"].pop("/v1/region")
    doc["paths"]["/api/query_insurance_fund"] = {
        "get": {
            "operationId": "query_insurance_fund",
            "security": [],
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }
    new = tmp_path / "standx.yaml"
    new.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    result = run([PY, TOOL, "--base", "HEAD", new])
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("spec-diff: HEAD:openapi/standx.yaml (version ")
    expected_lines = [
        "new_order (POST /api/new_order)\n",
        "  BREAKING  request body .client_tag: new required field\n",
        "  BREAKING  request body .time_in_force: enum value(s) `alo` removed\n",
        "query_order (GET /api/query_order)\n",
        "  ok        response 200 .time_in_force: enum value(s) `alo` no longer returned\n",
        "  WARNING   response 200 .status: new enum value(s) `expired` may be returned",
        "query_orders (GET /api/query_orders)\n",
        "  BREAKING  query parameter symbol: optional parameter made required\n",
        "  ok        query parameter status: enum value(s) `expired` added\n",
        "query_symbol_price (GET /api/query_symbol_price)\n",
        "  BREAKING  response 200 .mark_price: response field removed\n",
        "query_region (GET /v1/region, removed)\n  BREAKING  operation: operation removed\n",
        "query_insurance_fund (GET /api/query_insurance_fund)\n  ok        operation: new operation\n",
        "  WARNING   info.version: breaking changes but version is still",
    ]
    for line in expected_lines:
        assert line in out, f"missing {line!r} in:\n{out}"


def test_make_spec_diff_target() -> None:
    """`make spec-diff BASE=HEAD` runs the tool on the working tree (whatever it holds right now)."""
    result = make("spec-diff", "BASE=HEAD")
    assert "spec-diff: HEAD:openapi/standx.yaml" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0 or "FAIL:" in result.stdout  # make exits 2 when the tool exits 1
    assert 'tools/spec_diff.py --base "HEAD"' in make("-n", "spec-diff").stdout  # BASE defaults to HEAD


def test_websocket_stream_changes_are_classified() -> None:
    """x-standx-streams of the real spec: channels, their payload schemas and the order-stream commands."""
    head = _head_spec()
    doc = copy.deepcopy(head)
    streams = doc["x-standx-streams"]
    del streams["market"]["channels"]["trade"]  # a channel removed
    streams["market"]["channels"]["liquidation"] = copy.deepcopy(streams["market"]["channels"]["order"])
    streams["market"]["channels"]["price"]["auth"] = True  # now needs the JWT
    schemas = doc["components"]["schemas"]
    schemas["StreamPrice"]["required"].append("base")  # a payload field that may be absent becomes required
    schemas["StreamPrice"]["properties"]["mark_price"] = {"type": "integer"}  # and one changes type
    del streams["orders"]["commands"]["order:cancel"]
    report = spec_diff.compare(head, doc)
    found = {(c.level, c.where, c.kind) for c in report.changes if c.group == spec_diff.STREAMS}
    assert (B, "channel trade", "channel-removed") in found
    assert (OK, "channel liquidation", "channel-added") in found
    assert (B, "channel price", "channel-changed") in found
    assert (B, "command order:cancel", "command-removed") in found
    assert any(level == B and where.startswith("channel price .mark_price") for level, where, _ in found), found
    assert report.breaking
    assert "WebSocket streams (x-standx-streams)" in report.text()


def test_host_and_limit_changes_are_classified() -> None:
    """x-standx-hosts and x-standx-limits: clients built from the old document default to its URLs and pace
    themselves by its figures, so a moved host or a tighter limit breaks them; a looser limit does not."""
    old = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    new["x-standx-hosts"]["geo"]["url"] = "https://geo2.standx.com"
    new["x-standx-hosts"]["spot"] = {"url": "https://spot.standx.com"}
    new["x-standx-limits"]["account"]["cost"] = 60  # dearer requests: stricter
    new["x-standx-limits"]["account"]["refill_per_second"] = 2000  # faster refill: looser
    new["x-standx-limits"]["websocket"]["connections"] = 5  # fewer: stricter
    del new["x-standx-limits"]["websocket"]["max_age_seconds"]  # no longer documented
    new["x-standx-limits"]["orders"] = {"per_second": 5}  # a new limit old clients do not pace themselves by
    found = {(c.where, c.level, c.kind) for c in spec_diff.compare(old, new).changes if c.group == "(document)"}
    assert found == {
        ("host geo", B, "host-changed"),
        ("host spot", OK, "host-added"),
        ("limit account.cost", B, "limit-tightened"),
        ("limit account.refill_per_second", OK, "limit-loosened"),
        ("limit websocket.connections", B, "limit-tightened"),
        ("limit websocket.max_age_seconds", OK, "limit-removed"),
        ("limit orders.per_second", W, "limit-added"),
        ("info.version", W, "version-not-bumped"),
    }
