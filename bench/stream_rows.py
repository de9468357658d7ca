"""Stream rows: MarketStream and OrderStream.new_order next to bare `websockets`, on the same frames, over loopback.

The server (`ws_server.py`) runs in a subprocess, so the measure is this process's CPU time
(`time.process_time_ns`) per frame or per order: the client's own work, unaffected by the server's speed
or by how the two processes are scheduled. Floor and client alternate round by round (harness).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import itertools
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import nacl.signing
from harness import Row, Settings, Stats, _interleaved, fmt_ratio, fmt_time, progress, ratio, verdict
from standx_client import streams as streams_module
from standx_client._decode import UntypedFrame
from standx_client.models import StreamPrice
from standx_client.streams import MarketStream, OrderStream, StreamMessage
from websockets.asyncio.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent
BATCH = 500  # price frames per sample call
DOCS: dict[str, Any] = json.loads((HERE.parent / "tests" / "fixtures" / "doc_examples.json").read_text("utf-8"))
ORDER: dict[str, Any] = dict(DOCS["new_order"]["request"])  # the docs' example, as a hand-written client sends it
ORDER_KWARGS = {**ORDER, "qty": Decimal(ORDER["qty"]), "price": Decimal(ORDER["price"])}
# A quoting bot moves its price: every order of the run gets the next of these (a new object each time, for the
# floor as text and for the client as a Decimal), so nothing the client remembers about its last price helps.
PRICES = [Decimal(ORDER["price"]) + step for step in range(997)]
SEED = bytes(range(32))
JWT = "bench.jwt.token"
SESSION = "bench-session"


def _cpu_timers(runner: asyncio.Runner, variants: dict[str, Callable[[], Awaitable[object]]]) -> dict[str, Any]:
    """Timers for the harness: CPU nanoseconds of this process for n awaited calls, gc off."""

    def timer(fn: Callable[[], Awaitable[object]]) -> Callable[[int], int]:
        async def calls(n: int) -> int:
            start = time.process_time_ns()
            for _ in range(n):
                await fn()
            return time.process_time_ns() - start

        def run(n: int) -> int:
            gc.collect()
            gc.disable()
            try:
                return runner.run(calls(n))
            finally:
                gc.enable()

        return run

    return {name: timer(fn) for name, fn in variants.items()}


async def _connect(url: str) -> ClientConnection:
    return await connect(url, max_size=2**24)  # the client's own settings (streams open with the same)


class _Server:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "ws_server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the bench WebSocket server did not start: {line!r}")
        self.base = f"ws://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


class _Feed:
    """A MarketStream on the feed: each subscribe or unsubscribe (a message to the server) brings a batch."""

    def __init__(self, runner: asyncio.Runner, url: str) -> None:
        self.stream = MarketStream(url=url)
        runner.run(self.stream.connect())
        self.subscribed = False

    async def batch(self) -> None:
        if self.subscribed:
            await self.stream.unsubscribe("price", "BTC-USD")
        else:
            await self.stream.subscribe("price", "BTC-USD")
        self.subscribed = not self.subscribed
        for _ in range(BATCH):
            await self.stream.__anext__()  # what `async for event in stream` calls


_plain = msgspec.json.Decoder().decode


def _untyped(raw: str | bytes) -> UntypedFrame:
    """A frame decoded to a plain dict (floats and all): what the stream costs without typed models."""
    frame = _plain(raw)
    return UntypedFrame(seq=frame["seq"], data=frame["data"], symbol=frame.get("symbol"), channel=frame["channel"])


def _feed_rows(runner: asyncio.Runner, server: _Server, settings: Settings) -> list[Row]:
    url = f"{server.base}/feed/{BATCH}"
    raw = runner.run(_connect(url))
    typed, untyped = _Feed(runner, url), _Feed(runner, url)

    async def floor() -> None:
        await raw.send("go")
        for _ in range(BATCH):
            json.loads(await raw.recv())

    async def without_models() -> None:
        """The same stream with the typed decode swapped for a plain dict decode (bench only)."""
        saved = streams_module.market_frame
        streams_module.market_frame = _untyped
        try:
            await untyped.batch()
        finally:
            streams_module.market_frame = saved

    async def check() -> None:
        await typed.stream.subscribe("price", "BTC-USD")
        event = await typed.stream.__anext__()
        assert isinstance(event, StreamMessage) and isinstance(event.data, StreamPrice)
        assert isinstance(event.data.mark_price, Decimal)
        for _ in range(BATCH - 1):
            await typed.stream.__anext__()
        typed.subscribed = True

    runner.run(check())
    try:
        timers = _cpu_timers(runner, {"floor": floor, "client": typed.batch, "untyped": without_models})
        stats = _interleaved(timers, settings.loop_repeats, 0.3, settings.loop_sample_s)
    finally:
        runner.run(raw.close())
        runner.run(typed.stream.close())
        runner.run(untyped.stream.close())
    per_frame = {name: s.map(lambda ns: ns / BATCH) for name, s in stats.items()}
    value = ratio(per_frame["client"], per_frame["floor"])
    machinery = ratio(per_frame["untyped"], per_frame["floor"])
    area = "streams, loopback (CPU)"
    return [
        Row(area, "price frames: bare `websockets` `recv()` + `json.loads`", _rate(per_frame["floor"]), "", "floor"),
        Row(
            area,
            "price frames: **MarketStream** iteration, typed `StreamPrice` with exact Decimals",
            _rate(per_frame["client"]),
            f"{fmt_ratio(value, 1.3)} floor",
            f"≤ 1.30x floor: {verdict(value <= 1.3)}",
        ),
        Row(
            area,
            "price frames: MarketStream iteration with frames decoded to plain dicts (no models; bench only)",
            _rate(per_frame["untyped"]),
            f"{fmt_ratio(machinery)} floor",
            "information",
        ),
    ]


def _order_rows(runner: asyncio.Runner, server: _Server, settings: Settings) -> list[Row]:
    url = f"{server.base}/orders"
    nacl_key = nacl.signing.SigningKey(SEED)
    raw = runner.run(_connect(url))
    runner.run(raw.send(json.dumps({"session_id": SESSION, "request_id": "login", "method": "auth:login",
                                    "params": json.dumps({"token": JWT})})))  # fmt: skip
    runner.run(raw.recv())
    orders = OrderStream(jwt=JWT, signing_key=SEED, url=url, session_id=SESSION)
    runner.run(orders.connect())

    prices = itertools.cycle(PRICES)

    async def floor() -> object:
        body = json.dumps({**ORDER, "price": str(next(prices))}, separators=(",", ":"))
        request_id = str(uuid.uuid4())
        timestamp = str(time.time_ns() // 1_000_000)
        signature = nacl_key.sign(f"v1,{request_id},{timestamp},{body}".encode()).signature
        header = {
            "x-request-id": request_id,
            "x-request-timestamp": timestamp,
            "x-request-signature": base64.b64encode(signature).decode(),
        }
        envelope = {"session_id": SESSION, "request_id": request_id, "method": "order:new", "header": header,
                    "params": body}  # fmt: skip
        await raw.send(json.dumps(envelope, separators=(",", ":")))
        while True:
            frame = json.loads(await raw.recv())
            if frame.get("status") != "accepted":
                return frame

    encode, decode = msgspec.json.Encoder().encode, msgspec.json.Decoder().decode

    async def fast_floor() -> object:
        """The floor with msgspec for the JSON both ways, as the client has (bench only)."""
        body = encode({**ORDER, "price": str(next(prices))})
        request_id = str(uuid.uuid4())
        timestamp = str(time.time_ns() // 1_000_000)
        signature = nacl_key.sign(b"v1,%s,%s,%s" % (request_id.encode(), timestamp.encode(), body)).signature
        header = {
            "x-request-id": request_id,
            "x-request-timestamp": timestamp,
            "x-request-signature": base64.b64encode(signature).decode(),
        }
        envelope = {"session_id": SESSION, "request_id": request_id, "method": "order:new", "header": header,
                    "params": body.decode()}  # fmt: skip
        await raw.send(encode(envelope), text=True)
        while True:
            frame = decode(await raw.recv(decode=False))
            if frame.get("status") != "accepted":
                return frame

    async def client() -> object:
        return await orders.new_order(**{**ORDER_KWARGS, "price": Decimal(next(prices))})

    checked = streams_module.prepare(streams_module.OPERATIONS["new_order"], ORDER_KWARGS, {})

    async def unchecked() -> object:
        """The same call with the argument checks (`prepare`) replaced by their result (bench only)."""
        streams_module.prepare = lambda *args: checked
        try:
            return await orders.new_order(**{**ORDER_KWARGS, "price": Decimal(next(prices))})
        finally:
            streams_module.prepare = prepare

    prepare = streams_module.prepare
    first = runner.run(client())
    assert first.accepted and first.response.code == 0  # type: ignore[attr-defined]
    try:
        variants = {"floor": floor, "client": client, "unchecked": unchecked, "fast floor": fast_floor}
        timers = _cpu_timers(runner, variants)
        stats = _interleaved(timers, settings.loop_repeats, 0.3, settings.loop_sample_s)
    finally:
        runner.run(raw.close())
        runner.run(orders.close())
    value = ratio(stats["client"], stats["floor"])
    without_checks = ratio(stats["unchecked"], stats["floor"])
    against_fast = ratio(stats["client"], stats["fast floor"])
    area = "streams, loopback (CPU)"
    return [
        Row(
            area,
            "order:new: floor (compact JSON, PyNaCl signature, send, await the answer on the socket)",
            fmt_time(stats["floor"]),
            "",
            "floor",
        ),
        Row(
            area,
            "order:new: **`OrderStream.new_order`** (validated, `cl_ord_id`, signed at send time, typed answer)",
            fmt_time(stats["client"]),
            f"{fmt_ratio(value, 1.2)} floor",
            f"≤ 1.20x floor: {verdict(value <= 1.2)}",
        ),
        Row(
            area,
            "order:new: `OrderStream.new_order` with the argument checks left out (`prepare`'s result; bench only)",
            fmt_time(stats["unchecked"]),
            f"{fmt_ratio(without_checks)} floor",
            "information",
        ),
        Row(
            area,
            "order:new: the floor with msgspec for the JSON both ways, as the client has (bench only)",
            fmt_time(stats["fast floor"]),
            f"client: {fmt_ratio(against_fast)} this",
            "information",
        ),
    ]


def _rate(per_frame_ns: Stats) -> str:
    """CPU per frame and the frames per second one core would decode at that cost."""
    return f"{fmt_time(per_frame_ns)} ({1e9 / per_frame_ns.median:,.0f} frames/s)"


def stream_rows(settings: Settings) -> list[Row]:
    progress("streams (loopback WebSocket server in a subprocess)")
    server = _Server()
    try:
        with asyncio.Runner() as runner:
            rows = _feed_rows(runner, server, settings)
            rows += _order_rows(runner, server, settings)
    finally:
        server.stop()
    return rows
