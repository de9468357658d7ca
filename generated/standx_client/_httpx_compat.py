# Copied from overlays/_httpx_compat.py by `make generate`. Do not edit here: edit overlays/_httpx_compat.py.
"""The one private httpx API the client uses, behind a guard: which transport a URL goes to.

The request path (`_base._send`) hands each request straight to the transport httpx itself would pick for its
URL (the one given to the client, or httpx's pool, with any proxy from HTTPS_PROXY/NO_PROXY), skipping
`httpx.Client.send`'s redirect, auth and cookie steps, which the client does not use. httpx has no public API
for that lookup; `Client._transport_for_url(url)` (httpx 0.28) is it. Should a future httpx drop or change
it, the client falls back to the public `Client.send` (the same request, a little slower) instead of
breaking, and tests/unit/test_httpx_compat.py fails with a message saying so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx


def _private_lookup(cls: type[Any]) -> Callable[[Any, httpx.URL], Any] | None:
    """`cls._transport_for_url` if it is still a method taking one URL, else None."""
    lookup = getattr(cls, "_transport_for_url", None)
    if not inspect.isfunction(lookup):
        return None
    try:
        parameters = list(inspect.signature(lookup).parameters)
    except (TypeError, ValueError):
        return None
    return lookup if parameters == ["self", "url"] else None


SYNC_LOOKUP = _private_lookup(httpx.Client)
ASYNC_LOOKUP = _private_lookup(httpx.AsyncClient)


class _ViaSend(httpx.BaseTransport):
    """The fallback: the public `Client.send` (redirects stay off: the client is built without them)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request)


class _AsyncViaSend(httpx.AsyncBaseTransport):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request)


def transport_for(client: httpx.Client, url: httpx.URL) -> httpx.BaseTransport:
    """The transport `client` would send a request for `url` through."""
    if SYNC_LOOKUP is not None:
        transport: httpx.BaseTransport = SYNC_LOOKUP(client, url)
        return transport
    return _ViaSend(client)


def async_transport_for(client: httpx.AsyncClient, url: httpx.URL) -> httpx.AsyncBaseTransport:
    """The transport `client` would send a request for `url` through."""
    if ASYNC_LOOKUP is not None:
        transport: httpx.AsyncBaseTransport = ASYNC_LOOKUP(client, url)
        return transport
    return _AsyncViaSend(client)
