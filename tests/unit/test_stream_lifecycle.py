"""Connection lifecycle of both streams against a scripted loopback server that counts sockets server-side.

The claims: at most one open socket per stream (drops, failed re-logins, 408 notices, close in the middle of a
reopening), none after `close()` or after a `connect()` that raised, no task left running, the per-IP budget
across many streams, and a reader that no frame can kill. Backoffs are milliseconds; nothing asserts a
wall-clock duration: waits are bounded loops on server-side counts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standx_client import AsyncStandX, AuthenticationError, OrderFound, OrderStatusUnknownError, StreamClosedError
from standx_client import ValidationError as StandXValidationError
from standx_client.retry import RetryPolicy
from standx_client.streams import (
    ConnectionBudget,
    ConnectionLimitError,
    ConnectionLimits,
    MarketStream,
    OrderStream,
    Reconnected,
    StreamMessage,
    StreamState,
)

from tests.conftest import DOC_EXAMPLES, JWT, SEED_HEX, load_fixture
from tests.unit.ws_script import Peer, ScriptedServer, run

WS = load_fixture("ws_examples.json")
FAST = RetryPolicy(attempts=5, base=0.001, cap=0.004)
ORDER = {"symbol": "BTC-USD", "side": "buy", "order_type": "limit", "qty": "0.1", "price": "50000",
         "time_in_force": "alo", "reduce_only": False}  # fmt: skip


def roomy_budget() -> ConnectionBudget:
    """The budget's code path, with room for a thousand reopenings in a few seconds."""
    return ConnectionBudget(ConnectionLimits(max_open=50, max_new=1_000_000, window=60.0))


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


def stream_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of the stream classes still alive (readers, reopenings, age-limit closes)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done()
        and any(name in t.get_coro().__qualname__ for name in ("Stream.", "Connection.", "close_socket"))
    ]


def reply(name: str, request_id: str) -> dict[str, Any]:
    return {**WS[name], "request_id": request_id}


# --- scripts: what the exchange does on each connection --------------------------------------------------------


class Chaos:
    """Per connection, in turn: log in and drop soon after; drop during the login; ignore the login (the
    client times out); refuse it with a 503; log in, send the 408 notice and keep the socket open (the client
    must close it before it opens the next). Three failed logins at most in a row, then a good one."""

    def __init__(self) -> None:
        self.injected = 0  # drops and failed re-logins
        self.silent = asyncio.Event()  # set while a connection ignores its login

    def outcome(self, peer: Peer) -> str:
        return ("ok", "drop_in_login", "silent", "refuse", "notice")[(peer.number - 1) % 5]

    async def orders(self, peer: Peer) -> None:
        login = await peer.recv_json()
        assert login["method"] == "auth:login" and login["session_id"]
        refused = {"code": 503, "message": "unavailable", "request_id": login["request_id"]}
        await self._act(peer, reply("ws_api_success", login["request_id"]), refused)

    async def market(self, peer: Peer) -> None:
        assert await peer.recv_json() == {"auth": {"token": JWT}}
        await self._act(peer, WS["auth_ok"], {"seq": 1, "channel": "auth", "data": {"code": 503, "msg": "busy"}})

    async def _act(self, peer: Peer, ok: Any, refused: Any) -> None:
        outcome = self.outcome(peer)
        self.injected += 1
        if outcome == "ok":
            await peer.send_json(ok)
            await asyncio.sleep(0.001)
            await peer.ws.close(1012)
        elif outcome == "notice":
            await peer.send_json(ok)
            await peer.send_json(WS["disconnect_408"])
            await peer.ws.wait_closed()  # lingers: only the client's close ends it
        elif outcome == "drop_in_login":
            await peer.ws.close(1011)
        elif outcome == "silent":
            self.silent.set()
            try:
                await peer.ws.wait_closed()
            finally:
                self.silent.clear()
        else:
            await peer.send_json(refused)
            await peer.ws.wait_closed()


