# Copied from overlays/_ws_sync.py by `make generate`. Do not edit here: edit overlays/_ws_sync.py.
"""The market stream for synchronous code: a `MarketStream` on an event loop in a background thread.

    with SyncMarketStream(jwt=jwt) as stream:
        stream.subscribe("price", "BTC-USD")
        for event in stream:                  # StreamMessage or Reconnected, as with `async for`
            ...

Same events, reconnects, errors and close semantics as `MarketStream`: each call runs the async method on the
stream's loop and waits for it. `close()` may come from any thread; an iteration blocked in another thread
then ends (StopIteration). Ctrl-C during a blocking call stops that call in the loop and propagates.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ._ws_connection import Reconnected, StreamState
from .exceptions import StreamClosedError

if TYPE_CHECKING:
    from .streams import MarketStream, StreamMessage

T = TypeVar("T")


async def _create(options: dict[str, Any]) -> MarketStream:
    from .streams import MarketStream

    return MarketStream(**options)  # built on its own loop


class SyncMarketStream:
    """`MarketStream` for synchronous code; takes the same keyword arguments. One background thread per stream."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="standx-market-stream", daemon=True)
        self._thread.start()
        self._calls: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.stream: MarketStream = self._call(_create(options))
        except BaseException:
            self._stop_loop()
            raise

    def __repr__(self) -> str:
        return f"Sync{self.stream!r}"

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the stream's loop and wait for it."""
        with self._lock:
            if self._loop.is_closed():
                work.close()
                raise StreamClosedError("the stream is closed")
            future = asyncio.run_coroutine_threadsafe(work, self._loop)
            self._calls.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise StreamClosedError("the stream is closed") from None
        except BaseException:
            future.cancel()  # Ctrl-C while waiting: stop the call on the loop too (no-op when it is done)
            raise
        finally:
            with self._lock:
                self._calls.discard(future)

    @property
    def state(self) -> StreamState:
        return self.stream.state

    @property
    def last_seq(self) -> int | None:
        return self.stream.last_seq

    @property
    def reconnects(self) -> int:
        return self.stream.reconnects

    def connect(self) -> None:
        self._call(self.stream.connect())

    def subscribe(self, channel: str, symbol: str | None = None) -> None:
        self._call(self.stream.subscribe(channel, symbol))

    def unsubscribe(self, channel: str, symbol: str | None = None) -> None:
        self._call(self.stream.unsubscribe(channel, symbol))

    def __enter__(self) -> Self:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> StreamMessage | Reconnected:
        try:
            return self._call(self.stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None
        except StreamClosedError:
            if self.stream.state is StreamState.CLOSED:
                raise StopIteration from None
            raise

    def close(self) -> None:
        """Close the stream (from any thread), let iterations in other threads end, and stop the loop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._call(self.stream.close())
        finally:
            with self._lock:
                others = list(self._calls)
            concurrent.futures.wait(others, timeout=10)  # a closed stream ends them (StopAsyncIteration)
            self._stop_loop()

    def _stop_loop(self) -> None:
        with self._lock:
            if self._loop.is_closed():
                return
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        with self._lock:
            self._loop.close()


__all__ = ["SyncMarketStream"]
