"""Stream frames through the same one-step decode as HTTP answers (`_decode.market_frame`, `_decode.order_frame`),
on the documented frames of tests/fixtures/ws_examples.json."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from standx_client._decode import Frame, SpecMismatch, market_frame, order_frame
from standx_client.models import DepthBook, Order, OrderStatus, OrderStreamResponse, StreamAuthResult, StreamPrice

from tests.conftest import load_fixture

WS: dict[str, Any] = load_fixture("ws_examples.json")


def _raw(name: str, **changes: Any) -> bytes:
    return json.dumps({**WS[name], **changes}).encode()


def test_price_frame() -> None:
    frame = market_frame(_raw("price"))
    data = WS["price"]["data"]
    assert isinstance(frame, Frame)
    assert (frame.seq, frame.channel, frame.symbol) == (WS["price"]["seq"], "price", "BTC-USD")
    assert isinstance(frame.data, StreamPrice)
    assert frame.data.mark_price == Decimal(data["mark_price"]) and str(frame.data.index_price) == data["index_price"]
    assert frame.data.spread == [Decimal(v) for v in data["spread"]]


def test_text_frames_decode_like_bytes() -> None:
    assert market_frame(_raw("price").decode()) == market_frame(_raw("price"))


def test_depth_book_order_and_auth_frames() -> None:
    book = market_frame(_raw("depth_book")).data
    assert isinstance(book, DepthBook)
    assert book.asks == [[Decimal(p), Decimal(q)] for p, q in WS["depth_book"]["data"]["asks"]]
    order = market_frame(_raw("order"))
    assert isinstance(order.data, Order) and order.symbol is None
    assert order.data.status == OrderStatus(WS["order"]["data"]["status"])
    auth = market_frame(_raw("auth_ok")).data
    assert isinstance(auth, StreamAuthResult) and auth.code == 200


def test_a_number_in_a_frame_stays_exact() -> None:
    text = "121602.43000000000000001"
    raw = _raw("price", data={**WS["price"]["data"], "mark_price": "M"}).replace(b'"M"', text.encode())
    assert str(market_frame(raw).data.mark_price) == text


def test_error_and_unknown_channels_keep_their_payload_as_a_dict() -> None:
    error = market_frame(b'{"seq": 4, "channel": "error", "data": {"code": 400, "msg": "bad channel"}}')
    assert error.data == {"code": 400, "msg": "bad channel"}
    novel = market_frame(b'{"seq": 5, "channel": "novel", "data": {"x": 1.5}}')
    assert novel.data == {"x": Decimal("1.5")}


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"channel": "price", "data": {}}', "missing required field `seq`"),
        (b'{"seq": 1, "channel": "price"}', "missing required field `data`"),
        (b"[1]", "Expected `object`"),
        (b"not json", "not JSON"),
    ],
)
def test_malformed_frames(raw: bytes, where: str) -> None:
    with pytest.raises(SpecMismatch, match=where):
        market_frame(raw)


def test_a_malformed_payload_names_the_field_under_data() -> None:
    raw = _raw("price", data={**WS["price"]["data"], "mark_price": "NaN"})
    with pytest.raises(SpecMismatch, match="mark_price: not a finite decimal"):
        market_frame(raw)
    raw = _raw("price", data={**WS["price"]["data"], "index_price": True})
    with pytest.raises(SpecMismatch, match=r"\$\.data\.index_price"):
        market_frame(raw)
    with pytest.raises(SpecMismatch, match=r"\$\.data"):
        market_frame(b'{"seq": 5, "channel": "novel", "data": [1]}')


@pytest.mark.parametrize("name", ["ws_api_accepted", "ws_api_success", "ws_api_rejected"])
def test_order_response_frames(name: str) -> None:
    frame = order_frame(_raw(name))
    assert isinstance(frame, OrderStreamResponse)
    assert frame.code == WS[name]["code"] and frame.request_id == WS[name]["request_id"]
