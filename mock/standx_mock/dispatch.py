"""One dispatch for every StandX operation, over HTTP and over the order response stream: authenticate,
validate against the spec, resolve a vault impersonation, rate-limit, run the handler under the state's
lock, and map the outcome to a status code. The transports only render the `Outcome`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .auth import AuthError, TokenClaims
from .handlers import HANDLERS, Context
from .responses import envelope
from .service import MockService
from .spec import Operation, RequestInvalid
from .state import EngineError, Order

logger = logging.getLogger("standx_mock")

IMPERSONATE_HEADER = "x-impersonate"
SESSION_HEADER = "x-session-id"


@dataclass
class Outcome:
    """What an operation call came to: a status, a JSON body (or `PlainText`), extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    #: The account it acted for, and the order new_order / cancel_order acted on.
    user: str | None = None
    order: Order | None = None
    #: The validated `x-session-id` header (the order response stream session to tell).
    session_id: str | None = None

    @property
    def message(self) -> str:
        """The error message of a failed call ("" for a success)."""
        return str(self.body.get("message", "")) if self.status != 200 and isinstance(self.body, dict) else ""


def failure(status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None) -> Outcome:
    return Outcome(status, envelope(status, message, request_id), dict(headers or {}))


def run(
    service: MockService,
    op: Operation,
    *,
    request_id: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    query: Iterable[tuple[str, str]] = (),
    content_type: str | None = None,
    claims: TokenClaims | None = None,
    rate_key: str | None = None,
) -> Outcome:
    """Run `op`. `headers` are keyed by lower-case names. `claims` is a WebSocket session's login (it
    stands in for the bearer JWT); `rate_key` is the caller's IP address for the rate limits (None: not
    limited)."""
    try:
        try:
            caller = service.authenticate(op, headers, body, claims)
        except AuthError as exc:
            return failure(401, str(exc), request_id)
        try:
            validated = service.spec.validate_request(op, query, headers, content_type, body)
        except RequestInvalid as exc:
            return failure(400, str(exc), request_id)
        user = caller.user if caller else None
        vault = validated.headers.get(IMPERSONATE_HEADER)
        if vault is not None:
            try:
                user = service.engine.acting_user(user, vault)
            except EngineError as exc:
                return failure(exc.status, exc.message, request_id)
        if rate_key is not None and service.config.rate_limit:
            wait = service.rate_limiter.take_ip(rate_key)
            if not wait and user is not None:
                wait = service.rate_limiter.take(user)
            if wait > 0:
                retry = {"Retry-After": str(max(1, int(wait + 0.999)))}
                return failure(429, "Too Many Requests - Rate limit exceeded", request_id, retry)
        ctx = Context(
            engine=service.engine,
            config=service.config,
            query=validated.query,
            body=validated.body,
            user=user,
            request_id=request_id,
            signin=service.signin,
        )
        try:
            with service.engine.lock:
                service.engine.catch_up()  # the market moved on since the last call
                result = HANDLERS[op.operation_id](ctx)
        except EngineError as exc:
            return failure(exc.status, exc.message, request_id)
        return Outcome(200, result, user=user, order=ctx.order, session_id=validated.headers.get(SESSION_HEADER))
    except Exception as exc:  # keep the server up and make the bug visible to the client
        logger.exception("mock handler for %s failed", op.operation_id)
        return failure(500, f"mock internal error in {op.operation_id}: {exc!r}", request_id)
