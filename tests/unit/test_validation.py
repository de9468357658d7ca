"""Bad input is refused with a typed ValidationError naming the field, before any request is sent."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standx_client import StandX, ValidationError

from tests.conftest import JWT, SEED_HEX, Recorder

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
