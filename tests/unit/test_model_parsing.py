"""The one decode step (overlays/_decode.py, generated parse_success): response bytes -> the typed attrs models.

It keeps what the models promise: exact Decimals whatever the JSON type, absent fields UNSET and nulls None,
unknown enum values kept, NaN and infinities refused, and a clear error naming the field for anything malformed.
Fields the spec does not list are ignored (README, "Responses"). Expected values come from the docs' examples and
the recorded live deviations (tests/fixtures/), never from the generated tables.
"""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
from standx_client import ResponseDecodeError, StandX
from standx_client._decode import SpecMismatch
from standx_client.api.account import query_open_orders, query_order
from standx_client.api.market import query_symbol_market
from standx_client.models import Order, OrderPage, OrderStatus, OrderType, Side, TimeInForce
from standx_client.types import UNSET

from tests.conftest import DOC_EXAMPLES, JWT, Recorder, json_response, load_fixture

ORDER: dict[str, Any] = DOC_EXAMPLES["query_open_orders"]["response"]["result"][0]
MARKET: dict[str, Any] = DOC_EXAMPLES["query_symbol_market"]["response"]


def _order_bytes(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


def _client(path: str, body: bytes) -> StandX:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == path
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return StandX(jwt=JWT, transport=httpx.MockTransport(handler), retry=None)


def test_decoded_order_equals_the_attrs_constructor() -> None:
    parsed = query_order.parse_success(_order_bytes())
    built = Order(
        id=ORDER["id"],
        cl_ord_id=ORDER["cl_ord_id"],
        symbol=ORDER["symbol"],
        side=Side(ORDER["side"]),
        order_type=OrderType(ORDER["order_type"]),
        time_in_force=TimeInForce(ORDER["time_in_force"]),
        qty=Decimal(ORDER["qty"]),
        fill_qty=Decimal(ORDER["fill_qty"]),
        status=OrderStatus(ORDER["status"]),
        reduce_only=ORDER["reduce_only"],
        created_at=datetime.datetime.fromisoformat(ORDER["created_at"]),
        updated_at=datetime.datetime.fromisoformat(ORDER["updated_at"]),
        price=Decimal(ORDER["price"]),
        fill_avg_price=Decimal(ORDER["fill_avg_price"]),
        leverage=Decimal(ORDER["leverage"]),
        margin=Decimal(ORDER["margin"]),
        avail_locked=Decimal(ORDER["avail_locked"]),
        position_id=ORDER["position_id"],
        liq_id=ORDER["liq_id"],
        created_block=ORDER["created_block"],
        closed_block=ORDER["closed_block"],
        source=ORDER["source"],
        remark=ORDER["remark"],
        payload=ORDER["payload"],
        user=ORDER["user"],
    )
    assert type(parsed) is Order and attrs.has(Order)  # the public models stay attrs classes
    assert parsed == built
    assert parsed.side is Side.SELL or parsed.side is Side.BUY  # enum members, not strings
    assert parsed.created_at.tzinfo is not None
    assert Order.from_dict(parsed.to_dict()) == parsed  # from_dict and to_dict still round-trip


def test_a_21_digit_json_number_stays_exact_through_the_client() -> None:
    """The docs' volume_24h, sent as a JSON number (as the live API sends some decimals): no float on the way."""
    text = MARKET["volume_24h"]
    assert len(text.replace(".", "").lstrip("0")) > 17  # more digits than a float holds
    body = json.dumps(MARKET).encode().replace(f'"{text}"'.encode(), text.encode())
    assert f'"volume_24h": {text}'.encode() in body  # a number on the wire, not a string
    market = _client("/api/query_symbol_market", body).query_symbol_market(symbol="BTC-USD")
    assert isinstance(market.volume_24h, Decimal)
    assert str(market.volume_24h) == text
    assert market.volume_24h != Decimal(float(text))  # what a float would have made of it


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'"121900.00"', "121900.00"),
        (b'"0"', "0"),
        (b"121900", "121900"),  # the live API sometimes sends numbers
        (b"121900.5", "121900.5"),
        (b"0.10000000000000000555", "0.10000000000000000555"),  # float(...) would be 0.1
        (b"1e-7", "1E-7"),
    ],
)
def test_decimal_fields_are_exact_whatever_the_json_type(raw: bytes, expected: str) -> None:
    body = _order_bytes(price="PRICE").replace(b'"PRICE"', raw)
    price = query_order.parse_success(body).price
    assert isinstance(price, Decimal)
    assert str(price) == expected


