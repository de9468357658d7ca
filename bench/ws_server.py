"""The loopback WebSocket server of the stream benchmarks, run as a subprocess so its CPU is never the client's.

    python bench/ws_server.py      # prints "port N" once listening, serves until stdin closes

- `/feed/<batch>`: after the handshake, each message received is answered with `batch` documented price frames
  (tests/fixtures/ws_examples.json, varying seq and prices) written to the socket in one go, so the client's
  receive loop is all there is to measure. Eight different batches rotate: 16 000 distinct decimal strings, so
  no value repeats within a run's reach.
- `/orders`: `auth:login` is answered with the documented success frame; every command with the documented
  `accepted` frame, then `success`, for its `request_id`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

ROOT = Path(__file__).resolve().parent.parent
WS: dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "ws_examples.json").read_text(encoding="utf-8"))
ROTATION = 8


def price_frame(n: int) -> str:
    frame = json.loads(json.dumps(WS["price"]))
    data = frame["data"]
    step = Decimal(n) / 100
    for field in ("index_price", "last_price", "mark_price", "mid_price"):
        data[field] = str(Decimal(data[field]) + step)
    data["spread"] = [str(Decimal(v) + step) for v in data["spread"]]
    frame["seq"] = n + 1
    return json.dumps(frame, separators=(",", ":"))


def ws_frame(text: str) -> bytes:
    """One unmasked server-to-client text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + data


async def handler(ws: ServerConnection) -> None:
    assert ws.request is not None
    path = ws.request.path
    if path.startswith("/feed/"):
        batch = int(path.rsplit("/", 1)[1])
        blobs = [b"".join(ws_frame(price_frame(k * batch + i)) for i in range(batch)) for k in range(ROTATION)]
        turn = 0
        async for _ in ws:
            ws.transport.write(blobs[turn % ROTATION])
            turn += 1
        return
    accepted, success = WS["ws_api_accepted"], WS["ws_api_success"]
    async for message in ws:
        command = json.loads(message)
        request_id = command["request_id"]
        if command["method"] != "auth:login":
            await ws.send(json.dumps({**accepted, "request_id": request_id}))
        await ws.send(json.dumps({**success, "request_id": request_id}))


async def main() -> None:
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


if __name__ == "__main__":
    asyncio.run(main())
