"""Live responses that differ from the docs (standx-api-notes.md 5.3 and 8) parse into typed models."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from standx_client import StandX
from standx_client._operations import OPERATIONS
from standx_client.models import OrderStatus
from standx_client.types import Unset

from tests.conftest import JWT, LIVE_DEVIATIONS, SEED_HEX, Recorder, json_response

KWARGS = {
    "query_symbol_market": {"symbol": "BTC-USD"},
    "query_open_orders": {},
    "cancel_orders": {"cl_ord_id_list": ["a"]},
    "query_position_config": {"symbol": "BTC-USD"},
    "query_positions": {},
    "query_balance": {},
    "query_symbol_price": {"symbol": "BTC-USD"},
    "query_symbol_info": {},
    "kline_history": {"symbol": "BTC-USD", "from_": 1, "to": 2, "resolution": "1D"},
    "query_order": {"cl_ord_id": "x"},
}


def _call(name: str) -> object:
    case = LIVE_DEVIATIONS[name]
    op = case["operation"]
    recorder = Recorder({OPERATIONS[op].path: json_response(case["body"])})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    return getattr(client, op)(**KWARGS[op])


def test_decimals_sent_as_json_numbers_stay_exact() -> None:
    market = _call("symbol_market_numbers")
    expected = LIVE_DEVIATIONS["symbol_market_numbers"]["expect"]
    for name, text in expected.items():
        value = getattr(market, name)
        assert isinstance(value, Decimal)
        assert value == Decimal(text)
        assert str(value) == text  # not a float's rounding of it


def test_list_envelope_with_code_and_no_total() -> None:
    page = _call("list_envelope_with_code")
    assert page.code == 0 and page.message == "success"
    assert isinstance(page.total, Unset)
    assert page.result[0].status == "new"


def test_cancel_orders_code_body() -> None:
    result = _call("cancel_orders_code_body")
    assert result.code == 0 and result.request_id == "xxx-xxx-xxx"


def test_position_config_leverage_as_string() -> None:
    assert _call("position_config_leverage_string").leverage == "10"


def test_position_nulls_and_extra_fields() -> None:
    (position,) = _call("position_nulls_and_extras")
    assert position.liq_price is None and position.mmr is None
    assert position.qty == Decimal("0")
    assert position.required_margin == Decimal("0")


def test_balance_extra_field_kept() -> None:
    balance = _call("balance_extra_field")
    assert balance.pnl_24h == Decimal("31.61532")


def test_symbol_price_nulls() -> None:
    price = _call("symbol_price_nulls")
    assert (price.last_price, price.mid_price, price.spread_ask, price.spread_bid) == (None, None, None, None)
    assert price.mark_price == Decimal("121602.43")


def test_symbol_info_without_symbol_returns_all() -> None:
    infos = _call("symbol_info_status_and_all")
    assert [i.symbol for i in infos] == ["BTC-USD", "ETH-USD"]
    assert infos[0].status == "trading"


def test_kline_no_data_without_arrays() -> None:
    history = _call("kline_no_data")
    assert history.s == "no_data"
    assert isinstance(history.t, Unset) and isinstance(history.c, Unset)


def test_unknown_order_status_is_kept() -> None:
    order = _call("order_status_unknown")
    assert order.status == "partially_filled"
    assert isinstance(order.status, OrderStatus)
    assert order.status not in list(OrderStatus)  # kept, though the spec does not list it
    assert OrderStatus("open") is OrderStatus.OPEN


def test_unknown_extra_fields_are_not_fatal() -> None:
    """A field the spec does not list is ignored (README, "Responses"): the rest of the answer still arrives."""
    body = dict(LIVE_DEVIATIONS["balance_extra_field"]["body"], brand_new_field={"nested": [1, 2]})
    recorder = Recorder({"/api/query_balance": json_response(body)})
    balance = StandX(jwt=JWT, transport=httpx.MockTransport(recorder)).query_balance()
    assert balance.equity == Decimal(body["equity"])
    assert not hasattr(balance, "brand_new_field")


@pytest.mark.parametrize("value", ["abc", True, [], "1e5x"])
def test_malformed_decimal_in_a_response_is_a_typed_error(value: object) -> None:
    from standx_client import ResponseDecodeError

    body = dict(LIVE_DEVIATIONS["balance_extra_field"]["body"], equity=value)
    recorder = Recorder({"/api/query_balance": json_response(body)})
    with pytest.raises(ResponseDecodeError) as info:
        StandX(jwt=JWT, transport=httpx.MockTransport(recorder)).query_balance()
    assert info.value.status_code == 200
    assert b"equity" in info.value.body
