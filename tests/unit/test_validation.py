"""Bad input is refused with a typed ValidationError naming the field, in plain words, before any request is sent.

The spec-driven tests read openapi/standx.yaml itself (through tools/spec_diff.py's resolver, not the generator's
table): every keyword of every request parameter and body field is broken once and must be refused.
"""

from __future__ import annotations

import datetime
import keyword
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import httpx
import pytest
import yaml
from standx_client import StandX, StandXError, ValidationError
from standx_client.models import SymbolInfo
from standx_client.precision import SymbolRules

from tests.conftest import DOC_EXAMPLES, JWT, ROOT, SEED_HEX, Recorder, json_response
from tests.unit.test_facade_operations import CASES
from tests.workflow.workflow_helpers import load_tool

ORDER = dict(
    symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000", time_in_force="gtc", reduce_only=False
)


@pytest.fixture
def sent() -> Recorder:
    return Recorder()


@pytest.fixture
def client(sent: Recorder) -> StandX:
    return StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(sent))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"side": "long"}, "side"),
        ({"order_type": "stop"}, "order_type"),
        ({"time_in_force": "fok"}, "time_in_force"),
        ({"qty": 0.1}, "qty"),  # float: never for money
        ({"qty": "0"}, "qty"),
        ({"qty": "-1"}, "qty"),
        ({"qty": Decimal("0")}, "qty"),
        ({"qty": "1,5"}, "qty"),
        ({"qty": "1e400"}, "qty"),
        ({"qty": Decimal("1e400")}, "qty"),
        ({"qty": Decimal("NaN")}, "qty"),
        ({"qty": Decimal("Infinity")}, "qty"),
        ({"qty": "NaN"}, "qty"),
        ({"qty": True}, "qty"),
        ({"price": float("inf")}, "price"),
        ({"symbol": "btc_usd"}, "symbol"),
        ({"symbol": 7}, "symbol"),
        ({"reduce_only": "false"}, "reduce_only"),
        ({"leverage": 0}, "leverage"),
        ({"leverage": True}, "leverage"),
        ({"cl_ord_id": "x" * 65}, "cl_ord_id"),
        ({"cl_ord_id": "has space"}, "cl_ord_id"),
        ({"margin_mode": "portfolio"}, "margin_mode"),
        ({"symbol": None}, "symbol"),
    ],
)
def test_new_order_refusals(client: StandX, sent: Recorder, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        client.new_order(**{**ORDER, **change})
    assert info.value.field == field
    assert info.value.operation == "new_order"
    assert field in str(info.value)
    assert sent.requests == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.cancel_order(), "order_id / cl_ord_id"),
        (lambda c: c.cancel_order(order_id=1, cl_ord_id="a"), "order_id / cl_ord_id"),
        (lambda c: c.query_order(), "order_id / cl_ord_id"),
        (lambda c: c.cancel_orders(), "order_id_list / cl_ord_id_list"),
        (lambda c: c.cancel_orders(order_id_list=["1"]), "order_id_list"),
        (lambda c: c.query_orders(limit=501), "limit"),
        (lambda c: c.query_orders(limit=0), "limit"),
        (lambda c: c.query_open_orders(limit=1201), "limit"),
        (lambda c: c.query_orders(start=datetime.datetime(2025, 1, 1)), "start"),
        (lambda c: c.query_orders(status="pending"), "status"),
        (lambda c: c.kline_history(symbol="BTC-USD", from_=1, to=2, resolution="4h"), "resolution"),
        (lambda c: c.change_leverage(symbol="BTC-USD", leverage=10.0), "leverage"),
        (lambda c: c.transfer_margin(symbol="BTC-USD", amount_in=1.5), "amount_in"),
        (lambda c: c.query_balance(x_impersonate="vault-1"), "x_impersonate"),
    ],
)
def test_other_refusals(client: StandX, sent: Recorder, call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(client)
    assert info.value.field == field
    assert sent.requests == []


def test_missing_credentials_are_refused_before_sending(sent: Recorder) -> None:
    anonymous = StandX(transport=httpx.MockTransport(sent))
    with pytest.raises(ValidationError, match="jwt"):
        anonymous.query_balance()
    jwt_only = StandX(jwt=JWT, transport=httpx.MockTransport(sent))
    with pytest.raises(ValidationError, match="signing_key"):
        jwt_only.new_order(**ORDER)
    assert sent.requests == []


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("0.000000100"), "0.000000100"),
        (Decimal("1E-7"), "0.0000001"),
        (25, "25"),
        ("0.10", "0.10"),
        (Decimal("121900.00"), "121900.00"),
    ],
)
def test_decimals_go_out_as_plain_strings(client: StandX, sent: Recorder, value: object, wire: str) -> None:
    sent.routes["/api/new_order"] = lambda r: httpx.Response(200, json={"code": 0, "message": "success"})
    client.new_order(**{**ORDER, "qty": value})
    assert f'"qty":"{wire}"'.encode() in sent.last.content


