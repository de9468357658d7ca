"""iter_<operation> for the operations the spec marks `x-standx-pagination` (cursor `last_id`): pages are
fetched as the iteration goes, each with the last item's id, and the walk stops at an empty or short page.
Pages are built from the docs' examples with varying ids."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from standx_client import AsyncStandX, StandX
from standx_client.models import FundingPayment, Order

from tests.conftest import DOC_EXAMPLES, JWT, SEED_HEX

ORDER = DOC_EXAMPLES["query_orders"]["response"]["result"][0]
FUNDING = DOC_EXAMPLES["query_funding_history"]["response"][0]


class Book:
    """Serves newest-first pages of `ids` from `last_id` (exclusive), `limit` per page (default 3)."""

    def __init__(self, ids: list[int], item: dict[str, Any], envelope: bool = True) -> None:
        self.ids, self.item, self.envelope = ids, item, envelope
        self.cursors: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        self.cursors.append(params.get("last_id"))
        start = 0 if "last_id" not in params else self.ids.index(int(params["last_id"])) + 1
        page = [{**self.item, "id": i} for i in self.ids[start : start + int(params.get("limit", 3))]]
        body = {"page_size": len(page), "result": page, "total": len(self.ids)} if self.envelope else page
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def client(book: Book) -> StandX:
    return StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(book))


def test_pages_follow_the_cursor_and_stop_at_a_short_page() -> None:
    book = Book([90, 80, 70, 60, 50], ORDER)
    orders = list(client(book).iter_query_orders(symbol="BTC-USD", limit=2))
    assert [o.id for o in orders] == [90, 80, 70, 60, 50]
    assert all(isinstance(o, Order) for o in orders)
    assert book.cursors == [None, "80", "60"]  # the third page is short: no fourth request


def test_without_a_page_size_the_walk_ends_at_an_empty_page_and_is_lazy() -> None:
    book = Book([9, 8, 7, 6], ORDER)
    walk = client(book).iter_query_orders()
    assert next(walk).id == 9
    assert book.cursors == [None]  # nothing fetched beyond what was consumed
    assert [o.id for o in walk] == [8, 7, 6]
    assert book.cursors == [None, "7", "6"]  # 3 + 1 items, then an empty page


def test_a_server_ignoring_the_cursor_cannot_loop_forever() -> None:
    def same_page(request: httpx.Request) -> httpx.Response:
        same_page.calls += 1  # type: ignore[attr-defined]
        body = {"page_size": 2, "result": [{**ORDER, "id": 5}, {**ORDER, "id": 4}], "total": 9}
        return httpx.Response(200, json=body)

    same_page.calls = 0  # type: ignore[attr-defined]
    orders = list(StandX(jwt=JWT, transport=httpx.MockTransport(same_page)).iter_query_orders(limit=2))
    assert [o.id for o in orders] == [5, 4, 5, 4]
    assert same_page.calls == 2  # the second page ends on the same id: stop


def test_list_bodies_page_too_and_the_cursor_is_not_an_argument() -> None:
    book = Book([30, 20, 10], FUNDING, envelope=False)
    payments = list(client(book).iter_query_funding_history(symbol="BTC-USD", limit=2))
    assert [p.id for p in payments] == [30, 20, 10] and all(isinstance(p, FundingPayment) for p in payments)
    with pytest.raises(TypeError):
        client(book).iter_query_trades(last_id=5)  # type: ignore[call-arg]


@pytest.mark.anyio
async def test_async_pages() -> None:
    book = Book([4, 3, 2, 1], ORDER)
    async with AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(book)) as c:
        ids = [o.id async for o in c.iter_query_orders(limit=3)]
    assert ids == [4, 3, 2, 1]
    assert book.cursors == [None, "2"]
