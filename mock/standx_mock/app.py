"""The Starlette application: spec-driven dispatch of StandX operations plus `/mock/*` test endpoints."""

from __future__ import annotations

import asyncio
import http
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from .auth import AuthError, JwtIssuer, TokenClaims, bearer_token, decode_public_key, verify_body_signature
from .config import FaultConfig, MockConfig
from .engine import Engine, EngineError
from .faults import (
    FAULT_HEADER,
    FaultHeaderInvalid,
    FaultInjector,
    FaultPlan,
    html_error_page,
    malformed_body,
    truncate,
)
from .handlers import HANDLERS, Context, PlainText
from .signin import SignInService
from .spec import Operation, RequestInvalid, Spec, SpecError, load_spec_document
from .util import dumps
from .ws import MARKET_PATH, ORDERS_PATH, StreamHub, market_stream, order_stream

logger = logging.getLogger("standx_mock")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]
#: ASGI scope extension set by `standx_mock.server.FaultTolerantH11Protocol`: aborts the TCP connection.
ABORT_EXTENSION = "standx_mock.abort_connection"


class DroppedConnection(Exception):
    """Raised when a `drop` fault runs on a server without the abort hook (e.g. in-process ASGI)."""


class RateLimiter:
    """The documented per-account credit bucket: 45 credits per request, 1000/s refill, 900 burst."""

    COST = 45.0
    REFILL = 1000.0
    CAPACITY = 900.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._clock = clock

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self._clock()
        level, last = self._buckets.get(key, (self.CAPACITY, now))
        level = min(self.CAPACITY, level + (now - last) * self.REFILL)
        if level < self.COST:
            self._buckets[key] = (level, now)
            return (self.COST - level) / self.REFILL
        self._buckets[key] = (level - self.COST, now)
        return 0.0


class MockState:
    """Everything one app instance owns."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        doc, digest = load_spec_document(config.spec_path, config.spec_sha256, config.verify_spec_hash)
        self.spec = Spec(doc, digest)
        missing = sorted(op.operation_id for op in self.spec.operations if op.operation_id not in HANDLERS)
        if missing:
            raise SpecError(f"the spec has operations the mock does not implement: {', '.join(missing)}")
        for op in self.spec.operations:
            for alternative in op.security:
                kinds = {self.spec.security_schemes[name] for name in alternative}
                if "signature" in kinds and "bearer" not in kinds:
                    raise SpecError(f"{op.operation_id}: a body signature needs the bearer JWT in the same requirement")
        self.engine = Engine(config)
        self.jwt = JwtIssuer()
        self.signin = SignInService(config, self.engine, self.jwt)
        self.faults = FaultInjector(config.faults, config.seed)
        self.rate_limiter = RateLimiter()
        self.stats: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.response_errors: list[str] = []
        self.ws = StreamHub(self)
        self._seed_market_maker()

    def _seed_market_maker(self) -> None:
        if self.config.market_maker:
            for sym in self.config.symbols:
                self.engine.seed_market_maker(
                    sym.symbol, self.config.market_maker_levels, self.config.market_maker_spread
                )

    def reset(self, keep_accounts: bool = True) -> None:
        """Fresh exchange state (and fault RNG), counters cleared; accounts kept unless asked otherwise."""
        self.engine.reset(keep_accounts=keep_accounts)
        self.faults.configure(self.faults.config)
        self.reset_counters()
        self._seed_market_maker()

    def reset_counters(self) -> None:
        self.faults.reset_counts()
        self.stats.clear()
        self.by_operation.clear()
        self.by_status.clear()
        self.response_errors.clear()

    # ------------------------------------------------------------------ auth

    def authenticate(self, op: Operation, headers: Mapping[str, str], body: bytes) -> str | None:
        """The user the request acts for (None for public operations); AuthError -> 401."""
        if not op.security:
            return None
        first_error: AuthError | None = None
        for alternative in op.security:
            try:
                return self._check_alternative(alternative, headers, body)
            except AuthError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def verify_token(self, token: str) -> TokenClaims:
        """The claims of a valid JWT of an existing account (HTTP bearer and WebSocket logins); AuthError otherwise."""
        claims = self.jwt.verify(token)
        if claims.user not in self.engine.accounts:
            raise AuthError("missing or invalid token")
        return claims

    def _check_alternative(self, alternative: tuple[str, ...], headers: Mapping[str, str], body: bytes) -> str | None:
        kinds = [self.spec.security_schemes[name] for name in alternative]
        claims: TokenClaims | None = None
        if "bearer" in kinds:
            claims = self.verify_token(bearer_token(headers.get("authorization")))
        if "signature" in kinds:
            assert claims is not None
            verify_body_signature(dict(headers), body, claims.public_key, window_ms=self.config.timestamp_window_ms)
        return claims.user if claims else None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {520: "Web Server Returned an Unknown Error"}.get(status, "Error")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=dict(headers or {}))


def admin_json(body: Any, status: int = 200) -> Response:
    """Test-support endpoints: plain JSON (floats allowed, Decimals as strings)."""
    return Response(
        json.dumps(body, default=str, separators=(",", ":")).encode(), status_code=status, media_type="application/json"
    )


def error_response(status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"code": status, "message": message, "request_id": request_id}, status, headers)


class DropResponse(Response):
    """Closes the connection without sending anything."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        if abort is None:
            raise DroppedConnection("drop fault: the server has no connection-abort hook")
        abort()
        for _ in range(3):  # let the transport's connection_lost run, so uvicorn sends no 500
            await asyncio.sleep(0)


