# Copied from overlays/_base.py by `make generate`. Do not edit here: edit overlays/_base.py.
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
import math
import os
import time
import types
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from importlib import import_module
from typing import Any, Generic, NamedTuple, Self, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from . import _json, models  # models: each loads on first use; `models.Order` keeps get_type_hints working
from ._httpx_compat import async_transport_for, transport_for
from ._ids import new_request_id
from ._operation import Operation
from ._tables import HOSTS
from ._validate import declared_headers, prepare
from .exceptions import (
    APIError,
    BadRequestError,
    ClientClosedError,
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
from .ledger import Ledger, OrderAbsent, OrderFound, OrderUnknown, Resolution, UnresolvedOrder
from .precision import SymbolRules
from .retry import IP_RATE_LIMIT, NO_RETRY, CreditBucket, RateLimit, RetryPolicy, ip_bucket
from .signing import SigningKey, signature_headers

T = TypeVar("T")
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)

# The spec's hosts (x-standx-hosts); each operation names the one it lives on.
DEFAULT_BASE_URL = HOSTS["perps"]
DEFAULT_GEO_URL = HOSTS["geo"]
DEFAULT_AUTH_URL = HOSTS["auth"]
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_RETRY = RetryPolicy()
DEFAULT_RATE_LIMIT = RateLimit()
#: Seconds after an order's attempt deadline during which it may still land (an assumption: see ledger.py).
DEFAULT_SETTLE_MARGIN = 2.0
Timeout = float | httpx.Timeout
# Connection never established: the request cannot have reached the exchange.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
Headers = list[tuple[str, str]]
# Lookups while an order is in flight: first after 0.05 s, doubling up to 1 s.
_RESOLVE_FIRST, _RESOLVE_CAP = 0.05, 1.0


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
    #: The client-generated id (new_order's cl_ord_id) when the outcome must be tracked, else None.
    tracked: str | None


_USER_AGENT = "standx-client-python"


def secure_url(where: str, name: str, url: object, default: str, secure: str = "https", plain: str = "http") -> str:
    """`url` on the `secure` scheme, or the `plain` one on loopback only (the local mock exchange); no query or
    fragment. Shared by the HTTP hosts and the WebSocket streams."""
    if not isinstance(url, str) or not url:
        raise ValidationError(where, name, f"must be a URL string such as {default!r}, got {url!r}")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError as exc:
        raise ValidationError(where, name, f"{url!r} is not a URL ({exc})") from None
    if parts.query or parts.fragment:
        raise ValidationError(where, name, f"{url!r} must not have a query or fragment")
    if (parts.scheme == secure and host) or (parts.scheme == plain and (host == "localhost" or _is_loopback(host))):
        return url.strip()
    article = "an" if secure == "https" else "a"
    raise ValidationError(where, name, f"{url!r} must be {article} {secure}:// URL (plain {plain} only for loopback)")


def _check_url(name: str, url: object, default: str) -> str:
    """An HTTP host: the host only, without the /api prefix every operation path starts with."""
    checked = secure_url("client", name, url, default).rstrip("/")
    if checked.endswith("/api"):
        raise ValidationError(
            "client", name, f"{url!r} ends in /api, which every operation path already starts with: "
            f"pass the host alone, such as {default!r}",
        )  # fmt: skip
    return checked


def _seconds(name: str, value: object, *, allow_zero: bool = False, where: str = "client") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise ValidationError(where, name, f"must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(where, name, f"must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
    return float(value)


def _check_timeout(name: str, value: object) -> httpx.Timeout:
    """A positive, finite timeout: a number of seconds for every phase, or an httpx.Timeout."""
    if isinstance(value, httpx.Timeout):
        for phase, seconds in value.as_dict().items():
            if seconds is None:  # no deadline: an order's outcome could stay unknown forever
                raise ValidationError("client", name, f"the {phase} timeout must be set (None never gives up)")
            _seconds(f"{name}.{phase}", seconds)
        return value
    return httpx.Timeout(_seconds(name, value))


def _check_option(name: str, value: object, kind: type, allow_none: bool = True, where: str = "client") -> None:
    if not (isinstance(value, kind) or (allow_none and value is None)):
        wanted = f"a {kind.__name__}" + (" or None" if allow_none else "")
        raise ValidationError(where, name, f"must be {wanted}, got {type(value).__name__}")


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
        claims = _json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError, binascii.Error):
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