def test_a_thousand_drops_and_failed_relogins_never_open_a_second_socket_and_close_leaves_none() -> None:
    chaos = Chaos()

    async def main() -> None:
        async with ScriptedServer(lambda p: chaos.market(p) if p.path.startswith("/m") else chaos.orders(p)) as srv:
            options: dict[str, Any] = {"reconnect": FAST, "open_timeout": 0.05, "budget": roomy_budget()}
            markets = [MarketStream(jwt=JWT, url=srv.url(f"/m{i}"), **options) for i in range(2)]
            orders = [OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url(f"/o{i}"), **options) for i in range(2)]
            for stream in (*markets, *orders):
                await stream.connect()
            reconnected: list[Reconnected] = []

            async def consume(stream: MarketStream) -> None:
                async for event in stream:
                    if isinstance(event, Reconnected):
                        reconnected.append(event)

            consumers = [asyncio.create_task(consume(m)) for m in markets]
            await until(lambda: chaos.injected >= 1000, timeout=60)
            # Close in the middle of a reopening: while a connection ignores its login.
            await until(chaos.silent.is_set)
            for stream in (*markets, *orders):
                await stream.close()
            accepted = len(srv.counts.accepts)
            assert set(srv.counts.max_by_path.values()) == {1}, srv.counts.max_by_path  # never two for one stream
            await asyncio.gather(*consumers)  # iteration ended (StopAsyncIteration) on close
            await srv.settle()
            await asyncio.sleep(0.05)  # many backoff periods: a leftover loop would have reconnected by now
            assert len(srv.counts.accepts) == accepted, "a socket was opened after close()"
            assert srv.counts.open_total == 0
            assert stream_tasks() == []
        counts = srv.counts
        assert sum(counts.connections_by_path.values()) >= 1000
        assert all(s.state is StreamState.CLOSED for s in (*markets, *orders))
        assert reconnected and all(e.reason and e.attempts >= 1 for e in reconnected)
        assert {e.attempts for e in reconnected} >= {4}  # three failed logins, then the good one
        assert sum(o.reconnects for o in orders) >= 2 * 90  # two in five of ~250 connections each log in

    run(main(), timeout=90)


@pytest.mark.parametrize("kind", ["market", "orders"])
def test_a_connect_that_raises_leaves_nothing_open_or_running(kind: str) -> None:
    """A refused login: the socket is closed, no reader or reopening runs, and nothing logs in again."""

    async def refuse(peer: Peer) -> None:
        frame = await peer.recv_json()
        if kind == "market":
            await peer.send_json({"seq": 1, "channel": "auth", "data": {"code": 401, "msg": "invalid token"}})
        else:
            await peer.send_json({"code": 401, "message": "invalid token", "request_id": frame["request_id"]})
        await peer.ws.wait_closed()

    async def main() -> None:
        async with ScriptedServer(refuse) as srv:
            stream: MarketStream | OrderStream
            if kind == "market":
                stream = MarketStream(jwt=JWT, url=srv.url("/s"), reconnect=FAST, budget=(budget := roomy_budget()))
            else:
                stream = OrderStream(
                    jwt=JWT, signing_key=SEED_HEX, url=srv.url("/s"), reconnect=FAST, budget=(budget := roomy_budget())
                )
            with pytest.raises(AuthenticationError, match="invalid token"):
                async with stream:
                    pytest.fail("the body must not run")
            await srv.settle()
            await asyncio.sleep(0.05)
            assert len(srv.counts.accepts) == 1 and srv.counts.open_total == 0
            assert stream.state is StreamState.CLOSED and stream_tasks() == []
            assert budget.open_count("127.0.0.1:" + str(srv.port)) == 0  # the slot was given back
            with pytest.raises(StreamClosedError):
                await stream.connect()  # a stream connects once

    run(main())