def test_numbers_in_untyped_fields_are_decimal_not_float() -> None:
    order = query_order.parse_success(_order_bytes(payload={"trigger": "X"}).replace(b'"X"', b"0.30000000000000001"))
    assert order.payload == {"trigger": Decimal("0.30000000000000001")}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("qty", "NaN"),
        ("qty", "Infinity"),
        ("fill_qty", "-Infinity"),
        ("qty", "sNaN"),
        ("price", "nan"),  # optional field
        ("leverage", "-inf"),
    ],
)
def test_non_finite_decimals_are_refused_naming_the_field(field: str, raw: str) -> None:
    with pytest.raises(ResponseDecodeError, match=rf"{field}: not a finite decimal") as info:
        _client("/api/query_order", _order_bytes(**{field: raw})).query_order(order_id=1)
    assert info.value.status_code == 200


def test_non_finite_decimals_in_lists_are_refused() -> None:
    body = json.dumps({**MARKET, "spread": ["121599.94", "Infinity"]}).encode()
    with pytest.raises(SpecMismatch, match="spread: not a finite decimal"):
        query_symbol_market.parse_success(body)


@pytest.mark.parametrize("raw", ["abc", "", "1,5", [1], {"v": 1}, True, None])
def test_malformed_decimals_are_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(ResponseDecodeError, match=r"\$\.qty") as info:
        _client("/api/query_order", _order_bytes(qty=raw)).query_order(order_id=1)
    assert info.value.body == _order_bytes(qty=raw)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("id", "1820682"),  # int64 as a string
        ("id", 1.5),
        ("reduce_only", "false"),
        ("created_at", "2025-08-11 nope"),
        ("created_at", 1754883325),
        ("side", 1),  # no enum member can be made of a number
        ("symbol", None),
    ],
)
def test_wrong_types_are_refused_naming_the_field(field: str, raw: object) -> None:
    with pytest.raises(SpecMismatch, match=rf"\$\.{field}"):
        query_order.parse_success(_order_bytes(**{field: raw}))


def test_a_missing_required_field_is_named() -> None:
    body = json.dumps({k: v for k, v in ORDER.items() if k != "fill_qty"}).encode()
    with pytest.raises(SpecMismatch, match="missing required field `fill_qty`"):
        query_order.parse_success(body)


def test_absent_optional_fields_are_unset_and_nulls_none() -> None:
    optional = {"price", "fill_avg_price", "leverage", "margin", "avail_locked", "position_id", "user"}
    order = query_order.parse_success(json.dumps({k: v for k, v in ORDER.items() if k not in optional}).encode())
    assert order.price is UNSET and order.user is UNSET and not order.price
    assert "price" not in order.to_dict()
    price = DOC_EXAMPLES["query_symbol_price"]["response"]
    body = json.dumps({**price, "last_price": None, "mid_price": None}).encode()
    parsed = _client("/api/query_symbol_price", body).query_symbol_price(symbol="BTC-USD")
    assert parsed.last_price is None and parsed.mid_price is None
    assert parsed.mark_price == Decimal(price["mark_price"])


def test_unknown_enum_values_are_kept() -> None:
    order = query_order.parse_success(_order_bytes(status="partially_filled", time_in_force="fok"))
    assert isinstance(order.status, OrderStatus) and order.status == "partially_filled"
    assert isinstance(order.time_in_force, TimeInForce) and order.time_in_force.value == "fok"
    assert order.status not in list(OrderStatus)  # kept, though the spec does not list it


def test_fields_the_spec_does_not_list_are_ignored_not_fatal() -> None:
    order = query_order.parse_success(_order_bytes(brand_new_field={"nested": [1, 2]}, another=1))
    assert order == query_order.parse_success(_order_bytes())
    assert not hasattr(order, "additional_properties") and not hasattr(order, "brand_new_field")


def test_deep_nesting_is_a_decode_error_naming_the_field_not_a_recursion_error() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    body = _order_bytes(payload="DEEP").replace(b'"DEEP"', deep)
    with pytest.raises(ResponseDecodeError, match=r"nested too deeply .* at `\$\.payload`"):
        _client("/api/query_order", body).query_order(order_id=1)