def fault_response(plan: FaultPlan, request_id: str, executed: Response | None) -> Response:
    kind = plan.kind
    if kind == "drop":
        return DropResponse()
    if kind in ("error", "error_html"):
        status = plan.status or 500
        if kind == "error_html":
            return Response(html_error_page(status, _phrase(status)), status_code=status, media_type="text/html")
        return error_response(status, f"{_phrase(status)} (injected fault)", request_id)
    if kind == "rate_limit":
        return error_response(
            429, "Too Many Requests - Rate limit exceeded", request_id, {"Retry-After": str(plan.retry_after)}
        )
    if kind == "malformed":
        return Response(malformed_body(request_id), status_code=200, media_type="application/json")
    if kind == "truncated":
        if executed is not None:
            return Response(
                truncate(bytes(executed.body)),
                status_code=executed.status_code,
                media_type=executed.media_type or "application/json",
            )
        full = dumps({"code": 0, "message": "success", "request_id": request_id})
        return Response(truncate(full), status_code=200, media_type="application/json")
    raise AssertionError(f"unknown fault kind {kind}")


async def dispatch(request: Request) -> Response:
    state: MockState = request.app.state.mock
    request_id = str(uuid.uuid4())
    path = request.url.path
    methods = state.spec.match(path)
    if methods is None:
        return error_response(404, f"Not Found - no operation at {path}", request_id)
    op = methods.get(request.method)
    if op is None:
        allow = ", ".join(sorted(methods))
        return error_response(
            405, f"method {request.method} is not allowed on {path} (allowed: {allow})", request_id, {"Allow": allow}
        )
    state.stats["requests"] += 1
    state.by_operation[op.operation_id] += 1
    try:
        plan = state.faults.plan(op.operation_id, request.headers.get(FAULT_HEADER))
    except FaultHeaderInvalid as exc:
        return error_response(400, f"invalid {FAULT_HEADER} header: {exc}", request_id)
    try:
        body = await request.body()  # the request has arrived: it runs even if the client hangs up from now on
    except ClientDisconnect:
        logger.info("client hung up before its %s request arrived whole; not executed", op.operation_id)
        return Response(status_code=499)
    if plan.latency > 0 and plan.when == "before":  # slow to execute: lands after a client that gave up
        await asyncio.sleep(plan.latency)
    if plan.kind is not None and plan.when == "before":
        response = fault_response(plan, request_id, None)
    else:
        response = await execute(state, op, request, body, request_id)
        if plan.latency > 0 and plan.when == "after":  # executed, the answer is slow
            await asyncio.sleep(plan.latency)
        if plan.kind is not None:
            response = fault_response(plan, request_id, response)
    state.by_status[str(response.status_code) if plan.kind != "drop" else "dropped"] += 1
    state.ws.publish()
    if plan.latency > 0 and await request.is_disconnected():
        logger.info("client hung up before the %s answer (%d) was sent", op.operation_id, response.status_code)
    return response