def test_close_while_the_first_connect_waits_for_its_login_opens_nothing_more() -> None:
    async def silent(peer: Peer) -> None:
        await peer.ws.wait_closed()

    async def main() -> None:
        async with ScriptedServer(silent) as srv:
            orders = OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/s"), budget=roomy_budget())
            connecting = asyncio.create_task(orders.connect())
            await until(lambda: srv.counts.open_by_path["/s"] == 1)
            await orders.close()
            with pytest.raises(StreamClosedError):
                await connecting
            await srv.settle()
            assert len(srv.counts.accepts) == 1 and stream_tasks() == []

    run(main())


def test_without_reconnect_a_drop_fails_the_stream_once() -> None:
    async def drop_after_login(peer: Peer) -> None:
        login = await peer.recv_json()
        await peer.send_json(reply("ws_api_success", login["request_id"]))
        await peer.ws.close(1001)

    async def main() -> None:
        async with ScriptedServer(drop_after_login) as srv:
            orders = OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/s"), reconnect=None, timeout=1)
            await orders.connect()
            await until(lambda: orders.state is StreamState.FAILED)
            with pytest.raises(StreamClosedError, match="1001"):
                await orders.new_order(**ORDER)  # refused at once: nothing sent
            assert orders.unresolved_orders == ()
            await orders.close()
            await srv.settle()
            assert len(srv.counts.accepts) == 1

    run(main())


def test_without_reconnect_the_408_notice_fails_the_market_stream_and_closes_its_socket() -> None:
    async def linger(peer: Peer) -> None:
        await peer.send_json(WS["disconnect_408"])
        await peer.ws.wait_closed()  # only the client's close ends it

    async def main() -> None:
        async with ScriptedServer(linger) as srv:
            stream = MarketStream(url=srv.url("/m"), reconnect=None)
            await stream.connect()
            with pytest.raises(StreamClosedError, match="408"):
                await anext(stream)
            assert stream.state is StreamState.FAILED
            await srv.settle()  # the client closed the socket the server kept open
            assert [e async for e in stream] == []
            await stream.close()

    run(main())


# --- frames that must not kill anything ------------------------------------------------------------------------


def deep_frame(levels: int = 200_000) -> str:
    return "[" * levels + "]" * levels


def test_no_frame_kills_the_order_stream_reader() -> None:
    """Not JSON, too deep (RecursionError in json), wrong shapes: logged and counted; the next answer arrives."""
    bad = [*WS["malformed_order"], deep_frame()]

    async def script(peer: Peer) -> None:
        login = await peer.recv_json()
        await peer.send_json(reply("ws_api_success", login["request_id"]))
        command = await peer.recv_json()
        for text in bad:
            await peer.ws.send(text)
        await peer.send_json(reply("ws_api_accepted", command["request_id"]))
        await peer.send_json(reply("ws_api_success", command["request_id"]))
        await peer.ws.wait_closed()

    async def main() -> None:
        async with (
            ScriptedServer(script) as srv,
            OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/s"), timeout=5) as orders,
        ):
            result = await orders.new_order(**ORDER)
            assert result.accepted and result.response.code == 0
            assert orders.bad_frames == len(bad)
            assert orders.reconnects == 0 and orders.state is StreamState.OPEN
            assert len(srv.counts.accepts) == 1

    run(main())


def test_no_frame_escapes_the_market_stream_untyped() -> None:
    from standx_client import ResponseDecodeError

    bad = [*WS["malformed_market"], deep_frame()]

    async def script(peer: Peer) -> None:
        for text in bad:
            await peer.ws.send(text)
        await peer.send_json(WS["price"])
        await peer.ws.wait_closed()

    async def main() -> None:
        async with ScriptedServer(script) as srv, MarketStream(url=srv.url("/s")) as stream:
            for _ in bad:
                with pytest.raises(ResponseDecodeError) as error:
                    await anext(stream)
                assert error.value.status_code == 101 and len(error.value.body) <= 2000
            event = await anext(stream)
            assert isinstance(event, StreamMessage) and event.channel == "price"

    run(main())


# --- the budget across streams ---------------------------------------------------------------------------------


