"""Run the mock on a real loopback socket: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._tables import WEBSOCKET_PING_INTERVAL_SECONDS, WEBSOCKET_PONG_TIMEOUT_SECONDS
from .app import ABORT_EXTENSION, create_app
from .config import MockConfig
from .service import MockService


class FaultTolerantH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a scope extension that aborts the TCP connection.

    The `drop` fault calls it so the client sees the connection close without any response bytes
    (httpx: `RemoteProtocolError: Server disconnected without sending a response`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})[ABORT_EXTENSION] = self._abort_connection
            await inner(scope, receive, send)

        self.app = app

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def _abort_connection(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


class MockServer:
    """A uvicorn server for one mock app, bound to `config.host` (port 0 picks a free port)."""

    def __init__(self, config: MockConfig, *, port: int | None = None) -> None:
        self.config = config
        self.app: Starlette = create_app(config)
        self._port = config.port if port is None else port
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        self.base_url = ""

    @property
    def state(self) -> MockService:
        """The running mock's service (white box: `.exchange`, `.engine`, `.faults`, `.response_errors`)."""
        service: MockService = self.app.state.mock
        return service

    def _uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            host=self.config.host,
            port=self._port,
            http=FaultTolerantH11Protocol,
            ws="websockets-sansio",
            ws_ping_interval=WEBSOCKET_PING_INTERVAL_SECONDS,  # as the exchange pings
            ws_ping_timeout=WEBSOCKET_PONG_TIMEOUT_SECONDS,  # and gives up without a pong
            lifespan="on",  # the market ticker
            log_config=None,
            log_level=self.config.log_level,
            access_log=self.config.access_log,
            timeout_graceful_shutdown=2,
        )

    def start(self, timeout: float = 10.0) -> str:
        """Bind, start serving in a daemon thread, wait until /api/health answers; returns the base URL."""
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every response waits ~40 ms for a delayed ACK (headers and body are two writes).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self._port))
        sock.listen(2048)
        sock.setblocking(False)
        self._sock = sock
        port = sock.getsockname()[1]
        host = f"[{self.config.host}]" if family == socket.AF_INET6 else self.config.host
        self.base_url = f"http://{host}:{port}"
        self._server = uvicorn.Server(self._uvicorn_config())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"standx-mock:{port}", daemon=True
        )
        self._thread.start()
        self._wait_ready(timeout)
        return self.base_url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        path = "/api/health" if self.state.spec.match("/api/health") else "/mock/stats"
        last: Exception | None = None
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._thread is not None and not self._thread.is_alive():
                    raise RuntimeError("the mock server thread exited during start-up")
                try:
                    if client.get(self.base_url + path, headers={"x-mock-fault": "latency=0"}).status_code == 200:
                        self.state.reset_counters()
                        return
                except httpx.HTTPError as exc:
                    last = exc
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"the mock server did not answer {path} within {timeout} s: {last!r}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(config: MockConfig | None = None) -> tuple[str, Callable[[], None]]:
    """Start the mock on a free loopback port in a background thread: `(base_url, stop)`.

    The port in `config` is ignored (port 0 is used), so parallel test sessions never collide.
    """
    server = MockServer(config or MockConfig(), port=0)
    return server.start(), server.stop


@contextlib.contextmanager
def serve(config: MockConfig | None = None) -> Iterator[str]:
    """Context manager form of `run_in_thread`: yields the base URL, stops the server on exit."""
    base_url, stop = run_in_thread(config)
    try:
        yield base_url
    finally:
        stop()


@contextlib.contextmanager
def serve_server(config: MockConfig | None = None) -> Iterator[MockServer]:
    """Like `serve`, but yields the `MockServer` (with `.base_url`, `.state`, `.app`) for white-box tests."""
    server = MockServer(config or MockConfig(), port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_foreground(config: MockConfig, on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM (CLI)."""
    server = MockServer(config)
    stop_event = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop_event.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    base_url = server.start()
    on_ready(base_url)
    try:
        while not stop_event.wait(0.5):
            pass
    finally:
        server.stop()
        logging.getLogger("standx_mock").info("standx-mock stopped")


__all__ = ["FaultTolerantH11Protocol", "MockServer", "run_foreground", "run_in_thread", "serve", "serve_server"]
