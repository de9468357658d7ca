"""Every operation through the facade, sync and async, against httpx.MockTransport answering the docs' example.

Asserts what was sent (method, host, path, query, headers, body) and the parsed, typed result.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from nacl.signing import VerifyKey
from standx_client import AsyncStandX, StandX
from standx_client.models import OrderStatus, Side

from tests.conftest import DOC_EXAMPLES, JWT, SEED_HEX, VECTORS, Recorder

UTC = datetime.UTC
ACK = DOC_EXAMPLES["new_order"]["response"]


@dataclass
class Case:
    op: str
    kwargs: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    check: Callable[[Any], bool] = lambda result: True
    headers: dict[str, str] = field(default_factory=dict)


def _ack(result: Any) -> bool:
    return result.code == 0 and result.message == "success" and result.request_id == "xxx-xxx-xxx"


CASES = [
    Case(
        "new_order",
        dict(
            symbol="BTC-USD",
            side="buy",
            order_type="limit",
            qty=Decimal("0.1"),
            price=Decimal("50000"),
            time_in_force="gtc",
            reduce_only=False,
            x_session_id="sess-1",
            cl_ord_id="bot-0001",
        ),
        body={**DOC_EXAMPLES["new_order"]["request"], "cl_ord_id": "bot-0001"},
        headers={"x-session-id": "sess-1"},
        check=lambda r: _ack(r) and r.cl_ord_id == "bot-0001",
    ),
    Case("cancel_order", dict(order_id=2424844), body=DOC_EXAMPLES["cancel_order"]["request"], check=_ack),
    Case(
        "cancel_orders",
        dict(order_id_list=[2424844]),
        body=DOC_EXAMPLES["cancel_orders"]["request"],
        check=lambda r: r == [],
    ),
    Case(
        "change_leverage",
        dict(symbol="BTC-USD", leverage=10),
        body=DOC_EXAMPLES["change_leverage"]["request"],
        check=_ack,
    ),
    Case(
        "change_margin_mode",
        dict(symbol="BTC-USD", margin_mode="cross"),
        body=DOC_EXAMPLES["change_margin_mode"]["request"],
        check=_ack,
    ),
    Case(
        "transfer_margin",
        dict(symbol="BTC-USD", amount_in=Decimal("1000.0")),
        body=DOC_EXAMPLES["transfer_margin"]["request"],
        check=_ack,
    ),
    Case(
        "query_order",
        dict(order_id=1820682),
        query={"order_id": "1820682"},
        check=lambda r: (
            r.id == 1820682
            and r.price == Decimal("121900.00")
            and r.qty == Decimal("0.060")
            and r.status == OrderStatus.OPEN
            and r.side == Side.SELL
            and r.cl_ord_id == "01K2BK4ZKQE0C308SRD39P8N9Z"
            and r.created_at == datetime.datetime(2025, 8, 11, 3, 35, 25, 559151, tzinfo=UTC)
        ),
    ),
    Case(
        "query_orders",
        dict(
            symbol="BTC-USD",
            status="open",
            order_type="limit",
            start=datetime.datetime(2025, 8, 1, tzinfo=UTC),
            end=datetime.datetime(2025, 8, 12, tzinfo=UTC),
            last_id=1820683,
            limit=100,
        ),
        query={
            "symbol": "BTC-USD",
            "status": "open",
            "order_type": "limit",
            "start": "2025-08-01T00:00:00+00:00",
            "end": "2025-08-12T00:00:00+00:00",
            "last_id": "1820683",
            "limit": "100",
        },
        check=lambda r: (
            r.page_size == 1
            and r.total == 1
            and r.result[0].status == "new"
            and r.result[0].avail_locked == Decimal("3.071880000")
        ),
    ),
    Case(
        "query_open_orders",
        dict(symbol="BTC-USD", limit=1200),
        query={"symbol": "BTC-USD", "limit": "1200"},
        check=lambda r: len(r.result) == 1 and r.result[0].id == 1820682,
    ),
    Case(
        "query_trades",
        dict(symbol="BTC-USD", side="sell", limit=10),
        query={"symbol": "BTC-USD", "side": "sell", "limit": "10"},
        check=lambda r: (
            r.result[0].fee_qty == Decimal("0.121900")
            and r.result[0].value == Decimal("1219.00")
            and r.result[0].order_id == 1820682
        ),
    ),
    Case(
        "query_funding_history",
        dict(symbol="BTC-USD", limit=5),
        query={"symbol": "BTC-USD", "limit": "5"},
        check=lambda r: r[0].qty == Decimal("-0.0123") and r[0].txn_type == "funding",
    ),
    Case(
        "query_position_config",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: r.leverage == 10 and r.margin_mode == "cross",
    ),
    Case(
        "query_positions",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: (
            r[0].mmr == Decimal("3.993223845366698695025800014")
            and r[0].qty == Decimal("0.940")
            and r[0].liq_price == Decimal("112373.50")
            and r[0].margin_mode == "isolated"
        ),
    ),
    Case(
        "query_balance",
        {},
        check=lambda r: r.equity == Decimal("1100028.707476657") and r.cross_balance == Decimal("1088575.259316737"),
    ),
    Case(
        "query_market_overview",
        {},
        check=lambda r: r.summary.symbol_count == 5 and r.symbols[0].price_change_pct == Decimal("1.25"),
    ),
    Case(
        "query_symbol_info",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: (
            r[0].price_tick_decimals == 2
            and r[0].min_order_qty == Decimal("0.001")
            and r[0].max_leverage == Decimal("20")
            and r[0].enabled is True
        ),
    ),
    Case(
        "query_symbol_market",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: (
            r.volume_24h == Decimal("9030.51800000000002509")
            and r.spread == [Decimal("121599.94"), Decimal("121600.04")]
        ),
    ),
    Case(
        "query_symbol_price",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: r.mark_price == Decimal("121602.43") and r.spread_bid == Decimal("121599.94"),
    ),
    Case(
        "query_depth_book",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: r.asks[0] == [Decimal("121895.81"), Decimal("0.843")] and len(r.bids) == 2,
    ),
    Case(
        "query_recent_trades",
        dict(symbol="BTC-USD"),
        query={"symbol": "BTC-USD"},
        check=lambda r: len(r) == 2 and r[0].quote_qty == Decimal("1217.2018") and r[0].is_buyer_taker is True,
    ),
    Case(
        "query_funding_rates",
        dict(symbol="BTC-USD", start_time=1754870400000, end_time=1754956800000),
        query={"symbol": "BTC-USD", "start_time": "1754870400000", "end_time": "1754956800000"},
        check=lambda r: r[0].funding_rate == Decimal("0.0001") and r[0].id == 1,
    ),
    Case("kline_time", {}, check=lambda r: r == 1620000000),
    Case(
        "kline_history",
        dict(symbol="BTC-USD", from_=1754897000, to=1754897100, resolution="1", count_back=2),
        query={"symbol": "BTC-USD", "from": "1754897000", "to": "1754897100", "resolution": "1", "countBack": "2"},
        check=lambda r: (
            r.s == "ok"
            and r.t == [1754897028, 1754897031]
            and r.c == [Decimal("121897.95"), Decimal("121903.04")]
            and r.v[1] == Decimal("10.542")
        ),
    ),
    Case("health", {}, check=lambda r: r == "OK"),
    Case("query_region", {}, check=lambda r: r.system_time == 1761970177865 and r.region == "jp"),
    Case(
        "prepare_signin",
        dict(
            chain="bsc",
            address="0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B",
            request_id="FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF",
        ),
        query={"chain": "bsc"},
        body=DOC_EXAMPLES["prepare_signin"]["request"],
        check=lambda r: r.success is True and r.signed_data.startswith("eyJhbGciOiJFUzI1NiIs"),
    ),
    Case(
        "login",
        dict(
            chain="bsc",
            signature="0x...",
            signed_data="eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9...",
            expires_seconds=604800,
        ),
        query={"chain": "bsc"},
        body=DOC_EXAMPLES["login"]["request"],
        check=lambda r: r.token.startswith("eyJhbGciOiJIUzI1NiIs") and r.alias == "user123" and r.perps_alpha is True,
    ),
    Case("query_certs", {}, check=lambda r: r.keys[0].kty == "EC" and r.keys[0].crv == "P-256"),
]


# What the docs say each operation is (standx-api-notes.md sections 2 and 3, the endpoint table and the sign-in
# flow), written down here rather than read from the generated table: (method, host, path, JWT, body signature).
DOCUMENTED: dict[str, tuple[str, str, str, bool, bool]] = {
    "new_order": ("POST", "perps.standx.com", "/api/new_order", True, True),
    "cancel_order": ("POST", "perps.standx.com", "/api/cancel_order", True, True),
    "cancel_orders": ("POST", "perps.standx.com", "/api/cancel_orders", True, True),
    "change_leverage": ("POST", "perps.standx.com", "/api/change_leverage", True, True),
    "change_margin_mode": ("POST", "perps.standx.com", "/api/change_margin_mode", True, True),
    "transfer_margin": ("POST", "perps.standx.com", "/api/transfer_margin", True, True),
    "query_order": ("GET", "perps.standx.com", "/api/query_order", True, False),
    "query_orders": ("GET", "perps.standx.com", "/api/query_orders", True, False),
    "query_open_orders": ("GET", "perps.standx.com", "/api/query_open_orders", True, False),
    "query_trades": ("GET", "perps.standx.com", "/api/query_trades", True, False),
    "query_position_config": ("GET", "perps.standx.com", "/api/query_position_config", True, False),
    "query_positions": ("GET", "perps.standx.com", "/api/query_positions", True, False),
    "query_balance": ("GET", "perps.standx.com", "/api/query_balance", True, False),
    "query_funding_history": ("GET", "perps.standx.com", "/api/query_funding_history", True, False),
    "query_symbol_info": ("GET", "perps.standx.com", "/api/query_symbol_info", False, False),
    "query_symbol_market": ("GET", "perps.standx.com", "/api/query_symbol_market", False, False),
    "query_symbol_price": ("GET", "perps.standx.com", "/api/query_symbol_price", False, False),
    "query_depth_book": ("GET", "perps.standx.com", "/api/query_depth_book", False, False),
    "query_recent_trades": ("GET", "perps.standx.com", "/api/query_recent_trades", False, False),
    "query_funding_rates": ("GET", "perps.standx.com", "/api/query_funding_rates", False, False),
    "query_market_overview": ("GET", "perps.standx.com", "/api/query_market_overview", False, False),
    "kline_time": ("GET", "perps.standx.com", "/api/kline/time", False, False),
    "kline_history": ("GET", "perps.standx.com", "/api/kline/history", False, False),
    "health": ("GET", "perps.standx.com", "/api/health", False, False),
    "query_region": ("GET", "geo.standx.com", "/v1/region", False, False),
    "prepare_signin": ("POST", "api.standx.com", "/v1/offchain/prepare-signin", False, False),
    "login": ("POST", "api.standx.com", "/v1/offchain/login", False, False),
    "query_certs": ("GET", "api.standx.com", "/v1/offchain/certs", False, False),
}


def test_every_operation_has_a_case() -> None:
    assert sorted(c.op for c in CASES) == sorted(DOCUMENTED)
    public = {name for name in dir(StandX) if not name.startswith("_") and callable(getattr(StandX, name))}
    assert set(DOCUMENTED) <= public  # and the facade has a method for each


def _answer(case: Case) -> Callable[[httpx.Request], httpx.Response]:
    example = DOC_EXAMPLES[case.op]
    if "response_text" in example:
        return lambda request: httpx.Response(200, text=example["response_text"])
    raw = json.dumps(example["response"]).encode()
    return lambda request: httpx.Response(200, content=raw, headers={"content-type": "application/json"})


def _check_request(case: Case, request: httpx.Request) -> None:
    method, host, path, auth, signed = DOCUMENTED[case.op]
    assert (request.method, request.url.host, request.url.path) == (method, host, path)
    assert dict(request.url.params) == case.query
    assert len(request.url.params) == len(case.query)
    if case.body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == case.body
        assert request.headers["content-type"] == "application/json"
    assert (request.headers.get("authorization") == f"Bearer {JWT}") is auth
    assert ("x-request-signature" in request.headers) is signed
    if signed:  # the signature covers exactly the bytes on the wire (independent verifier)
        h = request.headers
        message = f"v1,{h['x-request-id']},{h['x-request-timestamp']},".encode() + request.content
        VerifyKey(bytes.fromhex(VECTORS["public_key_hex"])).verify(message, base64.b64decode(h["x-request-signature"]))
    for name, value in case.headers.items():
        assert request.headers[name] == value


@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_sync(case: Case) -> None:
    recorder = Recorder({DOCUMENTED[case.op][2]: _answer(case)})
    with StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder)) as client:
        result = getattr(client, case.op)(**case.kwargs)
    _check_request(case, recorder.last)
    assert case.check(result), result


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
async def test_async(case: Case) -> None:
    recorder = Recorder({DOCUMENTED[case.op][2]: _answer(case)})
    async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder)) as client:
        result = await getattr(client, case.op)(**case.kwargs)
    _check_request(case, recorder.last)
    assert case.check(result), result