def test_the_per_ip_limits_hold_across_twelve_concurrent_streams() -> None:
    """12 streams on one budget of 10 concurrent / 30 new per window: 2 are refused (typed, nothing opened);
    the 10 others are dropped again and again and reopen within the window, counted by the server."""
    window = 0.5
    dropped = 0

    async def script(peer: Peer) -> None:
        nonlocal dropped
        if peer.path.startswith("/m"):
            await peer.recv_json()
            await peer.send_json(WS["auth_ok"])
        else:
            login = await peer.recv_json()
            await peer.send_json(reply("ws_api_success", login["request_id"]))
        await asyncio.sleep(0.002)
        dropped += 1
        await peer.ws.close(1012)

    async def main() -> None:
        budget = ConnectionBudget(ConnectionLimits(max_open=10, max_new=30, window=window))
        async with ScriptedServer(script) as srv:
            streams: list[MarketStream | OrderStream] = []
            for i in range(12):
                options: dict[str, Any] = {"reconnect": RetryPolicy(attempts=100, base=0.001, cap=0.002)}
                options["budget"] = budget
                if i % 2:
                    streams.append(OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url(f"/o{i}"), **options))
                else:
                    streams.append(MarketStream(jwt=JWT, url=srv.url(f"/m{i}"), **options))
            opened, refused = [], []
            for stream in streams:
                try:
                    await stream.connect()
                    opened.append(stream)
                except ConnectionLimitError as error:
                    assert error.limit == 10
                    refused.append(stream)
            assert len(opened) == 10 and len(refused) == 2
            assert all(s.state is StreamState.NEW for s in refused)

            async def consume(stream: MarketStream) -> None:
                async for _ in stream:
                    pass

            consumers = [asyncio.create_task(consume(s)) for s in opened if isinstance(s, MarketStream)]
            await until(lambda: dropped >= 100, timeout=30)
            for stream in opened:
                await stream.close()
            await asyncio.gather(*consumers)
            await srv.settle()
            # A closed stream gives its slot back: a refused one can connect now.
            await refused[0].connect()
            await refused[0].close()
        counts = srv.counts
        assert counts.max_open_total <= 10
        assert set(counts.max_by_path.values()) == {1}
        assert srv.max_new_in_window(window) <= 30
        assert len(counts.accepts) >= 100  # it did wait for the window rather than stop

    run(main(), timeout=60)


# --- the 408 notice, liveness, subscriptions during a reopening ------------------------------------------------


def test_the_408_notice_reopens_both_streams() -> None:
    async def script(peer: Peer) -> None:
        if peer.path == "/m":
            await peer.recv_json()
            await peer.send_json(WS["auth_ok"])
        else:
            login = await peer.recv_json()
            await peer.send_json(reply("ws_api_success", login["request_id"]))
        if peer.number == 1:
            await peer.send_json(WS["disconnect_408"])  # the exchange disconnects next; here it lingers
        elif peer.path == "/m":
            await peer.send_json(WS["price"])
        await peer.ws.wait_closed()

    async def main() -> None:
        async with ScriptedServer(script) as srv:
            async with (
                MarketStream(jwt=JWT, url=srv.url("/m"), reconnect=FAST) as market,
                OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/o"), reconnect=FAST) as orders,
            ):
                event = await anext(market)
                assert isinstance(event, Reconnected) and "408" in event.reason and "Pong" in event.reason
                assert isinstance(await anext(market), StreamMessage)
                await until(lambda: orders.reconnects == 1)
            assert set(srv.counts.max_by_path.values()) == {1}

    run(main())


def test_a_silent_connection_is_noticed_by_client_pings_and_reopened() -> None:
    second = asyncio.Event()

    async def script(peer: Peer) -> None:
        if peer.number == 1:
            peer.ws.transport.pause_reading()  # pings go unanswered
            await second.wait()
            peer.ws.transport.resume_reading()  # so that this side notices the client is gone
        else:
            second.set()
        await peer.ws.wait_closed()

    async def main() -> None:
        async with (
            ScriptedServer(script) as srv,
            MarketStream(url=srv.url("/m"), ping_interval=0.02, ping_timeout=0.02, open_timeout=0.2) as stream,
        ):
            event = await anext(stream)
            assert isinstance(event, Reconnected) and "1011" in event.reason  # keepalive ping timeout
        assert len(srv.counts.accepts) == 2

    run(main())