# --- Messages in plain words (issue 15) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.new_order(**{**ORDER, "qty": "-1"}), "new_order: qty must be a positive decimal, got '-1'"),
        (lambda c: c.new_order(**{**ORDER, "qty": "1,5"}), "new_order: qty must be a positive decimal, got '1,5'"),
        (lambda c: c.cancel_order(order_id=1, cl_ord_id="a"), "cancel_order: give order_id or cl_ord_id, not both"),
        (lambda c: c.cancel_order(), "cancel_order: give order_id or cl_ord_id"),
        (lambda c: c.query_order(), "query_order: give order_id or cl_ord_id"),
        (lambda c: c.cancel_orders(), "cancel_orders: give order_id_list or cl_ord_id_list"),
        (lambda c: c.new_order(**{**ORDER, "price": None}), "new_order: price is required when order_type is limit"),
        (lambda c: c.new_order(**{**ORDER, "symbol": None}), "new_order: symbol is required"),
        (
            lambda c: c.query_order(order_id=2**70),
            "query_order: order_id must be a 64-bit integer (-9223372036854775808 to 9223372036854775807), "
            "got 1180591620717411303424",
        ),
        (
            lambda c: c.cancel_orders(order_id_list=[1, 2**63]),
            "cancel_orders: order_id_list[1] must be a 64-bit integer (-9223372036854775808 to 9223372036854775807), "
            "got 9223372036854775808",
        ),
        (lambda c: c.query_orders(limit=501), "query_orders: limit must be at most 500, got 501"),
        (lambda c: c.new_order(**{**ORDER, "side": "long"}), "new_order: side must be one of buy, sell, got 'long'"),
    ],
)
def test_messages_in_plain_words(client: StandX, sent: Recorder, call: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(client)
    assert str(info.value) == message
    assert sent.requests == []


# --- Every keyword of every request schema in the spec, broken once ----------------------------------------------

SPEC_DOC: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))
DEREF = load_tool("spec_diff").Resolver(SPEC_DOC).deref  # an independent reading of the spec's $refs
BASE = {case.op: case.kwargs for case in CASES}  # a valid call of every operation (the docs' examples)
METHODS = ("get", "post", "put", "delete", "patch")
NOT_CONSTRAINTS = {"type", "description", "example", "default"}


def _py(wire: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire).replace("-", "_").lower()
    return f"{name}_" if keyword.iskeyword(name) else name


class Input(NamedTuple):
    """One request parameter or body field, as the spec declares it."""

    op: str
    wire: str
    schema: dict[str, Any]  # $refs followed, siblings merged
    ref: str | None  # the schema's first $ref
    group: tuple[str, ...]  # the require-one-of group of its operation or body
    required: bool