class _ClientCore(Generic[TransportT]):
    """Configuration and the send-independent steps of a request, shared by `StandX` and `AsyncStandX`.

    Args:
        jwt: the access token from the StandX sign-in (sent as `Authorization: Bearer`).
        signing_key: the ed25519 key the JWT is bound to (base58 as the StandX web page exports it, hex,
            base64, a 32-byte seed or a 64-byte Solana secret key; or a `SigningKey`).
        base_url: the perps host, without `/api` (default `DEFAULT_BASE_URL`, the spec's). https only,
            except on loopback (the local mock exchange).
        geo_url: the geo host (`query_region`; default `DEFAULT_GEO_URL`).
        auth_url: the auth host (wallet sign-in; default `DEFAULT_AUTH_URL`).
        session_id: default `x-session-id` for the operations that take it (new_order, cancel_order), so
            their results are pushed on the order response stream with that session id.
        impersonate: default `x-impersonate` (vault owners act for a vault).
        timeout: seconds, or an `httpx.Timeout`, for each attempt (a retried call can take several); every
            method also takes `timeout=` for one call. It also bounds an order's in-flight window.
        total_timeout: seconds a whole call may take, retries and their backoff included (None: no budget).
            Each attempt's timeout is cut to what is left of it.
        retry: when and how reads (and, opted in, idempotent writes) are retried; None: never.
        rate_limit: the per-account credit bucket applied to authenticated calls, shared by every thread
            and task of this client; None: off. The default stays 10% under the documented figures.
        ip_rate_limit: the per-IP request limit applied to every call, shared by every client of the process
            on the same host; None: off. The default stays 10% under the documented figure.
        settle_margin: seconds after an order's attempt deadline during which it is still taken to be able to
            land; `resolve_order` answers `OrderAbsent` only after it (see the README's order safety).
        warn_before_expiry: seconds before the JWT's `exp` at which `TokenExpiringWarning` fires once.
        symbol_rules: symbol -> `SymbolRules` (tick, lot, size range): orders are checked against them before
            sending. `load_symbol_rules()` reads them from the exchange.
        transport: an httpx transport (tests pass `httpx.MockTransport`): `httpx.BaseTransport` for
            `StandX`, `httpx.AsyncBaseTransport` for `AsyncStandX`.
    """

    _transport_kind: type
    _http: httpx.Client | httpx.AsyncClient

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:  # a mistyped option's TypeError names the class called (StandX)
            init = _ClientCore.__init__
            named = types.FunctionType(init.__code__, init.__globals__, init.__name__, init.__defaults__)
            named.__kwdefaults__, named.__annotations__ = init.__kwdefaults__, init.__annotations__
            named.__doc__ = _ClientCore.__doc__  # the options, for help() and IDEs
            named.__module__, named.__qualname__ = cls.__module__, f"{cls.__qualname__}.__init__"
            setattr(cls, "__init__", named)  # noqa: B010

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
        total_timeout: float | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        ip_rate_limit: RateLimit | None = IP_RATE_LIMIT,
        settle_margin: float = DEFAULT_SETTLE_MARGIN,
        warn_before_expiry: float = 3600.0,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
        transport: TransportT | None = None,
    ) -> None:
        # Everything is checked here, so a wrong option fails now and names itself, not deep in a later call.
        _check_option("retry", retry, RetryPolicy)
        _check_option("rate_limit", rate_limit, RateLimit)
        _check_option("ip_rate_limit", ip_rate_limit, RateLimit)
        _check_option("session_id", session_id, str)
        _check_option("impersonate", impersonate, str)
        if not isinstance(symbol_rules, Mapping | None):
            raise ValidationError("client", "symbol_rules", "must map symbols to SymbolRules")
        if transport is not None and not isinstance(transport, self._transport_kind):
            raise ValidationError(
                "client", "transport", f"{type(self).__name__} needs an {self._transport_kind.__qualname__}, "
                f"got {type(transport).__name__}",
            )  # fmt: skip
        self._timeout = _check_timeout("timeout", timeout)
        self._timeout_ext = self._timeout.as_dict()
        self._total_timeout = None if total_timeout is None else _seconds("total_timeout", total_timeout)
        self._settle_margin = _seconds("settle_margin", settle_margin, allow_zero=True)
        self._warn_before_expiry = _seconds("warn_before_expiry", warn_before_expiry, allow_zero=True)
        # symbol -> tick, lot and size range: new orders are checked against them before sending
        # (`load_symbol_rules()` reads them from query_symbol_info; empty: no such check).
        self.symbol_rules: dict[str, SymbolRules] = dict(symbol_rules or {})
        self.set_credentials(jwt, signing_key)
        self._hosts = {
            "perps": _check_url("base_url", base_url, DEFAULT_BASE_URL),
            "geo": _check_url("geo_url", geo_url, DEFAULT_GEO_URL),
            "auth": _check_url("auth_url", auth_url, DEFAULT_AUTH_URL),
        }
        self._defaults = {"x-session-id": session_id, "x-impersonate": impersonate}
        self._retry = retry or NO_RETRY
        self._bucket = CreditBucket(rate_limit) if rate_limit is not None else None
        self._ip_buckets = (
            {name: ip_bucket(urlsplit(url).netloc, ip_rate_limit) for name, url in self._hosts.items()}
            if ip_rate_limit is not None
            else {}
        )
        self._urls: dict[str, httpx.URL] = {}  # parsed URLs: parsing is a third of httpx's per-request cost
        self._ledger = Ledger()
        self._closed = False
        self._http = self._make_http(transport)

    def _make_http(self, transport: TransportT | None) -> httpx.Client | httpx.AsyncClient:
        raise NotImplementedError

    @classmethod
    def from_env(
        cls,
        *,
        jwt: str | None = None,
        signing_key: SigningKey | str | bytes | None = None,
        base_url: str | None = None,
        geo_url: str | None = None,
        auth_url: str | None = None,
        session_id: str | None = None,
        impersonate: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        total_timeout: float | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        ip_rate_limit: RateLimit | None = IP_RATE_LIMIT,
        settle_margin: float = DEFAULT_SETTLE_MARGIN,
        warn_before_expiry: float = 3600.0,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
        transport: TransportT | None = None,
    ) -> Self:
        """A client configured from the environment: STANDX_JWT, STANDX_SIGNING_KEY, STANDX_BASE_URL,
        STANDX_GEO_URL, STANDX_AUTH_URL and STANDX_SESSION_ID. An argument given here wins over its variable;
        the other arguments are the constructor's."""
        env = os.environ
        return cls(
            jwt=jwt or env.get("STANDX_JWT"),
            signing_key=signing_key or env.get("STANDX_SIGNING_KEY"),
            base_url=base_url or env.get("STANDX_BASE_URL") or DEFAULT_BASE_URL,
            geo_url=geo_url or env.get("STANDX_GEO_URL") or DEFAULT_GEO_URL,
            auth_url=auth_url or env.get("STANDX_AUTH_URL") or DEFAULT_AUTH_URL,
            session_id=session_id or env.get("STANDX_SESSION_ID") or None,
            impersonate=impersonate, timeout=timeout, total_timeout=total_timeout, retry=retry,
            rate_limit=rate_limit, ip_rate_limit=ip_rate_limit, settle_margin=settle_margin,
            warn_before_expiry=warn_before_expiry, symbol_rules=symbol_rules, transport=transport,
        )  # fmt: skip

    def set_credentials(self, jwt: str | None, signing_key: SigningKey | str | bytes | None = None) -> None:
        """Use a new JWT (and the key it is bound to) from the next request on, e.g. after signing in again
        when `TokenExpiringWarning` fires; the connection pool and the rate-limit bucket are kept."""
        _check_option("jwt", jwt, str)
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

    @property
    def ledger(self) -> Ledger:
        """This client's unresolved orders; an `OrderStream(..., ledger=client.ledger)` shares it."""
        return self._ledger

    @property
    def unresolved_orders(self) -> tuple[UnresolvedOrder, ...]:
        """Orders whose outcome is unknown (lost answer, timeout, cancelled or interrupted call), soonest to
        settle first, until `resolve_order` or `resolve_all` settles them."""
        return self._ledger.snapshot()

    @property
    def is_closed(self) -> bool:
        return self._closed

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
        if self._closed:
            raise ClientClosedError(op.name)
        query, headers, body = prepare(op, values, self.symbol_rules)
        if op.auth:
            if not self._jwt:
                raise ValidationError(op.name, "jwt", "this operation needs a JWT: pass jwt= or set STANDX_JWT")
            if self._warn_at is not None and time.time() >= self._warn_at:
                self._check_expiry(op)
        if op.signed and self._key is None:
            raise ValidationError(op.name, "signing_key", "this operation is signed: pass the key bound to the JWT")
        tracked = None if op.generated is None or body is None else str(body[op.generated])
        self._ledger.refuse_resend(op.name, tracked, "settle it with resolve_order() first")
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
        content = None if body is None else _json.dumps(body)
        ext = self._timeout_ext if timeout is None else _check_timeout("timeout", timeout).as_dict()
        return _Prepared(op.method, url, headers, content, body, {"timeout": ext}, tracked)

    def _request(self, op: Operation, prepared: _Prepared, budget_end: float | None) -> httpx.Request:
        """One attempt's request: signed afresh (new request id and timestamp) when the operation is signed."""
        headers = prepared.headers
        if op.signed and self._key is not None:
            signature = signature_headers(
                self._key, prepared.content or b"", new_request_id(), time.time_ns() // 1_000_000
            )
            headers = headers + list(signature.items())
        extensions = prepared.extensions
        if budget_end is not None:  # each attempt gets at most what is left of the call's budget
            left = max(0.001, budget_end - time.monotonic())
            extensions = {"timeout": {k: min(v, left) for k, v in extensions["timeout"].items()}}
        return httpx.Request(prepared.method, prepared.url, headers=headers, content=prepared.content,
                             extensions=extensions)  # fmt: skip

    def _policy(self, op: Operation) -> RetryPolicy:
        if op.method == "GET" or (op.idempotent and self._retry.retry_writes):
            return self._retry
        return NO_RETRY

    def _wait_for_credits(self, op: Operation) -> float:
        """Seconds to wait so neither the per-IP limit nor the account's credit bucket is exceeded."""
        ip = self._ip_buckets.get(op.host)
        wait = ip.reserve() if ip is not None else 0.0
        if op.auth and self._bucket is not None:
            wait = max(wait, self._bucket.reserve())
        return wait

    def _budget_end(self) -> float | None:
        return None if self._total_timeout is None else time.monotonic() + self._total_timeout

    def _next_delay(
        self, op: Operation, policy: RetryPolicy, attempt: int, error: StandXError, budget_end: float | None
    ) -> float:
        """Seconds to wait before the next attempt; raises the error when it is final."""
        delay = policy.delay(attempt, error)
        if delay is None or (budget_end is not None and time.monotonic() + delay >= budget_end):
            raise error
        return delay

    @staticmethod
    def _settle_read(
        op: Operation, values: Mapping[str, object], attempt: int, error: StandXError
    ) -> tuple[Operation, dict[str, object]] | None:
        """The read that tells whether a retried write's refusal means an earlier attempt already did it
        (the spec's `x-standx-idempotent.settle`), or None. A first attempt's refusal is always real."""
        if op.settle is None or attempt < 2 or not isinstance(error, BadRequestError | NotFoundError):
            return None
        from ._operations import OPERATIONS

        read, params = op.settle[0], op.settle[1]
        return OPERATIONS[read], {name: values[name] for name in params if values.get(name) is not None}

    @staticmethod
    def _settled(op: Operation, state: Any, error: StandXError, parse: Callable[[Any], T]) -> T:
        assert op.settle is not None
        _, _, field, done, answer = op.settle
        if not isinstance(state, dict) or state.get(field) not in done:
            raise error  # the refusal stands: the earlier attempts did not do it either
        request_id = error.request_id if isinstance(error, APIError) else None
        return parse(_json.dumps({**answer, "request_id": request_id or ""}))

    def _outcome(self, op: Operation, prepared: _Prepared, exc: BaseException, sent_at: float) -> None:
        """A tracked call (new_order) ended without an answer: if the order may have reached the exchange,
        record it in the ledger and raise OrderStatusUnknownError (errors), or note the id (cancellation,
        KeyboardInterrupt: they propagate as themselves). Definite answers pass through untouched."""
        cl_ord_id = prepared.tracked
        assert cl_ord_id is not None and prepared.body is not None
        if isinstance(exc, StandXError) and not _lost(exc):
            return
        read = prepared.extensions["timeout"].get("read") or 0.0
        where = f"client.unresolved_orders: settle it with client.resolve_order({cl_ord_id!r})"
        settles_at = self._ledger.unknown(
            op.name, prepared.body, cl_ord_id, exc, sent_at, sent_at + read, self._settle_margin, where
        )
        if settles_at is not None and isinstance(exc, StandXError):
            raise OrderStatusUnknownError(op.name, cl_ord_id, exc, settles_at) from exc

    def _settles_at(self, cl_ord_id: str, sent_at: float | None) -> float:
        """When a lookup that does not find `cl_ord_id` proves it never landed."""
        entry = self._ledger.get(cl_ord_id)
        if entry is not None:
            return entry.settles_at
        # Not sent by this client (say, before a restart): assume it may have just been sent, unless told.
        start = time.time() if sent_at is None else sent_at
        return start + (self._timeout.read or 0.0) + self._settle_margin

    def _resolution(self, cl_ord_id: str, order: models.Order | None, asked_at: float, settles_at: float) -> Resolution:
        if order is not None:
            self._ledger.settle(cl_ord_id)
            return OrderFound(cl_ord_id, order)
        if asked_at >= settles_at:  # the lookup began after the window closed: the original cannot land now
            self._ledger.settle(cl_ord_id)
            return OrderAbsent(cl_ord_id)
        return OrderUnknown(cl_ord_id, settles_at, "still in flight: the original may yet land")

    def _send_error(self, op: Operation, exc: Exception) -> StandXError:
        """Any failure of sending or reading the answer, as a typed error (the cause is kept as __cause__)."""
        if isinstance(exc, StandXError):
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeoutError(f"{op.name}: timed out ({type(exc).__name__})", operation=op.name)
        if isinstance(exc, httpx.TransportError):
            return TransportError(f"{op.name}: {type(exc).__name__}: {exc}", operation=op.name)
        # httpx.DecodingError carries no status (see _read); anything else is unexpected but still a failure
        # to get an answer, never an untyped escape.
        return TransportError(f"{op.name}: no usable answer ({type(exc).__name__}: {exc})", operation=op.name)

    def _finish(
        self, op: Operation, response: httpx.Response, parse: Callable[[bytes], T], body: dict[str, object] | None
    ) -> T:
        if not 200 <= response.status_code < 300:
            raise self._api_error(op, response)
        content = response.content
        try:
            result = parse(content)  # the endpoint's parse_success: bytes -> typed model in one step (_decode.py)
        except Exception as exc:  # SpecMismatch names the field; whatever else broke on the body is as undecodable
            from ._decode import SpecMismatch, error_code  # loaded with the first decoder: keeps the import light

            if error_code(content):  # HTTP 200 with an error in the body, which is not the success shape
                raise self._api_error(op, response) from None
            what = str(exc) if isinstance(exc, SpecMismatch) else f"{type(exc).__name__}: {exc}"
            raise ResponseDecodeError(
                f"response does not match the spec: {what}",
                status_code=response.status_code,
                body=content,
                operation=op.name,
            ) from None
        code = getattr(result, "code", 0)
        if code.__class__ is int and code != 0:  # HTTP 200 with an error in the body, in the success shape
            raise self._api_error(op, response)
        if op.echo and body is not None:
            from .types import UNSET  # loaded with the models already

            for field, source in op.echo:  # e.g. the cl_ord_id new_order was sent with
                if getattr(result, field, None) is UNSET:
                    setattr(result, field, body.get(source))
        return result

    @staticmethod
    def _api_error(op: Operation, response: httpx.Response, data: Any = None) -> APIError:
        if data is None:
            try:
                data = _json.loads(response.content)
            except (ValueError, RecursionError):
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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._hosts['perps']!r}, jwt={'<set>' if self._jwt else None}, "
            f"signing_key={self._key!r})"
        )