def test_subscribing_during_a_reopening_sends_every_subscription_once() -> None:
    release = asyncio.Event()
    sent: dict[int, list[dict[str, Any]]] = {}

    async def script(peer: Peer) -> None:
        await peer.recv_json()
        if peer.number == 2:
            await release.wait()  # hold the auth reply: the stream is mid-reopening
        await peer.send_json(WS["auth_ok"])
        frames = sent.setdefault(peer.number, [])
        if peer.number == 1:
            frames.append(await peer.recv_json())
            await peer.ws.close(1012)
            return
        async for message in peer.ws:
            frames.append(json.loads(message))

    async def main() -> None:
        async with ScriptedServer(script) as srv, MarketStream(jwt=JWT, url=srv.url("/m"), reconnect=FAST) as stream:
            await stream.subscribe("price", "BTC-USD")
            reading = asyncio.create_task(anext(stream))
            await until(lambda: srv.counts.connections_by_path["/m"] == 2)
            await asyncio.gather(*(stream.subscribe("depth_book", s) for s in ("BTC-USD", "ETH-USD")))
            await stream.unsubscribe("price", "BTC-USD")
            await stream.subscribe("public_trade", "BTC-USD")
            release.set()
            assert isinstance(await reading, Reconnected)
            await stream.subscribe("price", "ETH-USD")  # open again: sent at once
            await until(lambda: len(sent.get(2, [])) == 4)
        assert sent[2] == [
            {"subscribe": {"channel": "depth_book", "symbol": "BTC-USD"}},
            {"subscribe": {"channel": "depth_book", "symbol": "ETH-USD"}},
            {"subscribe": {"channel": "public_trade", "symbol": "BTC-USD"}},
            {"subscribe": {"channel": "price", "symbol": "ETH-USD"}},
        ]

    run(main())


def test_subscribe_after_close_is_a_typed_error() -> None:
    async def script(peer: Peer) -> None:
        await peer.ws.wait_closed()

    async def main() -> None:
        async with ScriptedServer(script) as srv:
            async with MarketStream(url=srv.url("/m")) as stream:
                pass
            with pytest.raises(StreamClosedError, match="closed"):
                await stream.subscribe("price", "BTC-USD")
            assert [e async for e in stream] == []

    run(main())


# --- order outcomes: notes, the unresolved ledger --------------------------------------------------------------


def test_a_cancelled_new_order_carries_its_cl_ord_id_and_stays_unresolved_until_its_answer_arrives() -> None:
    held: list[str] = []
    answer = asyncio.Event()

    async def script(peer: Peer) -> None:
        login = await peer.recv_json()
        await peer.send_json(reply("ws_api_success", login["request_id"]))

        async def answer_the_first() -> None:
            await answer.wait()  # the answer comes after the caller gave up
            await peer.send_json(reply("ws_api_success", held[0]))

        answering = asyncio.create_task(answer_the_first())
        async for message in peer.ws:
            held.append(json.loads(message)["request_id"])
        answering.cancel()

    async def main() -> None:
        async with (
            ScriptedServer(script) as srv,
            OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/o"), timeout=5) as orders,
        ):
            with pytest.raises(TimeoutError) as timed_out:
                await asyncio.wait_for(orders.new_order(**ORDER), 0.1)
            (order,) = orders.unresolved_orders
            cancelled = timed_out.value.__cause__  # wait_for's TimeoutError chains the CancelledError
            assert isinstance(cancelled, asyncio.CancelledError)
            assert any(f"cl_ord_id={order.cl_ord_id} was sent" in note for note in cancelled.__notes__)
            assert (order.symbol, order.side, order.qty, order.price) == ("BTC-USD", "buy", Decimal("0.1"), 50000)
            assert (order.operation, order.reason, order.request["cl_ord_id"]) == (
                "order:new",
                "cancelled",
                order.cl_ord_id,
            )
            assert order.sent_at < order.settles_at

            task = asyncio.create_task(orders.new_order(**ORDER))
            await until(lambda: len(held) == 2)  # sent, waiting for its answer
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as cancelled_call:
                await task
            _first, second = orders.unresolved_orders
            (note,) = cancelled_call.value.__notes__
            assert f"cl_ord_id={second.cl_ord_id} was sent and its outcome is unknown (cancelled)" in note
            with pytest.raises(StandXValidationError, match="outcome is unknown"):  # not sent twice meanwhile
                await orders.new_order(**{**ORDER, "cl_ord_id": second.cl_ord_id})
            assert len(held) == 2

            answer.set()  # the late answer settles the first one; the second stays unknown
            await until(lambda: len(orders.unresolved_orders) == 1)
            assert orders.unresolved_orders == (second,)
            assert orders.settle_unresolved("no-such-id") is None

    run(main())


