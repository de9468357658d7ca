"""A downstream bot repository's tests, written against the mock's fixtures (run as their own pytest session)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from standx_client import AsyncStandX, StandX
from standx_mock.server import MockServer


def test_standx_client_trades_on_the_mock(standx_client: StandX, standx_mock: MockServer) -> None:
    assert standx_mock.base_url.startswith("http://127.0.0.1:")
    start = standx_client.query_balance().cross_balance
    assert start == Decimal("100000")  # MockConfig's default funding
    standx_client.new_order(symbol="BTC-USD", side="buy", order_type="market", qty="0.001", time_in_force="ioc",
                            reduce_only=False)  # fmt: skip
    (position,) = [p for p in standx_client.query_positions() if p.qty]
    assert position.qty == Decimal("0.001")
    assert standx_client.query_balance().cross_balance < start  # the taker fee was charged


def test_each_test_gets_a_fresh_account(standx_client: StandX, standx_mock: MockServer) -> None:
    assert all(p.qty == 0 for p in standx_client.query_positions())
    users = {o["user"] for o in httpx.get(f"{standx_mock.base_url}/mock/orders").json()["result"]}
    assert len(users) >= 1


@pytest.mark.anyio
async def test_async_client_fixture(async_standx_client: AsyncStandX) -> None:
    assert (await async_standx_client.query_symbol_price(symbol="ETH-USD")).symbol == "ETH-USD"
