"""SyncMarketStream: the market stream from plain synchronous code (its loop in a background thread), against
the scripted socket-counting server running in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from standx_client import BadRequestError
from standx_client.models import StreamPrice
from standx_client.retry import RetryPolicy
from standx_client.streams import Reconnected, StreamMessage, StreamState, SyncMarketStream

from tests.conftest import JWT, load_fixture
from tests.unit.ws_script import Peer, ScriptedServer

WS = load_fixture("ws_examples.json")


async def script(peer: Peer) -> None:
    """Auth; on each subscription the documented frame; the first connection is dropped after its frame."""
    assert await peer.recv_json() == {"auth": {"token": JWT}}
    await peer.send_json(WS["auth_ok"])
    async for message in peer.ws:
        if "subscribe" in message:
            await peer.send_json(WS["price"])
            await peer.send_json(WS["code_message_error"])
            if peer.number == 1:
                await peer.ws.close(1012)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    loop = asyncio.new_event_loop()
    srv = ScriptedServer(script)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(srv.__aenter__(), loop).result(10)
    yield srv
    asyncio.run_coroutine_threadsafe(srv.__aexit__(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_sync_iteration_typed_events_reconnects_and_close_from_another_thread(server: ScriptedServer) -> None:
    fast = RetryPolicy(attempts=5, base=0.001, cap=0.004)
    events: list[object] = []
    with SyncMarketStream(jwt=JWT, url=server.url("/m"), reconnect=fast) as stream:
        stream.subscribe("price", "BTC-USD")
        iterator = iter(stream)
        events.append(next(iterator))
        with pytest.raises(BadRequestError, match="invalid symbol"):  # errors raise as with async for
            next(iterator)
        events.append(next(iterator))  # the drop
        events.append(next(iterator))  # the subscription replayed on the new connection
        assert stream.state is StreamState.OPEN and stream.reconnects == 1

        closer = threading.Timer(0.05, stream.close)  # close from another thread while next() blocks
        closer.start()
        with pytest.raises(BadRequestError):
            next(iterator)
        assert list(iterator) == []  # the blocked iteration ended when the stream closed
        closer.join()
        assert stream.state is StreamState.CLOSED
    price, reconnected, again = events
    assert isinstance(price, StreamMessage) and isinstance(price.data, StreamPrice)
    assert price.data.mark_price == Decimal(WS["price"]["data"]["mark_price"])
    assert isinstance(reconnected, Reconnected) and "1012" in reconnected.reason
    assert isinstance(again, StreamMessage) and again.seq == 3
    accepted = len(server.counts.accepts)
    deadline = threading.Event()
    for _ in range(500):
        if server.counts.open_total == 0:
            break
        deadline.wait(0.01)
    assert server.counts.open_total == 0 and len(server.counts.accepts) == accepted == 2
    assert set(server.counts.max_by_path.values()) == {1}
    with pytest.raises(Exception, match="closed"):
        stream.subscribe("price", "BTC-USD")


def test_a_bad_url_is_refused_and_no_thread_is_left() -> None:
    before = threading.active_count()
    with pytest.raises(ValueError, match="wss://"):
        SyncMarketStream(url="ws://perps.standx.com/ws-stream/v1")
    assert threading.active_count() == before
