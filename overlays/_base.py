"""The one request path behind every facade method: check, build, sign, send, map errors, decode, type.

It is lean on purpose (market makers call it in hot loops): the URL prefix and the static headers are
prepared once per client and operation, the body is serialized once to the bytes that are signed and sent,
the signature comes from `signing.signature_headers` (the function `StandXAuth` uses), and the request goes
straight to the transport httpx would pick (user transport, or the pooled one with proxies from the
environment), skipping httpx.Client's redirect, auth, cookie and URL-merging machinery we do not use.

`_ClientCore` holds configuration and the send-independent steps; `SyncClientBase` and `AsyncClientBase`
differ only in how they send and wait.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Self, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from ._operation import Operation
from ._validate import declared_headers, prepare
from .exceptions import (
    APIError,
    NotFoundError,
    OrderStatusUnknownError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    StandXError,
    TokenExpiredError,
    TokenExpiringWarning,
    TransportError,
    ValidationError,
    error_class,
)
from .precision import SymbolRules
from .retry import NO_RETRY, CreditBucket, RateLimit, RetryPolicy
from .signing import SigningKey, signature_headers

if TYPE_CHECKING:
    from .models.order import Order

T = TypeVar("T")

DEFAULT_BASE_URL = "https://perps.standx.com"
DEFAULT_GEO_URL = "https://geo.standx.com"
DEFAULT_AUTH_URL = "https://api.standx.com"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_RETRY = RetryPolicy()
DEFAULT_RATE_LIMIT = RateLimit()
Timeout = float | httpx.Timeout
# Connection never established: the request cannot have reached the exchange.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
Headers = list[tuple[str, str]]


class Pages(NamedTuple):
    """An operation's `x-standx-pagination`: the cursor argument, the list field of a page (None: the body is
    the list), the item field the cursor takes, and the page-size argument."""

    cursor: str
    items: str | None
    key: str
    limit: str | None


def _page_items(page: object, pages: Pages) -> list[Any]:
    items = getattr(page, pages.items) if pages.items else page
    return items if isinstance(items, list) else []


def _next_cursor(items: list[Any], pages: Pages, values: Mapping[str, object], cursor: object) -> object:
    """The cursor for the next page, or None when this page was the last (empty, short, or not advancing)."""
    if not items:
        return None
    size = values.get(pages.limit) if pages.limit else None
    if isinstance(size, int) and len(items) < size:
        return None
    following = getattr(items[-1], pages.key, None)
    return None if following is None or following == cursor else following  # never loop on one page


class _Prepared(NamedTuple):
    """A checked call, ready to be signed and sent (again, on a retry)."""

    method: str
    url: httpx.URL
    headers: Headers
    content: bytes | None
    body: dict[str, object] | None
    extensions: dict[str, Any]


# One encoder for every body: json.dumps with arguments builds a new JSONEncoder on each call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_USER_AGENT = "standx-client-python"


def _check_url(name: str, url: str) -> str:
    """HTTPS only, except on loopback (the local mock exchange)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return url.rstrip("/")
    raise ValidationError("client", name, f"{url!r} must be an https:// URL (plain http only for loopback)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LazyParser(Generic[T]):
    """An endpoint module's `parse_success`, imported on first use (the facade would otherwise import every
    endpoint module and model when `standx_client` is imported)."""

    __slots__ = ("_fn", "_module", "_package")

    def __init__(self, module: str, package: str | None) -> None:
        self._module = module
        self._package = package
        self._fn: Callable[[Any], T] | None = None

    def __call__(self, data: Any) -> T:
        fn = self._fn
        if fn is None:
            fn = self._fn = import_module(self._module, self._package).parse_success
        return fn(data)


async def _sleep_async(seconds: float) -> None:
    import asyncio  # only async clients need it; importing it costs more than the rest of the client

    await asyncio.sleep(seconds)


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, decoded without verifying it (only its issuer can); None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def jwt_expiry(token: str) -> int | None:
    """The `exp` claim (unix seconds) of a JWT, read without verifying it."""
    exp = (jwt_claims(token) or {}).get("exp")
    return exp if isinstance(exp, int) and not isinstance(exp, bool) else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import email.utils  # an HTTP date instead of seconds: rare

        when = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, when.timestamp() - time.time()) if when else None