def _raw(content: bytes) -> Any:
    """A settle read's answer as plain JSON (exact decimals): `_settled` looks at one field itself."""
    from ._decode import untyped

    return untyped(content)


def _lost(error: StandXError) -> bool:
    """The request may have executed although no usable answer came back."""
    if isinstance(error, TransportError):
        return not isinstance(error.__cause__, _NOT_SENT)  # set by `raise ... from exc`
    return isinstance(error, ResponseDecodeError) or (isinstance(error, APIError) and error.status_code >= 500)


def _read_error(response: httpx.Response, exc: httpx.DecodingError) -> ResponseDecodeError:
    encoding = response.headers.get("content-encoding", "identity")
    return ResponseDecodeError(
        f"the {encoding} body could not be decoded ({exc})", status_code=response.status_code, body=b""
    )


class SyncClientBase(_ClientCore[httpx.BaseTransport]):
    """Configuration shared by every `StandX` method (the arguments are documented on `_ClientCore`)."""

    _transport_kind = httpx.BaseTransport
    _http: httpx.Client

    def _make_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        # Owns the connection pool and the transport choice; requests bypass its send() (see _send).
        return httpx.Client(transport=transport, timeout=self._timeout, follow_redirects=False)

    def _send(self, request: httpx.Request) -> httpx.Response:
        # The transport httpx itself would use for this URL: the one given, or its pool (with any proxy from
        # HTTPS_PROXY/NO_PROXY); see _httpx_compat.
        response = transport_for(self._http, request.url).handle_request(request)
        try:
            response.read()
        except httpx.DecodingError as exc:  # e.g. Content-Encoding: gzip over a corrupt body
            raise _read_error(response, exc) from exc
        finally:
            response.close()
        return response

    def _call(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], T], timeout: Timeout | None = None
    ) -> T:
        prepared = self._prepare(op, values, timeout)
        policy = self._policy(op)
        budget_end = self._budget_end()
        attempt = 0
        sent_at = 0.0
        try:
            while True:
                attempt += 1
                wait = self._wait_for_credits(op)
                if wait:
                    time.sleep(wait)
                request = self._request(op, prepared, budget_end)
                sent_at = time.time()
                try:
                    try:
                        response = self._send(request)
                    except Exception as exc:
                        raise self._send_error(op, exc) from exc
                    return self._finish(op, response, parse, prepared.body)
                except (TransportError, APIError) as error:
                    read = self._settle_read(op, values, attempt, error)
                    if read is not None:  # a retried write may have met its own earlier success
                        return self._settled(op, self._call(*read, _raw), error, parse)
                    delay = self._next_delay(op, policy, attempt, error, budget_end)
                time.sleep(delay)
        except BaseException as exc:
            if prepared.tracked is not None:
                self._outcome(op, prepared, exc, sent_at)
            raise

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

    def _lookup(self, cl_ord_id: str) -> models.Order | None:
        from ._operations import OPERATIONS
        from .api.account.query_order import parse_success

        try:
            return self._call(OPERATIONS["query_order"], {"cl_ord_id": cl_ord_id}, parse_success)
        except NotFoundError:
            return None

    def resolve_order(self, cl_ord_id: str, *, wait: bool = True, sent_at: float | None = None) -> Resolution:
        """Settle an order whose outcome is unknown (`OrderStatusUnknownError`, or a cancelled call).

        Returns `OrderFound` (placed: do not resend), `OrderAbsent` (never landed and its in-flight window
        has passed: resend with the same `cl_ord_id` if you still want it) or `OrderUnknown` (the original
        may still land). While the order is in flight a lookup that does not find it proves nothing: with
        `wait=True` this polls with backoff until the order shows up or the window has passed; with
        `wait=False` it looks once. Found and absent orders leave `unresolved_orders`.

        `sent_at` (unix seconds) bounds the window of an id this client did not send (say, one a bot saved
        before a restart); without it such an id is taken as sent just now. Lookup errors raise.
        """
        settles_at = self._settles_at(cl_ord_id, sent_at)
        pause = _RESOLVE_FIRST
        while True:
            asked_at = time.time()
            result = self._resolution(cl_ord_id, self._lookup(cl_ord_id), asked_at, settles_at)
            if not wait or not isinstance(result, OrderUnknown):
                return result
            time.sleep(max(0.0, min(pause, settles_at - time.time())))
            pause = min(pause * 2, _RESOLVE_CAP)

    def resolve_all(self) -> list[Resolution]:
        """Settle every order in `unresolved_orders` (waiting out their in-flight windows). A lookup that
        fails leaves its order unresolved and answers `OrderUnknown` with the error as its reason."""
        results: list[Resolution] = []
        for entry in self._ledger.snapshot():
            try:
                results.append(self.resolve_order(entry.cl_ord_id))
            except StandXError as error:
                results.append(OrderUnknown(entry.cl_ord_id, entry.settles_at, f"lookup failed: {error}"))
        return results

    def close(self) -> None:
        """Close the connection pool. Later calls raise `ClientClosedError` and send nothing."""
        self._closed = True
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClientBase(_ClientCore[httpx.AsyncBaseTransport]):
    """Configuration shared by every `AsyncStandX` method (the arguments are documented on `_ClientCore`;
    `transport` is an `httpx.AsyncBaseTransport`)."""

    _transport_kind = httpx.AsyncBaseTransport
    _http: httpx.AsyncClient

    def _make_http(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # See SyncClientBase._send.
        response = await async_transport_for(self._http, request.url).handle_async_request(request)
        try:
            await response.aread()
        except httpx.DecodingError as exc:
            raise _read_error(response, exc) from exc
        finally:
            await response.aclose()
        return response

    async def _call(
        self, op: Operation, values: Mapping[str, object], parse: Callable[[Any], T], timeout: Timeout | None = None
    ) -> T:
        prepared = self._prepare(op, values, timeout)
        policy = self._policy(op)
        budget_end = self._budget_end()
        attempt = 0
        sent_at = 0.0
        try:
            while True:
                attempt += 1
                wait = self._wait_for_credits(op)
                if wait:
                    await _sleep_async(wait)
                request = self._request(op, prepared, budget_end)
                sent_at = time.time()
                try:
                    try:
                        response = await self._send(request)
                    except Exception as exc:
                        raise self._send_error(op, exc) from exc
                    return self._finish(op, response, parse, prepared.body)
                except (TransportError, APIError) as error:
                    read = self._settle_read(op, values, attempt, error)
                    if read is not None:  # a retried write may have met its own earlier success
                        return self._settled(op, await self._call(*read, _raw), error, parse)
                    delay = self._next_delay(op, policy, attempt, error, budget_end)
                await _sleep_async(delay)
        except BaseException as exc:
            if prepared.tracked is not None:
                self._outcome(op, prepared, exc, sent_at)
            raise

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

    async def _lookup(self, cl_ord_id: str) -> models.Order | None:
        from ._operations import OPERATIONS
        from .api.account.query_order import parse_success

        try:
            return await self._call(OPERATIONS["query_order"], {"cl_ord_id": cl_ord_id}, parse_success)
        except NotFoundError:
            return None

    async def resolve_order(self, cl_ord_id: str, *, wait: bool = True, sent_at: float | None = None) -> Resolution:
        """See `SyncClientBase.resolve_order`."""
        settles_at = self._settles_at(cl_ord_id, sent_at)
        pause = _RESOLVE_FIRST
        while True:
            asked_at = time.time()
            result = self._resolution(cl_ord_id, await self._lookup(cl_ord_id), asked_at, settles_at)
            if not wait or not isinstance(result, OrderUnknown):
                return result
            await _sleep_async(max(0.0, min(pause, settles_at - time.time())))
            pause = min(pause * 2, _RESOLVE_CAP)

    async def resolve_all(self) -> list[Resolution]:
        """See `SyncClientBase.resolve_all`; the orders are looked up concurrently."""

        async def one(entry: UnresolvedOrder) -> Resolution:
            try:
                return await self.resolve_order(entry.cl_ord_id)
            except StandXError as error:
                return OrderUnknown(entry.cl_ord_id, entry.settles_at, f"lookup failed: {error}")

        import asyncio

        return list(await asyncio.gather(*(one(entry) for entry in self._ledger.snapshot())))

    async def aclose(self) -> None:
        """Close the connection pool. Later calls raise `ClientClosedError` and send nothing."""
        self._closed = True
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