async def execute(state: MockState, op: Operation, request: Request, body: bytes, request_id: str) -> Response:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        try:
            user = state.authenticate(op, headers, body)
        except AuthError as exc:
            return _checked(state, op, error_response(401, str(exc), request_id))
        try:
            validated = state.spec.validate_request(
                op, request.query_params.multi_items(), headers, headers.get("content-type"), body
            )
        except RequestInvalid as exc:
            return _checked(state, op, error_response(400, str(exc), request_id))
        impersonate = validated.headers.get("x-impersonate")
        if impersonate is not None:
            return _checked(
                state,
                op,
                error_response(
                    403, f"Forbidden - the caller does not own vault {impersonate} (the mock has no vaults)", request_id
                ),
            )
        if state.config.rate_limit:
            wait = state.rate_limiter.take(user or (request.client.host if request.client else "?"))
            if wait > 0:
                retry = str(max(1, int(wait + 0.999)))
                return _checked(
                    state,
                    op,
                    error_response(429, "Too Many Requests - Rate limit exceeded", request_id, {"Retry-After": retry}),
                )
        ctx = Context(
            engine=state.engine,
            config=state.config,
            op=op,
            query=validated.query,
            body=validated.body,
            headers=validated.headers,
            user=user,
            request_id=request_id,
            signin=state.signin,
        )
        try:
            result = HANDLERS[op.operation_id](ctx)
        except EngineError as exc:
            return _checked(state, op, error_response(exc.status, exc.message, request_id))
        session_id = validated.headers.get("x-session-id")
        if session_id is not None and ctx.order is not None and user is not None:
            state.ws.notify_session(session_id, user, request_id, ctx.order)
        if isinstance(result, PlainText):
            response = Response(result.text, media_type="text/plain")
        else:
            response = json_response(result)
        return _checked(state, op, response)
    except Exception as exc:  # keep the server up and make the bug visible to the client
        logger.exception("mock handler for %s failed", op.operation_id)
        return error_response(500, f"mock internal error in {op.operation_id}: {exc!r}", request_id)


def _checked(state: MockState, op: Operation, response: Response) -> Response:
    """Optionally validate the response against the spec; a mismatch becomes a 500 naming the problem."""
    if not state.config.validate_responses:
        return response
    media = (response.media_type or "").split(";")[0].strip()
    raw = bytes(response.body)
    body: Any = raw.decode("utf-8")
    if media == "application/json":
        body = json.loads(raw)
    errors = state.spec.response_errors(op, response.status_code, media, body)
    if not errors:
        return response
    message = f"mock response for {op.operation_id} ({response.status_code}) violates the spec: {'; '.join(errors[:5])}"
    logger.error(message)
    state.response_errors.append(message)
    return error_response(500, message, "response-validation")


# ---------------------------------------------------------------------- /mock admin endpoints


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise EngineError(f"invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise EngineError("the body must be a JSON object")
    return data


def _admin(fn: Any) -> Any:
    async def wrapper(request: Request) -> Response:
        state: MockState = request.app.state.mock
        try:
            return await fn(request, state)  # type: ignore[no-any-return]
        except (EngineError, ValueError) as exc:
            status = exc.status if isinstance(exc, EngineError) else 400
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            return error_response(status, message, str(uuid.uuid4()))
        finally:
            state.ws.publish()  # mark price, market maker, funding, reset: the streams see it

    wrapper.__name__ = fn.__name__
    return wrapper


@_admin
async def admin_credentials(request: Request, state: MockState) -> Response:
    data = await _json_body(request)
    public_key = data.get("public_key")
    if not isinstance(public_key, str):
        raise EngineError("public_key (base58 ed25519 public key) is required")
    try:
        decode_public_key(public_key)
    except ValueError as exc:
        raise EngineError(f"invalid public_key: {exc}") from None
    lifetime = data.get("expires_seconds", state.config.jwt_lifetime_s)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool):
        raise EngineError("expires_seconds must be an integer")
    existing = data.get("user")
    if existing is not None:
        acct = state.engine.account(str(existing))
        acct.public_keys.append(public_key)
    else:
        balance = data.get("balance")
        try:
            amount = None if balance is None else Decimal(str(balance))
        except InvalidOperation:
            raise EngineError("balance must be a decimal") from None
        acct = state.engine.create_account(public_key, amount)
    token = state.jwt.issue(user=acct.user, address=acct.address, public_key=public_key, lifetime_s=lifetime)
    return json_response({"token": token, "user": acct.user})


@_admin
async def admin_orders(request: Request, state: MockState) -> Response:
    user = request.query_params.get("user")
    symbol = request.query_params.get("symbol")
    with state.engine.lock:
        orders = sorted(state.engine.orders.values(), key=lambda o: o.id)
        result = [
            state.engine.order_json(o)
            for o in orders
            if (user is None or o.user == user) and (symbol is None or o.symbol == symbol)
        ]
    return json_response({"result": result, "total": len(result)})


