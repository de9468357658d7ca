"""The generated from_dict fast path (generator/templates/model.py.jinja, types.py.jinja) keeps every guarantee
of the plain one: exact Decimals, typed enums (unknown values kept), extra fields kept, input untouched, and a
clear error for a malformed field. Fixtures are the docs' order example and the recorded live deviations."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from standx_client import types as generated_types
from standx_client.api.account import query_open_orders
from standx_client.models import Order, OrderPage, OrderStatus, OrderType, Side, TimeInForce

from tests.conftest import DOC_EXAMPLES

ORDER: dict[str, Any] = DOC_EXAMPLES["query_open_orders"]["response"]["result"][0]


def test_from_dict_equals_the_attrs_constructor() -> None:
    """Slots are set without __init__: the result must equal what the attrs constructor builds."""
    parsed = Order.from_dict(ORDER)
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
    assert parsed == built
    assert parsed.additional_properties == {}
    assert parsed.to_dict() == Order.from_dict(parsed.to_dict()).to_dict()


def test_from_dict_leaves_its_input_alone_and_keeps_extra_fields() -> None:
    source = {**ORDER, "new_field": {"nested": [1, 2]}}
    before = copy.deepcopy(source)
    order = Order.from_dict(source)
    assert source == before
    assert order.additional_properties == {"new_field": {"nested": [1, 2]}}
    assert order["new_field"] == {"nested": [1, 2]}


def test_absent_optional_fields_are_unset() -> None:
    optional = {"price", "fill_avg_price", "leverage", "margin", "avail_locked", "position_id", "user"}
    required = {k: v for k, v in ORDER.items() if k not in optional}
    order = Order.from_dict(required)
    assert order.price is generated_types.UNSET
    assert order.user is generated_types.UNSET
    assert "price" not in order.to_dict()


def test_enum_fields_take_known_values_as_members_and_keep_unknown_ones() -> None:
    order = Order.from_dict({**ORDER, "status": "partially_filled", "side": "buy"})
    assert order.side is Side.BUY
    assert isinstance(order.status, OrderStatus)
    assert order.status.value == "partially_filled"
    with pytest.raises(ValueError):
        Order.from_dict({**ORDER, "side": 1})  # not a string: no enum member can be made of it


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("121900.00", Decimal("121900.00")),
        ("0", Decimal("0")),
        (121900, Decimal("121900")),  # the live API sometimes sends numbers
        (Decimal("0.1"), Decimal("0.1")),  # a JSON number decoded with parse_float=Decimal
        (0.1, Decimal("0.1")),  # decoded without parse_float: through repr, never the binary value
    ],
)
def test_decimal_fields_are_exact_whatever_the_json_type(raw: object, expected: Decimal) -> None:
    for _ in range(2):  # the second parse of a string is a cache hit: same value either way
        price = Order.from_dict({**ORDER, "price": raw}).price
        assert isinstance(price, Decimal)
        assert price == expected
        assert str(price) == str(expected)


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "sNaN", "abc", "", [1], {"v": 1}, True, None])
def test_malformed_decimal_fields_raise_value_error_every_time(raw: object) -> None:
    for _ in range(2):  # a rejected string is never cached
        with pytest.raises(ValueError, match="decimal"):
            Order.from_dict({**ORDER, "qty": raw})
    assert not isinstance(raw, str) or raw not in generated_types._DECIMALS


def test_the_decimal_table_is_bounded() -> None:
    table = generated_types._DECIMALS
    for i in range(generated_types._DECIMALS_MAX + 10):
        generated_types.parse_decimal(f"{i}.5")
        assert len(table) <= generated_types._DECIMALS_MAX
    assert generated_types.parse_decimal("7.5") == Decimal("7.5")


@pytest.mark.parametrize("raw", ["2025-08-11 nope", "", 1754883325, None, ["2025-08-11T03:35:25Z"]])
def test_malformed_datetime_fields_raise(raw: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Order.from_dict({**ORDER, "created_at": raw})


def test_a_typed_page_from_wire_bytes() -> None:
    """The path the client takes: bytes, json.loads with Decimal, parse_success; numbers and strings mixed."""
    page = json.loads(json.dumps(DOC_EXAMPLES["query_open_orders"]["response"]))
    page["result"].append({**ORDER, "id": ORDER["id"] + 1, "price": 121900.5, "qty": "0.002"})
    body = json.dumps(page).encode()
    parsed = query_open_orders.parse_success(json.loads(body, parse_float=Decimal))
    assert [o.price for o in parsed.result][-1] == Decimal("121900.5")
    assert parsed.result[-1].qty == Decimal("0.002")
    assert all(isinstance(o.side, Side) for o in parsed.result)


def test_from_dict_leaves_nested_dicts_alone() -> None:
    """Only the client's own decode is taken apart in place (_owned); a caller's page is copied at every level."""
    page = json.loads(json.dumps(DOC_EXAMPLES["query_open_orders"]["response"]))
    page["result"][0]["new_field"] = 1
    before = copy.deepcopy(page)
    parsed = OrderPage.from_dict(page)
    assert page == before
    assert parsed.result[0].additional_properties == {"new_field": 1}
    again = OrderPage.from_dict(page)  # the same dict parses twice: nothing was consumed
    assert again == parsed


def test_parse_success_takes_a_fresh_decode_apart_and_keeps_every_field() -> None:
    page = json.loads(json.dumps(DOC_EXAMPLES["query_open_orders"]["response"]))
    page["result"][0]["new_field"] = {"nested": True}
    expected = OrderPage.from_dict(copy.deepcopy(page))
    parsed = query_open_orders.parse_success(page)
    assert parsed == expected
    assert parsed.result[0]["new_field"] == {"nested": True}
    assert parsed.result[0].to_dict() == expected.result[0].to_dict()