def test_a_lost_answer_is_recorded_and_settled_by_the_caller() -> None:
    async def script(peer: Peer) -> None:
        login = await peer.recv_json()
        await peer.send_json(reply("ws_api_success", login["request_id"]))
        if peer.number == 1:
            await peer.recv_json()
            await peer.ws.close(1011)  # the answer is lost with the connection
        await peer.ws.wait_closed()

    async def main() -> None:
        async with (
            ScriptedServer(script) as srv,
            OrderStream(jwt=JWT, signing_key=SEED_HEX, url=srv.url("/o"), reconnect=FAST) as orders,
        ):
            with pytest.raises(OrderStatusUnknownError) as lost:
                await orders.new_order(**ORDER)
            (order,) = orders.unresolved_orders
            assert (order.cl_ord_id, order.reason) == (lost.value.cl_ord_id, "connection lost")
            assert lost.value.settles_at == order.settles_at
            assert orders.settle_unresolved(order.cl_ord_id) == order
            assert orders.unresolved_orders == ()

    run(main())


def test_a_stream_sharing_the_clients_ledger_guards_both_paths() -> None:
    """`OrderStream(ledger=client.ledger)`: an order lost on the stream is in the HTTP client's ledger, so the
    client refuses to send its id again (nothing sent) and `resolve_all` settles it; and the other way round."""

    async def script(peer: Peer) -> None:
        login = await peer.recv_json()
        await peer.send_json(reply("ws_api_success", login["request_id"]))
        if peer.number == 1:
            await peer.recv_json()
            await peer.ws.close(1011)  # the answer is lost with the connection
        await peer.ws.wait_closed()

    sent: list[httpx.Request] = []

    def exchange(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        found = DOC_EXAMPLES["query_order"]["response"]
        return httpx.Response(200, json={**found, "cl_ord_id": request.url.params["cl_ord_id"]})

    async def main() -> None:
        client = AsyncStandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(exchange))
        async with (
            ScriptedServer(script) as srv,
            OrderStream(
                jwt=JWT, signing_key=SEED_HEX, url=srv.url("/o"), reconnect=FAST, ledger=client.ledger
            ) as orders,  # fmt: skip
        ):
            with pytest.raises(OrderStatusUnknownError) as lost:
                await orders.new_order(**ORDER)
            cl_ord_id = lost.value.cl_ord_id
            assert [e.cl_ord_id for e in client.unresolved_orders] == [cl_ord_id]
            with pytest.raises(StandXValidationError, match="outcome is unknown"):
                await client.new_order(**{**ORDER, "cl_ord_id": cl_ord_id})
            assert sent == []
            (found,) = await client.resolve_all()
            assert isinstance(found, OrderFound) and found.order.cl_ord_id == cl_ord_id
            assert orders.unresolved_orders == () and [r.url.path for r in sent] == ["/api/query_order"]
        await client.aclose()

    run(main())