@_admin
async def admin_reset(request: Request, state: MockState) -> Response:
    data = await _json_body(request)
    keep = data.get("keep_accounts", True)
    if not isinstance(keep, bool):
        raise EngineError("keep_accounts must be a boolean")
    state.reset(keep_accounts=keep)
    return json_response({"code": 0, "message": "reset"})


@_admin
async def admin_stats(request: Request, state: MockState) -> Response:
    faults = dict(state.faults.counts)
    return admin_json(
        {
            "requests": state.stats["requests"],
            "orders_created": state.engine.orders_created,
            "faults": faults,
            "faults_total": sum(v for k, v in faults.items() if k != "latency"),
            "faults_when": dict(state.faults.when_counts),
            "by_operation": dict(state.by_operation),
            "by_status": dict(state.by_status),
            "response_validation_errors": list(state.response_errors),
            "spec_sha256": state.spec.sha256,
        }
    )


@_admin
async def admin_faults(request: Request, state: MockState) -> Response:
    if request.method == "POST":
        data = await _json_body(request)
        state.faults.configure(FaultConfig.from_mapping(data))
    elif request.method == "DELETE":
        state.faults.configure(FaultConfig())
    return admin_json(state.faults.config.to_dict())


@_admin
async def admin_market_maker(request: Request, state: MockState) -> Response:
    data = await _json_body(request)
    symbols = [str(data["symbol"])] if data.get("symbol") is not None else [s.symbol for s in state.config.symbols]
    levels = data.get("levels", state.config.market_maker_levels)
    if not isinstance(levels, int) or isinstance(levels, bool):
        raise EngineError("levels must be an integer")
    try:
        spread = Decimal(str(data.get("spread", state.config.market_maker_spread)))
    except InvalidOperation:
        raise EngineError('spread must be a decimal string such as "0.0002"') from None
    placed = 0
    for symbol in symbols:
        placed += len(state.engine.seed_market_maker(symbol, levels, spread))
    return json_response({"code": 0, "message": "success", "orders": placed, "user": state.engine.market_maker_user})


@_admin
async def admin_mark_price(request: Request, state: MockState) -> Response:
    data = await _json_body(request)
    try:
        price = Decimal(str(data.get("price")))
    except InvalidOperation:
        raise EngineError("price must be a decimal string") from None
    state.engine.set_mark_price(str(data.get("symbol")), price)
    return json_response({"code": 0, "message": "success"})


@_admin
async def admin_funding(request: Request, state: MockState) -> Response:
    data = await _json_body(request)
    symbol = data.get("symbol")
    if symbol is not None:
        state.engine.symbol_config(str(symbol))
    entries = state.engine.settle_funding(None if symbol is None else str(symbol))
    return json_response({"code": 0, "message": "success", "payments": [state.engine.funding_json(e) for e in entries]})


@_admin
async def admin_ws_drop(request: Request, state: MockState) -> Response:
    return admin_json({"dropped": state.ws.drop()})


@_admin
async def admin_spec(request: Request, state: MockState) -> Response:
    return Response(state.config.spec_path.read_bytes(), media_type="application/yaml")


def create_app(config: MockConfig | None = None) -> Starlette:
    """Build the mock exchange. Raises SpecError when the spec is missing, altered or not fully served."""
    config = config or MockConfig()
    state = MockState(config)
    routes = [
        Route("/mock/credentials", admin_credentials, methods=["POST"]),
        Route("/mock/orders", admin_orders, methods=["GET"]),
        Route("/mock/reset", admin_reset, methods=["POST"]),
        Route("/mock/stats", admin_stats, methods=["GET"]),
        Route("/mock/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
        Route("/mock/market_maker", admin_market_maker, methods=["POST"]),
        Route("/mock/mark_price", admin_mark_price, methods=["POST"]),
        Route("/mock/funding", admin_funding, methods=["POST"]),
        Route("/mock/openapi.yaml", admin_spec, methods=["GET"]),
        Route("/mock/ws/drop", admin_ws_drop, methods=["POST"]),
        WebSocketRoute(MARKET_PATH, market_stream),
        WebSocketRoute(ORDERS_PATH, order_stream),
        Route("/{path:path}", dispatch, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.mock = state
    return app