class _ClientCore:
    """Configuration and the send-independent steps of a request."""

    def __init__(
        self,
        *,
        jwt: str | None = None,
        signing_key: SigningKey | str | bytes | None = None,
        base_url: str = DEFAULT_BASE_URL,
        geo_url: str = DEFAULT_GEO_URL,
        auth_url: str = DEFAULT_AUTH_URL,
        session_id: str | None = None,
        impersonate: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        warn_before_expiry: float = 3600.0,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
    ) -> None:
        self._warn_before_expiry = warn_before_expiry
        # symbol -> tick, lot and size range: new orders are checked against them before sending
        # (`load_symbol_rules()` reads them from query_symbol_info; empty: no such check).
        self.symbol_rules: dict[str, SymbolRules] = dict(symbol_rules or {})
        self.set_credentials(jwt, signing_key)
        self._hosts = {
            "perps": _check_url("base_url", base_url),
            "geo": _check_url("geo_url", geo_url),
            "api": _check_url("auth_url", auth_url),
        }
        self._defaults = {"x-session-id": session_id, "x-impersonate": impersonate}
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retry = retry or NO_RETRY
        self._bucket = CreditBucket(rate_limit) if rate_limit is not None else None
        self._timeout_ext = self._timeout.as_dict()
        self._urls: dict[str, httpx.URL] = {}  # parsed URLs: parsing is a third of httpx's per-request cost

    @classmethod
    def _env_kwargs(cls) -> dict[str, Any]:
        env = os.environ
        kwargs: dict[str, Any] = {"jwt": env.get("STANDX_JWT"), "signing_key": env.get("STANDX_SIGNING_KEY")}
        for name, var in (("base_url", "STANDX_BASE_URL"), ("geo_url", "STANDX_GEO_URL"),
                          ("auth_url", "STANDX_AUTH_URL"), ("session_id", "STANDX_SESSION_ID")):  # fmt: skip
            if env.get(var):
                kwargs[name] = env[var]
        return kwargs

    def set_credentials(self, jwt: str | None, signing_key: SigningKey | str | bytes | None = None) -> None:
        """Use a new JWT (and the key it is bound to) from the next request on, e.g. after signing in again
        when `TokenExpiringWarning` fires; the connection pool and the rate-limit bucket are kept."""
        key = SigningKey.parse(signing_key) if signing_key is not None else None
        token = jwt.strip() if jwt else None
        expiry = jwt_expiry(token) if token else None
        self._jwt, self._key, self._jwt_exp = token, key, expiry
        self._warn_at = None if expiry is None else expiry - self._warn_before_expiry
        # operation -> (URL without query, fixed headers, header parameters it declares); the JWT is in them
        self._static: dict[str, tuple[str, Headers, frozenset[str]]] = {}

    @property
    def session_id(self) -> str | None:
        """The default `x-session-id` for operations that take it (new_order, cancel_order)."""
        return self._defaults["x-session-id"]

    @session_id.setter
    def session_id(self, value: str | None) -> None:
        self._defaults["x-session-id"] = value

    @property
    def signing_key(self) -> SigningKey | None:
        return self._key

    def _fixed(self, op: Operation) -> tuple[str, Headers, frozenset[str]]:
        """The URL without query, the headers that never change for `op` on this client, its header params."""
        static = self._static  # one table: set_credentials swaps it for a new one (after the new JWT is set)
        fixed = static.get(op.name)
        if fixed is None:
            headers = [("user-agent", _USER_AGENT)]
            if op.auth:
                headers.append(("authorization", f"Bearer {self._jwt}"))
            if op.has_body:
                headers.append(("content-type", "application/json"))
            fixed = static[op.name] = (self._hosts[op.host] + op.path, headers, declared_headers(op))
        return fixed

    def _check_expiry(self, op: Operation) -> None:
        assert self._jwt_exp is not None
        left = self._jwt_exp - time.time()
        if left <= 0:
            raise TokenExpiredError(op.name, self._jwt_exp)
        warnings.warn(f"the StandX JWT expires in {int(left)} s; sign in again", TokenExpiringWarning, stacklevel=5)
        self._warn_at = self._jwt_exp  # warn once; the next check is the expiry itself

    @property
    def token_expires_at(self) -> int | None:
        """The JWT's `exp` (unix seconds), when it has one."""
        return self._jwt_exp

    def _prepare(self, op: Operation, values: Mapping[str, object], timeout: Timeout | None) -> _Prepared:
        query, headers, body = prepare(op, values, self.symbol_rules)
        if op.auth:
            if not self._jwt:
                raise ValidationError(op.name, "jwt", "this operation needs a JWT: pass jwt= or set STANDX_JWT")
            if self._warn_at is not None and time.time() >= self._warn_at:
                self._check_expiry(op)
        if op.signed and self._key is None:
            raise ValidationError(op.name, "signing_key", "this operation is signed: pass the key bound to the JWT")
        text, fixed, declared = self._fixed(op)
        if query:
            text += "?" + urlencode(query)
        url = self._urls.get(text)
        if url is None:
            url = httpx.URL(text)
            if len(self._urls) < 1024:  # bots repeat a few URLs; never grow without bound
                self._urls[text] = url
        for name in declared:  # client-wide defaults (x-session-id, x-impersonate) unless given for this call
            default = self._defaults.get(name)
            if default and all(given != name for given, _ in headers):
                headers.append((name, default))
        headers += fixed
        # Serialized once: these exact bytes are signed and sent.
        content = None if body is None else _COMPACT_JSON(body).encode()
        if timeout is None:
            extensions = {"timeout": self._timeout_ext}
        else:
            extensions = {
                "timeout": (timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)).as_dict()
            }
        return _Prepared(op.method, url, headers, content, body, extensions)

    def _request(self, op: Operation, prepared: _Prepared) -> httpx.Request:
        """One attempt's request: signed afresh (new request id and timestamp) when the operation is signed."""
        headers = prepared.headers
        if op.signed and self._key is not None:
            signature = signature_headers(
                self._key, prepared.content or b"", str(uuid.uuid4()), time.time_ns() // 1_000_000
            )
            headers = headers + list(signature.items())
        return httpx.Request(
            prepared.method, prepared.url, headers=headers, content=prepared.content, extensions=prepared.extensions
        )

    def _policy(self, op: Operation) -> RetryPolicy:
        if op.method == "GET" or (op.idempotent and self._retry.retry_writes):
            return self._retry
        return NO_RETRY

    def _wait_for_credits(self, op: Operation) -> float:
        """Seconds to wait so the account's credit bucket is not exceeded (authenticated calls only)."""
        return self._bucket.reserve() if op.auth and self._bucket is not None else 0.0

    @staticmethod
    def _unknown_outcome(op: Operation, body: dict[str, object] | None, error: StandXError) -> StandXError:
        """For an operation with a client-generated id (new_order): lost answers become OrderStatusUnknownError."""
        generated = next((p.wire for p in op.params if "generate" in p.rule), None)
        if generated is None or body is None:
            return error
        lost = isinstance(error, TransportError) and not isinstance(error.__cause__, _NOT_SENT)  # set by `from exc`
        lost = (
            lost or isinstance(error, ResponseDecodeError) or (isinstance(error, APIError) and error.status_code >= 500)
        )
        return OrderStatusUnknownError(op.name, str(body[generated]), error) if lost else error

    def _next_delay(
        self, op: Operation, policy: RetryPolicy, attempt: int, error: StandXError, body: dict[str, object] | None
    ) -> float:
        """Seconds to wait before the next attempt; raises the error (or OrderStatusUnknownError) when done."""
        delay = policy.delay(attempt, error)
        if delay is not None:
            return delay
        final = self._unknown_outcome(op, body, error)
        if final is error:
            raise error
        raise final from error

    def _finish(
        self, op: Operation, response: httpx.Response, parse: Callable[[Any], T], body: dict[str, object] | None
    ) -> T:
        if not 200 <= response.status_code < 300:
            raise self._api_error(op, response)
        content = response.content
        data: Any
        try:
            data = content.decode("utf-8") if op.text else json.loads(content, parse_float=Decimal)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ResponseDecodeError(
                f"expected {'text' if op.text else 'JSON'}, got {len(content)} bytes of "
                f"{response.headers.get('content-type', 'no content type')}",
                status_code=response.status_code,
                body=content,
                operation=op.name,
            ) from None
        if isinstance(data, dict) and isinstance(data.get("code"), int) and data["code"] != 0:
            raise self._api_error(op, response, data)  # HTTP 200 with an error in the body
        if op.echo and isinstance(data, dict) and body is not None:
            for field, source in op.echo:  # e.g. the cl_ord_id new_order was sent with
                data.setdefault(field, body.get(source))
        try:
            return parse(data)
        except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            raise ResponseDecodeError(
                f"response does not match the spec: {type(exc).__name__}: {exc}",
                status_code=response.status_code,
                body=content,
                operation=op.name,
            ) from None

    @staticmethod
    def _api_error(op: Operation, response: httpx.Response, data: Any = None) -> APIError:
        if data is None:
            try:
                data = json.loads(response.content)
            except ValueError:
                data = None
        fields = data if isinstance(data, dict) else {}
        code = fields.get("code") if isinstance(fields.get("code"), int) else None
        message = fields.get("message")
        if not isinstance(message, str):
            message = response.reason_phrase or "error"
            if data is None and response.content:
                message += f" (non-JSON body, {len(response.content)} bytes)"
        request_id = fields.get("request_id")
        kwargs: dict[str, Any] = {
            "status_code": response.status_code,
            "code": code,
            "request_id": request_id if isinstance(request_id, str) else None,
            "body": response.content,
            "operation": op.name,
        }
        status = response.status_code if response.status_code != 200 else (code or 500)
        cls = error_class(status)
        if cls is RateLimitError:
            return RateLimitError(message, retry_after=_retry_after(response), **kwargs)
        return cls(message, **kwargs)

    @staticmethod
    def _transport_error(op: Operation, exc: httpx.TransportError) -> TransportError:
        if isinstance(exc, httpx.TimeoutException):
            error: TransportError = RequestTimeoutError(
                f"{op.name}: timed out ({type(exc).__name__})", operation=op.name
            )
        else:
            error = TransportError(f"{op.name}: {type(exc).__name__}: {exc}", operation=op.name)
        return error

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._hosts['perps']!r}, jwt={'<set>' if self._jwt else None}, "
            f"signing_key={self._key!r})"
        )


