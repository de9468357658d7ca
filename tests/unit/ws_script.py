"""A scripted WebSocket server on loopback (not the project mock) that counts sockets on the server side.

Each connection runs `script(peer)`. The server counts TCP connections from accept to close (`open_total`,
`max_open_total`) and, once the handshake names the path, sockets per path (`open_by_path`, `max_by_path`):
a test gives every stream its own path, so "at most one socket per stream" is read off `max_by_path`.
Every accepted handshake is logged with its loop time (`accepts`), for window checks.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve


@dataclass
class Peer:
    """One server-side connection: its socket, path, and how many connections that path has had (1, 2, ...)."""

    ws: ServerConnection
    path: str
    number: int

    async def recv_json(self) -> dict[str, Any]:
        message = await self.ws.recv()
        if not isinstance(message, str):  # the exchange speaks JSON in text frames
            await self.ws.close(1003, "binary frames are not accepted")
            raise AssertionError(f"the client sent a binary frame: {message[:80]!r}")
        frame: dict[str, Any] = json.loads(message)
        return frame

    async def send_json(self, frame: Any) -> None:
        await self.ws.send(json.dumps(frame))


Script = Callable[[Peer], Awaitable[None]]


@dataclass
class Counts:
    open_total: int = 0
    max_open_total: int = 0
    open_by_path: Counter[str] = field(default_factory=Counter)
    max_by_path: Counter[str] = field(default_factory=Counter)
    connections_by_path: Counter[str] = field(default_factory=Counter)
    accepts: list[tuple[float, str]] = field(default_factory=list)


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.counts = Counts()
        self._server: Server | None = None
        self.port = 0

    def url(self, path: str = "/") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> ScriptedServer:
        counts = self.counts

        class Counting(ServerConnection):
            path: str | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                counts.open_total += 1
                counts.max_open_total = max(counts.max_open_total, counts.open_total)
                super().connection_made(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                counts.open_total -= 1
                if self.path is not None:
                    counts.open_by_path[self.path] -= 1
                super().connection_lost(exc)

        async def handler(ws: ServerConnection) -> None:
            assert isinstance(ws, Counting) and ws.request is not None
            path = ws.path = ws.request.path
            counts.open_by_path[path] += 1
            counts.max_by_path[path] = max(counts.max_by_path[path], counts.open_by_path[path])
            counts.connections_by_path[path] += 1
            counts.accepts.append((asyncio.get_running_loop().time(), path))
            try:
                await self.script(Peer(ws, path, counts.connections_by_path[path]))
            except Exception:  # the client went away mid-script: that is the client's business
                pass

        self._server = await serve(handler, "127.0.0.1", 0, create_connection=Counting, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until every socket is closed on the server side."""
        async with asyncio.timeout(timeout):
            while self.counts.open_total:
                await asyncio.sleep(0.005)

    def max_new_in_window(self, window: float) -> int:
        """The most handshakes the server accepted within any `window` seconds."""
        times = sorted(t for t, _ in self.counts.accepts)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())
