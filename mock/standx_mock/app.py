"""The Starlette application: StandX operations over HTTP (faults, then the one dispatch, then the
response checked against the spec), the two WebSocket endpoints, the `/mock/*` test endpoints, and the
ticker that runs the moving market while the server is up."""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from . import admin, dispatch
from .config import MockConfig
from .faults import FAULT_HEADER, FaultHeaderInvalid, FaultPlan, html_error_page, malformed_body, truncate
from .handlers import PlainText
from .responses import envelope, error_response, json_response
from .service import MockService
from .spec import Operation
from .util import dumps
from .ws import StreamHub, market_stream, order_stream

logger = logging.getLogger("standx_mock")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]
#: ASGI scope extension set by `standx_mock.server.FaultTolerantH11Protocol`: aborts the TCP connection.
ABORT_EXTENSION = "standx_mock.abort_connection"
#: Longest real-time sleep of the market ticker (it also wakes for each due funding time or walk step).
TICK_MAX_S = 0.5


class DroppedConnection(Exception):
    """Raised when a `drop` fault runs on a server without the abort hook (e.g. in-process ASGI)."""


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {520: "Web Server Returned an Unknown Error"}.get(status, "Error")


def render(outcome: dispatch.Outcome) -> Response:
    if isinstance(outcome.body, PlainText):
        return Response(outcome.body.text, status_code=outcome.status, media_type="text/plain")
    return json_response(outcome.body, outcome.status, outcome.headers)


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
        full = dumps(envelope(0, "success", request_id))
        return Response(truncate(full), status_code=200, media_type="application/json")
    raise AssertionError(f"unknown fault kind {kind}")


async def standx_endpoint(request: Request) -> Response:
    """Any StandX path: route, faults before, the one dispatch, faults after, then the streams' pushes."""
    service: MockService = request.app.state.mock
    hub: StreamHub = request.app.state.hub
    request_id = str(uuid.uuid4())
    path = request.url.path
    methods = service.spec.match(path)
    if methods is None:
        return error_response(404, f"Not Found - no operation at {path}", request_id)
    op = methods.get(request.method)
    if op is None:
        allow = ", ".join(sorted(methods))
        return error_response(
            405, f"method {request.method} is not allowed on {path} (allowed: {allow})", request_id, {"Allow": allow}
        )
    service.by_operation[op.operation_id] += 1
    try:
        plan = service.faults.plan(op.operation_id, request.headers.get(FAULT_HEADER))
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
        response = execute(service, hub, op, request, body, request_id)
        if plan.latency > 0 and plan.when == "after":  # executed, the answer is slow
            await asyncio.sleep(plan.latency)
        if plan.kind is not None:
            response = fault_response(plan, request_id, response)
    service.by_status[str(response.status_code) if plan.kind != "drop" else "dropped"] += 1
    hub.publish()
    if plan.latency > 0 and await request.is_disconnected():
        logger.info("client hung up before the %s answer (%d) was sent", op.operation_id, response.status_code)
    return response


def execute(
    service: MockService, hub: StreamHub, op: Operation, request: Request, body: bytes, request_id: str
) -> Response:
    headers = {k.lower(): v for k, v in request.headers.items()}
    outcome = dispatch.run(
        service,
        op,
        request_id=request_id,
        headers=headers,
        body=body,
        query=request.query_params.multi_items(),
        content_type=headers.get("content-type"),
        rate_key=request.client.host if request.client else "?",
    )
    if outcome.session_id is not None and outcome.order is not None and outcome.user is not None:
        hub.notify_session(outcome.session_id, outcome.user, request_id, outcome.order)
    return checked(service, op, render(outcome))


def checked(service: MockService, op: Operation, response: Response) -> Response:
    """Optionally validate the response against the spec; a mismatch becomes a 500 naming the problem."""
    if not service.config.validate_responses:
        return response
    media = (response.media_type or "").split(";")[0].strip()
    raw = bytes(response.body)
    body: Any = raw.decode("utf-8")
    if media == "application/json":
        body = json.loads(raw)
    errors = service.spec.response_errors(op, response.status_code, media, body)
    if not errors:
        return response
    message = f"mock response for {op.operation_id} ({response.status_code}) violates the spec: {'; '.join(errors[:5])}"
    logger.error(message)
    service.response_errors.append(message)
    return error_response(500, message, "response-validation")


async def run_market(service: MockService, hub: StreamHub) -> None:
    """Run the moving market on the mock clock while the server is up: due funding times and random-walk
    steps, then the pushes they cause."""
    while True:
        try:
            service.engine.catch_up()
            hub.publish()
        except Exception:  # a mock bug: make it visible, keep ticking
            logger.exception("the market ticker failed")
        wait = service.engine.seconds_to_next_event()
        delay = None if wait is None else service.exchange.clock.real_delay(wait)
        await asyncio.sleep(TICK_MAX_S if delay is None else min(TICK_MAX_S, delay + 0.001))


def create_app(config: MockConfig | None = None) -> Starlette:
    """Build the mock exchange. Raises SpecError when the spec is missing, altered or not fully served."""
    service = MockService(config or MockConfig())
    hub = StreamHub(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(run_market(service, hub))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    routes = [
        *admin.routes(),
        WebSocketRoute(hub.table.paths["market"], market_stream),
        WebSocketRoute(hub.table.paths["orders"], order_stream),
        Route("/{path:path}", standx_endpoint, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.mock = service
    app.state.hub = hub
    return app