def test_subscriptions_changed_while_the_set_up_sends_them_are_all_settled() -> None:
    """White box: the set-up's sends yield to other tasks (as a send does when the socket buffer is full); a
    task that subscribes and unsubscribes meanwhile must not break the loop (no "dictionary changed size
    during iteration") and the socket ends up subscribed to exactly the current set, each once."""

    class YieldingSocket:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        async def send(self, message: bytes, text: bool) -> None:
            assert text, "commands go out in text frames"
            self.sent.append(json.loads(message))
            await asyncio.sleep(0)  # the other task runs here

    async def main() -> None:
        stream = MarketStream(url="ws://127.0.0.1:9/m")
        for symbol in ("BTC-USD", "ETH-USD", "XAU-USD"):
            await stream.subscribe("price", symbol)  # not connected: recorded only
        socket = YieldingSocket()

        async def meddle() -> None:
            while not socket.sent:
                await asyncio.sleep(0)
            await stream.subscribe("depth_book", "BTC-USD")
            await stream.unsubscribe("price", "ETH-USD")
            await stream.subscribe("public_trade", "XAG-USD")

        meddling = asyncio.create_task(meddle())
        stream._arm_age_limit = lambda ws: None  # type: ignore[method-assign]  # no timer for a fake socket
        await stream._setup(socket)  # type: ignore[arg-type]
        await meddling
        subscribed: set[tuple[str, str]] = set()
        for frame in socket.sent:
            ((verb, ref),) = frame.items()
            key = (ref["channel"], ref["symbol"])
            if verb == "subscribe":
                assert key not in subscribed
                subscribed.add(key)
            else:
                subscribed.remove(key)
        assert subscribed == {("price", "BTC-USD"), ("price", "XAU-USD"), ("depth_book", "BTC-USD"),
                              ("public_trade", "XAG-USD")}  # fmt: skip

    run(main())


_NOT_LISTENING = "ws://127.0.0.1:9/stream"  # nothing is opened: the options are refused first


@pytest.mark.parametrize(
    ("cls", "option", "value"),
    [
        (MarketStream, "open_timeout", -1),
        (MarketStream, "open_timeout", "5"),
        (MarketStream, "max_age", float("nan")),
        (MarketStream, "ping_interval", 0),
        (MarketStream, "ping_timeout", float("inf")),
        (MarketStream, "reconnect", 3),
        (MarketStream, "budget", 10),
        (MarketStream, "jwt", b"token"),
        (OrderStream, "timeout", 0),
        (OrderStream, "timeout", True),
        (OrderStream, "settle_margin", -0.5),
        (OrderStream, "session_id", 7),
        (OrderStream, "ledger", []),
        (OrderStream, "jwt", None),
    ],
)
def test_bad_stream_options_are_refused_when_the_stream_is_made(cls: type, option: str, value: object) -> None:
    """A mistyped or out-of-range option is a `ValidationError` naming it, before any socket (not a hang, a
    busy loop or a TypeError at the first reconnect)."""
    base: dict[str, object] = {"jwt": JWT, "signing_key": SEED_HEX} if cls is OrderStream else {}
    with pytest.raises(StandXValidationError) as refused:
        cls(**{**base, "url": _NOT_LISTENING, option: value})
    assert (refused.value.operation, refused.value.field) == ("stream", option)


def test_a_sync_stream_with_a_bad_option_leaves_no_thread_behind() -> None:
    import threading

    from standx_client.streams import SyncMarketStream

    before = threading.active_count()
    with pytest.raises(StandXValidationError, match="open_timeout"):
        SyncMarketStream(url=_NOT_LISTENING, open_timeout=-1)
    assert threading.active_count() == before


def test_pings_can_be_turned_off_and_timeouts_given_as_ints() -> None:
    stream = OrderStream(jwt=JWT, signing_key=SEED_HEX, url=_NOT_LISTENING, ping_interval=None, ping_timeout=None,
                         timeout=3, settle_margin=0)  # fmt: skip
    assert stream.state.value == "new"
