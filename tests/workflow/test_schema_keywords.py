"""Every schema keyword in a request is enforced by the generated client, or refused by the generator.

The spec is extended with two probe operations that use every keyword the client's validator knows, with
bounds chosen here; the package generated from it refuses each broken value with a ValidationError in plain
words before anything is sent (httpx.MockTransport records what goes out), and sends the values on the edge.
Keywords, types and parameter styles it cannot enforce stop generation, naming the keyword and the place.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_helpers import PY, ROOT, SPEC, run

GENERATE = ROOT / "generator" / "generate.py"
CAPS = "capital letters"
LOWER = "lowercase letters"


def _int(**rule: Any) -> dict[str, Any]:
    return {"type": "integer", **rule}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": f"Probe {name}.", "schema": schema}


def with_probes(doc: dict[str, Any]) -> dict[str, Any]:
    """The spec plus query_probe (a GET with one query parameter per keyword) and probe_batch (a JSON body)."""
    ok = {"200": {"$ref": "#/components/responses/BadRequest"}}  # any documented JSON answer will do
    params = [
        _query("i32", _int(format="int32")),
        _query("i64", _int(format="int64")),
        _query("lo", _int(minimum=5)),
        _query("hi", _int(maximum=10)),
        _query("xlo", _int(exclusiveMinimum=5)),
        _query("xhi", _int(exclusiveMaximum=10)),
        _query("step", _int(multipleOf=5)),
        _query(
            "code",
            {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[A-Z]+$", "x-standx-pattern-meaning": CAPS},
        ),
        _query("when", {"type": "string", "format": "date-time"}),
        _query("color", {"type": "string", "enum": ["red", "green"]}),
        _query("flag", {"type": "boolean"}),
    ]
    common = {"tags": ["market"], "security": [], "responses": ok, "description": "Probe. Public."}
    doc["paths"]["/api/query_probe"] = {
        "get": {**common, "summary": "Probe", "operationId": "query_probe", "parameters": params}
    }
    decimal = {"type": "string", "format": "decimal"}
    body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "ids": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "uniqueItems": True,
                "items": _int(format="int64"),
                "description": "Ids.",
            },
            "tags": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[a-z]+$", "x-standx-pattern-meaning": LOWER},
                "description": "Tags.",
            },
            "amount": {**decimal, "exclusiveMinimum": 0, "maximum": 1000, "multipleOf": 0.01, "description": "A."},
            "ratio": {**decimal, "minimum": 0.5, "exclusiveMaximum": 1, "description": "Ratio."},
        },
    }
    doc["paths"]["/api/probe_batch"] = {
        "post": {
            **common,
            "summary": "Probe a batch",
            "operationId": "probe_batch",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        }
    }
    return doc


I64 = "a 64-bit integer (-9223372036854775808 to 9223372036854775807)"
I32 = "a 32-bit integer (-2147483648 to 2147483647)"
# (operation, arguments, the message: "<operation>: <field> must be <words>, got <value>") for broken values
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("query_probe", {"i32": 2**31}, f"i32 must be {I32}, got 2147483648"),
    ("query_probe", {"i32": -(2**31) - 1}, f"i32 must be {I32}, got -2147483649"),
    ("query_probe", {"i64": 2**63}, f"i64 must be {I64}, got 9223372036854775808"),
    ("query_probe", {"i64": -(2**63) - 1}, f"i64 must be {I64}, got -9223372036854775809"),
    ("query_probe", {"lo": 4}, "lo must be at least 5, got 4"),
    ("query_probe", {"hi": 11}, "hi must be at most 10, got 11"),
    ("query_probe", {"xlo": 5}, "xlo must be greater than 5, got 5"),
    ("query_probe", {"xhi": 10}, "xhi must be less than 10, got 10"),
    ("query_probe", {"step": 7}, "step must be a multiple of 5, got 7"),
    ("query_probe", {"code": "A"}, "code must be at least 2 characters long, got 'A'"),
    ("query_probe", {"code": "ABCDE"}, "code must be at most 4 characters long, got 'ABCDE'"),
    ("query_probe", {"code": "ab"}, f"code must be {CAPS}, got 'ab'"),
    ("query_probe", {"color": "blue"}, "color must be one of red, green, got 'blue'"),
    ("query_probe", {"flag": "yes"}, "flag must be True or False, got 'yes'"),
    ("query_probe", {"when": "naive"}, "when must be a timezone-aware datetime"),
    ("probe_batch", {"ids": []}, "ids must be a list of at least 1 item, got []"),
    ("probe_batch", {"ids": [1, 2, 3, 4]}, "ids must be a list of at most 3 items, got [1, 2, 3, 4]"),
    ("probe_batch", {"ids": [1, 1]}, "ids must be a list without repeated items, got [1, 1]"),
    ("probe_batch", {"ids": [2**63]}, f"ids[0] must be {I64}, got 9223372036854775808"),
    ("probe_batch", {"tags": ["ok", "Bad"]}, f"tags[1] must be {LOWER}, got 'Bad'"),
    ("probe_batch", {"amount": "0"}, "amount must be greater than 0, got '0'"),
    ("probe_batch", {"amount": "1000.01"}, "amount must be at most 1000, got '1000.01'"),
    ("probe_batch", {"amount": "0.015"}, "amount must be a multiple of 0.01, got '0.015'"),
    ("probe_batch", {"ratio": "0.4"}, "ratio must be at least 0.5, got '0.4'"),
    ("probe_batch", {"ratio": "1.0"}, "ratio must be less than 1, got '1.0'"),
]
SENT = [
    ("query_probe", {"i32": 2**31 - 1, "i64": -(2**63), "lo": 5, "hi": 10, "xlo": 6, "xhi": 9, "step": 10}),
    ("query_probe", {"code": "ABCD", "color": "red", "flag": True, "when": "aware"}),
    ("probe_batch", {"ids": [1, 2**63 - 1], "tags": ["a", "b"], "amount": "999.99", "ratio": "0.5"}),
]
SCRIPT = """
import datetime, json, sys
import httpx
import standx_client as sx