def _request_fields() -> Iterator[Input]:
    for item in SPEC_DOC["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            group = tuple(op.get("x-standx-require-one-of", ()))
            for param in item.get("parameters", []) + op.get("parameters", []):
                param = DEREF(param)[0]
                schema, ref = DEREF(param["schema"])
                yield Input(op["operationId"], param["name"], schema, ref, group, param.get("required", False))
            if "requestBody" in op:
                body = DEREF(DEREF(op["requestBody"])[0]["content"]["application/json"]["schema"])[0]
                group = tuple(body.get("x-standx-require-one-of", group))
                for name, prop in body["properties"].items():
                    schema, ref = DEREF(prop)
                    yield Input(op["operationId"], name, schema, ref, group, name in body.get("required", ()))


INPUTS = list(_request_fields())


def _breaks(schema: dict[str, Any]) -> Iterator[tuple[str, object, str]]:
    """(keyword, a value that breaks it, what the message must say the value must be), from the schema alone."""
    kind, fmt = schema["type"], schema.get("format")
    if "enum" in schema:
        yield "enum", "not-a-member", "one of " + ", ".join(schema["enum"])
    elif fmt == "decimal":
        yield "format", 0.5, "a Decimal, an int or a decimal string, not a float (floats are not exact for money)"
    elif fmt == "date-time":
        naive = datetime.datetime(2025, 1, 1)
        yield "format", naive, "a timezone-aware datetime (for example datetime.now(timezone.utc))"
    else:
        wrong = {"integer": ("1", "an integer"), "boolean": ("true", "True or False"), "string": (7, "a string")}
        yield ("type", *wrong[kind]) if kind in wrong else ("type", "1", "a list")
    for key, arg in schema.items():
        if key == "maximum":
            yield key, arg + 1, f"at most {arg}"
        elif key == "minimum":
            yield key, arg - 1, f"at least {arg}"
        elif key == "format" and fmt in ("int32", "int64"):
            low, high = -(2 ** (int(fmt[3:]) - 1)), 2 ** (int(fmt[3:]) - 1) - 1
            words = f"a {fmt[3:]}-bit integer ({low} to {high})"
            yield key, high + 1, words
            if "minimum" not in schema:
                yield key, low - 1, words
        elif key == "minLength" and arg > 0:
            yield key, "x" * (arg - 1), f"at least {arg} character{'s' * (arg != 1)} long"
        elif key == "maxLength":
            yield key, "A" * (arg + 1), f"at most {arg} characters long"
        elif key == "pattern":
            bad = next(c for c in ("-1", "1e3", "has space") if not re.search(arg, c))
            yield key, bad, schema["x-standx-pattern-meaning"]  # the spec's own words for its pattern
        elif key == "items":
            for item_key, value, words in _breaks(DEREF(arg)[0]):
                yield f"items.{item_key}", [value], words
        elif key not in NOT_CONSTRAINTS and key not in ("enum", "format") and not key.startswith("x-"):
            raise AssertionError(f"the spec uses {key!r} in a request: teach this test how to break it")


def _accepted(schema: dict[str, Any]) -> Iterator[object]:
    """Values on the edge of the schema's bounds, which must be sent."""
    fmt = schema.get("format")
    if "maximum" in schema:
        yield schema["maximum"]
    if "minimum" in schema:
        yield schema["minimum"]
    if fmt in ("int32", "int64"):
        bits = int(fmt[3:]) - 1
        if "maximum" not in schema:
            yield 2**bits - 1
        if "minimum" not in schema:
            yield -(2**bits)
    if "maxLength" in schema:
        yield "A" * schema["maxLength"]


def _call(op: str, wire: str, group: tuple[str, ...], value: object) -> tuple[str, dict[str, Any]]:
    others = {_py(g) for g in group if g != wire} if wire in group else set()  # give one of a group, not both
    return op, {**{k: v for k, v in BASE[op].items() if k not in others}, _py(wire): value}


BROKEN = [
    pytest.param(*_call(i.op, i.wire, i.group, value), _py(i.wire), words, id=f"{i.op}.{i.wire}.{key}")
    for i in INPUTS
    for key, value, words in _breaks(i.schema)
]
ACCEPTED = [
    pytest.param(*_call(i.op, i.wire, i.group, value), id=f"{i.op}.{i.wire}={value!r}"[:80])
    for i in INPUTS
    for value in _accepted(i.schema)
]
REQUIRED = [pytest.param(i.op, _py(i.wire), id=f"{i.op}.{i.wire}") for i in INPUTS if i.required]


@pytest.mark.parametrize(("op", "kwargs", "field", "words"), BROKEN)
def test_every_request_keyword_of_the_spec_is_enforced(
    client: StandX, sent: Recorder, op: str, kwargs: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as info:
        getattr(client, op)(**kwargs)
    value = kwargs[field]
    label = f"{field}[0]" if isinstance(value, list) else field
    shown = repr(value[0] if isinstance(value, list) else value)[:20]
    assert info.value.field == field
    assert str(info.value).startswith(f"{op}: {label} must be {words}, got {shown}")
    assert sent.requests == []


@pytest.mark.parametrize(("op", "field"), REQUIRED)
def test_every_required_input_of_the_spec_is_required(client: StandX, sent: Recorder, op: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        getattr(client, op)(**{**BASE[op], field: None})
    assert (info.value.field, str(info.value)) == (field, f"{op}: {field} is required")
    assert sent.requests == []


@pytest.mark.parametrize(("op", "kwargs"), ACCEPTED)
def test_values_on_the_edge_of_the_spec_bounds_are_sent(
    client: StandX, sent: Recorder, op: str, kwargs: dict[str, Any]
) -> None:
    try:
        getattr(client, op)(**kwargs)
    except ValidationError:
        raise
    except StandXError:
        pass  # the recorder answers 404: what counts is that the request went out
    assert len(sent.requests) >= 1


def test_the_spec_keywords_are_all_broken_somewhere() -> None:
    """The spec-driven cases cover the keywords issue 16 names wherever the spec uses them."""
    broken = {param.id.rsplit(".", 1)[1] for param in BROKEN}
    assert {"enum", "format", "type", "maximum", "minimum", "minLength", "maxLength", "pattern"} <= broken
    assert any(param.id == "query_order.order_id.format" for param in BROKEN)  # the 2**70


def test_no_message_names_an_extension_or_shows_a_regex(client: StandX) -> None:
    for param in BROKEN:
        op, kwargs = param.values[0], param.values[1]
        with pytest.raises(ValidationError) as info:
            getattr(client, op)(**kwargs)  # type: ignore[arg-type]
        text = str(info.value)
        assert "x-standx" not in text and "^" not in text and "$" not in text and "\\" not in text, text


# --- Unknown symbols, once the symbol rules are loaded ------------------------------------------------------------

RULES = {"BTC-USD": SymbolRules.from_info(SymbolInfo.from_dict(DOC_EXAMPLES["query_symbol_info"]["response"][0]))}
# Every input whose schema is the spec's Symbol, except query_symbol_info's: it is where the rules come from.
SYMBOL_INPUTS = [
    pytest.param(i.op, i.wire, id=i.op)
    for i in INPUTS
    if i.ref == "#/components/schemas/Symbol" and i.op != "query_symbol_info"
]


def test_every_symbol_input_is_found() -> None:
    assert len(SYMBOL_INPUTS) >= 15  # the trade, account, market and kline operations that take a symbol


@pytest.mark.parametrize(("op", "wire"), SYMBOL_INPUTS)
def test_unknown_symbols_are_refused_once_rules_are_loaded(sent: Recorder, op: str, wire: str) -> None:
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(sent), symbol_rules=RULES)
    kwargs = {**BASE[op], _py(wire): "DOGE-USD"}
    with pytest.raises(ValidationError) as info:
        getattr(client, op)(**kwargs)
    assert info.value.field == _py(wire)
    assert str(info.value).startswith(f"{op}: {_py(wire)} 'DOGE-USD' is not one of the loaded symbols (BTC-USD)")
    assert sent.requests == []
    with pytest.raises(StandXError):  # a known symbol goes out (the recorder answers 404)
        getattr(client, op)(**{**kwargs, _py(wire): "BTC-USD"})
    assert len(sent.requests) == 1
    unloaded = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(sent))
    with pytest.raises(StandXError):  # no rules loaded: no local list to refuse from
        getattr(unloaded, op)(**kwargs)
    assert len(sent.requests) == 2


def test_load_symbol_rules_then_an_unknown_symbol_is_not_sent() -> None:
    """The issue's measurement: after load_symbol_rules(), DOGE-USD used to reach the server."""
    recorder = Recorder({"/api/query_symbol_info": json_response(DOC_EXAMPLES["query_symbol_info"]["response"])})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    client.load_symbol_rules()
    with pytest.raises(ValidationError, match="'DOGE-USD' is not one of the loaded symbols"):
        client.query_depth_book(symbol="DOGE-USD")
    with pytest.raises(ValidationError, match="'DOGE-USD' is not one of the loaded symbols"):
        client.new_order(**{**ORDER, "symbol": "DOGE-USD"})
    assert [r.url.path for r in recorder.requests] == ["/api/query_symbol_info"]
    client.query_symbol_info(symbol="DOGE-USD")  # the rules' own source stays open (a new listing)
    assert len(recorder.requests) == 2