@pytest.mark.parametrize("body", [b'{"result": [', b"<html>oops</html>", b"", b"\xff\xfe", b"[1, 2]"])
def test_bodies_that_are_not_the_success_shape(body: bytes) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        _client("/api/query_open_orders", body).query_open_orders()
    assert info.value.body == body


def test_a_page_from_wire_bytes_mixing_strings_and_numbers() -> None:
    page = copy.deepcopy(DOC_EXAMPLES["query_open_orders"]["response"])
    page["result"].append({**ORDER, "id": ORDER["id"] + 1, "price": "P", "qty": "0.002"})
    body = json.dumps(page).encode().replace(b'"P"', b"121900.5")
    parsed = _client("/api/query_open_orders", body).query_open_orders()
    assert isinstance(parsed, OrderPage)
    assert parsed.result[-1].price == Decimal("121900.5") and parsed.result[-1].qty == Decimal("0.002")
    assert [o.id for o in parsed.result] == [o["id"] for o in page["result"]]


def test_renamed_wire_fields_are_read_not_missed() -> None:
    """`systemTime`, `perpsAlpha`: JSON names unlike the Python names go through from_dict, never dropped."""
    region = DOC_EXAMPLES["query_region"]["response"]
    parsed = _client("/v1/region", json.dumps(region).encode()).query_region()
    assert parsed.system_time == region["systemTime"] and parsed.region == region["region"]
    from standx_client.api.auth import login

    answer = login.parse_success(json.dumps({**DOC_EXAMPLES["login"]["response"], "perpsAlpha": True}).encode())
    assert answer.perps_alpha is True


def test_from_dict_reads_decoded_data_and_leaves_it_alone() -> None:
    page = copy.deepcopy(DOC_EXAMPLES["query_open_orders"]["response"])
    page["result"][0]["new_field"] = 1
    before = copy.deepcopy(page)
    parsed = OrderPage.from_dict(page)
    assert page == before
    assert parsed == query_open_orders.parse_success(json.dumps(page).encode())


def test_models_refuse_non_finite_decimals_when_built_by_hand_too() -> None:
    fields = {k: v for k, v in attrs.asdict(query_order.parse_success(_order_bytes()), recurse=False).items()}
    with pytest.raises(ValueError, match="qty: not a finite decimal"):
        Order(**{**fields, "qty": Decimal("NaN")})


def test_a_decode_error_from_the_client_is_typed_and_keeps_the_body() -> None:
    body = _order_bytes(qty="abc")
    recorder = Recorder({"/api/query_order": json_response(json.loads(body))})
    with pytest.raises(ResponseDecodeError) as info:
        StandX(jwt=JWT, transport=httpx.MockTransport(recorder)).query_order(order_id=1)
    assert "qty" in str(info.value) and info.value.operation == "query_order"


RAISED_LIMIT_SCRIPT = """
import json, sys
import httpx
sys.setrecursionlimit(100_000)  # as py_ecc (eth-account, the evm extra) does on import
from standx_client import ResponseDecodeError, StandX
from standx_client._decode import market_frame, SpecMismatch
order, frame = json.loads(sys.argv[1]), json.loads(sys.argv[2])
deep = b"[" * 300_000 + b"]" * 300_000
body = json.dumps({**order, "payload": "DEEP"}).encode().replace(b'"DEEP"', deep)
client = StandX(jwt=sys.argv[3], transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
seen = []
try:
    client.query_order(order_id=1)
except ResponseDecodeError as exc:
    seen.append(str(exc))
try:
    market_frame(json.dumps({**frame, "data": "DEEP"}).encode().replace(b'"DEEP"', deep))
except SpecMismatch as exc:
    seen.append(str(exc))
print(json.dumps({"errors": seen, "limit": sys.getrecursionlimit()}))
"""


def test_deep_nesting_under_a_raised_recursion_limit_is_an_error_not_a_crash() -> None:
    """With the interpreter's limit raised, msgspec would recurse past the end of the C stack (a segfault)."""
    import subprocess
    import sys

    frame = load_fixture("ws_examples.json")["order"]
    args = [sys.executable, "-c", RAISED_LIMIT_SCRIPT, json.dumps(ORDER), json.dumps(frame), JWT]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    seen = json.loads(done.stdout)
    assert seen["limit"] == 100_000  # given back
    assert len(seen["errors"]) == 2 and "nested too deeply" in seen["errors"][0] and "$.payload" in seen["errors"][0]
    assert "$.data" in seen["errors"][1]