assert sx.__file__.startswith(sys.argv[1]), sx.__file__
WHEN = {"naive": datetime.datetime(2025, 1, 1), "aware": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)}
sent = []
client = sx.StandX(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(400, json={})))
results = []
for op, kwargs in json.loads(sys.stdin.read()):
    kwargs = {k: WHEN.get(v, v) if k == "when" else v for k, v in kwargs.items()}
    before, outcome = len(sent), {}
    try:
        getattr(client, op)(**kwargs)
    except sx.ValidationError as error:
        outcome = {"error": "ValidationError", "field": error.field, "message": str(error)}
    except sx.StandXError as error:
        outcome = {"error": type(error).__name__}
    outcome["sent"] = [[str(r.url), r.content.decode()] for r in sent[before:]]
    results.append(outcome)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def probe_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("probes")
    spec = tmp / "probes.yaml"
    spec.write_text(yaml.safe_dump(with_probes(yaml.safe_load(SPEC.read_text())), sort_keys=False))
    done = subprocess.run(
        [PY, str(GENERATE), "--spec", str(spec), "--out-root", str(tmp / "out")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out" / "generated"


def _run(package: Path, cases: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(package)}
    done = subprocess.run(
        [PY, "-c", SCRIPT, str(package)], input=json.dumps(cases), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_keyword_is_enforced_before_sending(probe_package: Path) -> None:
    results = _run(probe_package, [(op, kwargs) for op, kwargs, _ in REFUSED])
    for (op, kwargs, message), result in zip(REFUSED, results, strict=True):
        assert result["error"] == "ValidationError", (kwargs, result)
        assert result["field"] == next(iter(kwargs)), (kwargs, result)
        assert result["message"].startswith(f"{op}: {message}"), (kwargs, result)
        assert result["sent"] == [], (kwargs, result)


def test_values_on_the_edge_are_sent_as_given(probe_package: Path) -> None:
    bounds, words, batch = _run(probe_package, SENT)
    assert bounds["error"] == words["error"] == batch["error"] == "BadRequestError"  # the answer of the probe
    assert bounds["sent"][0][0].endswith(
        "/api/query_probe?i32=2147483647&i64=-9223372036854775808&lo=5&hi=10&xlo=6&xhi=9&step=10"
    )
    assert words["sent"][0][0].endswith(
        "/api/query_probe?code=ABCD&when=2025-01-01T00%3A00%3A00%2B00%3A00&color=red&flag=true"
    )
    assert json.loads(batch["sent"][0][1]) == {
        "ids": [1, 2**63 - 1],
        "tags": ["a", "b"],
        "amount": "999.99",
        "ratio": "0.5",
    }


def test_the_probes_use_every_keyword_the_validator_enforces() -> None:
    """Coverage of this test, not an expectation: a keyword added to the validator needs a probe here."""
    from standx_client._validate import KEYWORDS

    used: set[str] = set()

    def walk(schema: dict[str, Any]) -> None:
        used.update(schema)
        if "items" in schema:
            walk(schema["items"])

    doc = with_probes({"paths": {}})
    for param in doc["paths"]["/api/query_probe"]["get"]["parameters"]:
        walk(param["schema"])
    body = doc["paths"]["/api/probe_batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for prop in body["properties"].values():
        walk(prop)
    assert set().union(*KEYWORDS.values()) <= used


# --- Refused at generation --------------------------------------------------------------------------------------


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("_standx_generate", GENERATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _path(doc: dict[str, Any], op: str) -> dict[str, Any]:
    return next(o for item in doc["paths"].values() for o in item.values() if o.get("operationId") == op)


def _param(doc: dict[str, Any], op: str, name: str) -> dict[str, Any]:
    return next(p for p in _path(doc, op)["parameters"] if p.get("name") == name)


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]


Edit = Callable[[dict[str, Any]], None]
# (what is wrong, the edit, what the error must name: the place and the keyword)
UNENFORCEABLE: list[tuple[str, Edit, list[str]]] = [
    ("const", lambda d: _param(d, "query_order", "order_id")["schema"].update(const=5),
     ["query_order: query parameter order_id", "'const'"]),
    ("anyOf beside a $ref", lambda d: _schemas(d)["NewOrderRequest"]["properties"]["qty"].update(anyOf=[{}]),
     ["new_order: body field qty", "'anyOf'"]),
    ("not", lambda d: _param(d, "query_orders", "limit")["schema"].update({"not": {"const": 3}}),
     ["query_orders: query parameter limit", "'not'"]),
    ("minProperties on a body", lambda d: _schemas(d)["CancelOrdersRequest"].update(minProperties=1),
     ["cancel_orders: request body", "'minProperties'"]),
    ("a keyword on the wrong kind", lambda d: _schemas(d)["LoginRequest"]["properties"]["signature"].update(
        uniqueItems=True), ["login: body field signature", "'uniqueItems'", "string values"]),
    ("minItems on an integer", lambda d: _schemas(d)["CancelOrderRequest"]["properties"]["order_id"].update(
        minItems=1), ["cancel_order: body field order_id", "'minItems'", "integer values"]),
    ("items on a boolean", lambda d: _schemas(d)["NewOrderRequest"]["properties"]["reduce_only"].update(
        items={"type": "integer"}), ["new_order: body field reduce_only", "'items'", "boolean values"]),
    ("exclusiveMaximum on a date-time", lambda d: _param(d, "query_orders", "start")["schema"].update(
        exclusiveMaximum=5), ["query_orders: query parameter start", "'exclusiveMaximum'", "datetime values"]),
    ("enum of integers", lambda d: _param(d, "kline_history", "countBack")["schema"].update(enum=[1, 2]),
     ["kline_history: query parameter countBack", "'enum'"]),
    ("a typo", lambda d: _schemas(d)["ClientOrderId"].update(maxlength=3), ["body field cl_ord_id", "'maxlength'"]),
    ("format email", lambda d: _schemas(d)["PrepareSigninRequest"]["properties"]["address"].update(format="email"),
     ["prepare_signin: body field address", "format 'email'"]),
    ("type number", lambda d: _schemas(d)["ChangeLeverageRequest"]["properties"]["leverage"].update(type="number"),
     ["change_leverage: body field leverage", "type 'number'"]),
    ("nullable type list", lambda d: _param(d, "query_orders", "limit")["schema"].update(type=["integer", "null"]),
     ["query_orders: query parameter limit", "type ['integer', 'null']"]),
    ("nested object", lambda d: _schemas(d)["LoginRequest"]["properties"].update(meta={"type": "object"}),
     ["login: body field meta", "type 'object'"]),
    ("OpenAPI 3.0 exclusiveMinimum", lambda d: _param(d, "query_orders", "limit")["schema"].update(
        exclusiveMinimum=True), ["query_orders: query parameter limit", "exclusiveMinimum must be a number"]),
    ("multipleOf 0", lambda d: _param(d, "query_orders", "limit")["schema"].update(multipleOf=0),
     ["query_orders: query parameter limit", "multipleOf must be greater than 0"]),
    ("negative minLength", lambda d: _schemas(d)["LoginRequest"]["properties"]["signature"].update(minLength=-1),
     ["login: body field signature", "minLength must be a non-negative integer"]),
    ("a pattern without its meaning", lambda d: _schemas(d)["Symbol"].pop("x-standx-pattern-meaning"),
     ["body field symbol", "pattern", "x-standx-pattern-meaning"]),
    ("a pattern Python cannot check", lambda d: _schemas(d)["PrepareSigninRequest"]["properties"]["address"].update(
        pattern=r"^\p{L}+$", **{"x-standx-pattern-meaning": "letters"}),
     ["prepare_signin: body field address", "not a regular expression Python can check"]),
    ("a constraint beside a $ref and in its target", lambda d: _schemas(d)["NewOrderRequest"]["properties"][
        "symbol"].update(pattern="^X$"), ["new_order: body field symbol", "pattern is set beside a $ref"]),
    ("parameter style", lambda d: _param(d, "query_orders", "limit").update(style="form"),
     ["query_orders: query parameter limit", "'style'"]),
    ("a path parameter", lambda d: _path(d, "query_order")["parameters"].append(
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}),
     ["query_order: path parameter id", "'path'"]),
    ("an array in a query", lambda d: _path(d, "query_order")["parameters"].append(
        {"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}}),
     ["query_order: query parameter ids", "array in a query"]),
    ("a text body", lambda d: _path(d, "login")["requestBody"].update(content={"text/plain": {"schema": {}}}),
     ["login: request body", "application/json bodies only"]),
    ("a one-of group naming no field", lambda d: _schemas(d)["CancelOrderRequest"].update(
        {"x-standx-require-one-of": ["order_id", "client_id"]}), ["cancel_order", "client_id"]),
    ("an unknown symbol rule", lambda d: _schemas(d)["NewOrderRequest"]["properties"]["price"].update(
        {"x-standx-symbol-rule": "tik"}), ["new_order: body field price", "x-standx-symbol-rule", "'tik'"]),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "named"), [pytest.param(e, n, id=i) for i, e, n in UNENFORCEABLE])
def test_what_the_client_cannot_enforce_stops_generation(tmp_path: Path, edit: Edit, named: list[str]) -> None:
    generator = _load_generator()
    doc = copy.deepcopy(SPEC_DOC)
    edit(doc)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        generator.Spec(path).operations()
    message = str(info.value.code)
    for part in named:
        assert part in message, message


def test_the_real_spec_generates() -> None:
    generator = _load_generator()
    assert "new_order" in generator.Spec(SPEC).operations()


def test_generate_fails_before_writing_anything(tmp_path: Path) -> None:
    doc = copy.deepcopy(SPEC_DOC)
    _param(doc, "query_order", "order_id")["schema"].update(const=5)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    done = run([PY, GENERATE, "--spec", spec, "--out-root", tmp_path / "out"])
    assert done.returncode == 1
    assert "query_order: query parameter order_id: schema keyword 'const'" in done.stderr
    assert not (tmp_path / "out").exists()


SPEC_DOC: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