class SyncClientBase(_ClientCore):
    """Configuration shared by every `StandX` method.

    Args:
        jwt: the access token from the StandX sign-in (Authorization: Bearer).
        signing_key: the ed25519 key the JWT is bound to (base58, hex, base64, 32 or 64 bytes).
        base_url, geo_url, auth_url: the perps, geo (region) and auth hosts.
        session_id: default `x-session-id` for new_order and cancel_order.
        impersonate: default `x-impersonate` (vault owners).
        timeout: seconds, or an `httpx.Timeout`.
        transport: an `httpx.BaseTransport` (tests pass `httpx.MockTransport`).
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Owns the connection pool and the transport choice; requests bypass its send() (see _send).
        self._http = httpx.Client(transport=transport, timeout=self._timeout, follow_redirects=False)

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """STANDX_JWT, STANDX_SIGNING_KEY, STANDX_BASE_URL (and STANDX_GEO_URL, STANDX_SESSION_ID)."""
        return cls(**{**cls._env_kwargs(), **overrides})

    def _send(self, request: httpx.Request) -> httpx.Response:
        # The transport httpx itself would use for this URL: the one given, or its pool (with any proxy from
        # HTTPS_PROXY/NO_PROXY). `_transport_for_url` is httpx 0.28's mount lookup; httpx is pinned below 0.29.
        response = self._http._transport_for_url(request.url).handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def _call(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], T], timeout: Timeout | None = None
    ) -> T:
        prepared = self._prepare(op, values, timeout)
        policy = self._policy(op)
        attempt = 0
        while True:
            attempt += 1
            wait = self._wait_for_credits(op)
            if wait:
                time.sleep(wait)
            try:
                try:
                    response = self._send(self._request(op, prepared))
                except httpx.TransportError as exc:
                    raise self._transport_error(op, exc) from exc
                return self._finish(op, response, parse, prepared.body)
            except (TransportError, APIError) as error:
                delay = self._next_delay(op, policy, attempt, error, prepared.body)
            time.sleep(delay)

    def _pages(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], Any], timeout: Timeout | None,
        pages: Pages,
    ) -> Iterator[Any]:  # fmt: skip
        cursor: object = None
        while True:
            items = _page_items(self._call(op, {**values, pages.cursor: cursor}, parse, timeout), pages)
            yield from items
            cursor = _next_cursor(items, pages, values, cursor)
            if cursor is None:
                return

    def load_symbol_rules(self) -> dict[str, SymbolRules]:
        """Read every symbol's tick, lot and size range (query_symbol_info) and check new orders against them
        from now on, before sending. Call it again to refresh: the exchange changes tick sizes."""
        from ._operations import OPERATIONS
        from .api.market.query_symbol_info import parse_success

        infos = self._call(OPERATIONS["query_symbol_info"], {}, parse_success)
        self.symbol_rules = {info.symbol: SymbolRules.from_info(info) for info in infos}
        return self.symbol_rules

    def resolve_order(self, cl_ord_id: str) -> Order | None:
        """Settle an `OrderStatusUnknownError`: the order if the exchange has it, else None.

        None means the order never arrived: resend it with the same `cl_ord_id`. The exchange matches
        asynchronously, so wait a moment after the failure before asking.
        """
        from ._operations import OPERATIONS
        from .api.account.query_order import parse_success

        try:
            return self._call(OPERATIONS["query_order"], {"cl_ord_id": cl_ord_id}, parse_success)
        except NotFoundError:
            return None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClientBase(_ClientCore):
    """Configuration shared by every `AsyncStandX` method; the same arguments as `SyncClientBase`,
    with `transport` an `httpx.AsyncBaseTransport`."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False)

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """STANDX_JWT, STANDX_SIGNING_KEY, STANDX_BASE_URL (and STANDX_GEO_URL, STANDX_SESSION_ID)."""
        return cls(**{**cls._env_kwargs(), **overrides})

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # See SyncClientBase._send.
        response = await self._http._transport_for_url(request.url).handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _call(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], T], timeout: Timeout | None = None
    ) -> T:
        prepared = self._prepare(op, values, timeout)
        policy = self._policy(op)
        attempt = 0
        while True:
            attempt += 1
            wait = self._wait_for_credits(op)
            if wait:
                await _sleep_async(wait)
            try:
                try:
                    response = await self._send(self._request(op, prepared))
                except httpx.TransportError as exc:
                    raise self._transport_error(op, exc) from exc
                return self._finish(op, response, parse, prepared.body)
            except (TransportError, APIError) as error:
                delay = self._next_delay(op, policy, attempt, error, prepared.body)
            await _sleep_async(delay)

    async def _pages(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], Any], timeout: Timeout | None,
        pages: Pages,
    ) -> AsyncIterator[Any]:  # fmt: skip
        cursor: object = None
        while True:
            items = _page_items(await self._call(op, {**values, pages.cursor: cursor}, parse, timeout), pages)
            for item in items:
                yield item
            cursor = _next_cursor(items, pages, values, cursor)
            if cursor is None:
                return

    async def load_symbol_rules(self) -> dict[str, SymbolRules]:
        """See `SyncClientBase.load_symbol_rules`."""
        from ._operations import OPERATIONS
        from .api.market.query_symbol_info import parse_success

        infos = await self._call(OPERATIONS["query_symbol_info"], {}, parse_success)
        self.symbol_rules = {info.symbol: SymbolRules.from_info(info) for info in infos}
        return self.symbol_rules

    async def resolve_order(self, cl_ord_id: str) -> Order | None:
        """Settle an `OrderStatusUnknownError`: the order if the exchange has it, else None.

        None means the order never arrived: resend it with the same `cl_ord_id`. The exchange matches
        asynchronously, so wait a moment after the failure before asking.
        """
        from ._operations import OPERATIONS
        from .api.account.query_order import parse_success

        try:
            return await self._call(OPERATIONS["query_order"], {"cl_ord_id": cl_ord_id}, parse_success)
        except NotFoundError:
            return None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
