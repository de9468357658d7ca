# Copied from overlays/exceptions.py by `make generate`. Do not edit here: edit overlays/exceptions.py.
"""Every failure the client raises is a `StandXError`.

    StandXError
    ├── ValidationError          bad input, refused before anything was sent (names the field)
    │   └── TokenExpiredError    the JWT's `exp` has passed; nothing was sent (also an AuthenticationError)
    ├── AuthenticationError      sign in again: `except AuthenticationError` catches both of these
    │   ├── TokenExpiredError    refused locally, before sending (see above)
    │   └── UnauthorizedError    refused by the exchange: HTTP 401 (see below)
    ├── TransportError           no usable HTTP answer: connect error, timeout, dropped connection
    │   ├── RequestTimeoutError
    │   ├── StreamClosedError    a WebSocket stream closed and could not be reopened
    │   └── ConnectionLimitError a new WebSocket would exceed the exchange's per-IP connection limit
    ├── OrderStatusUnknownError  an order may or may not have reached the exchange; resolve by cl_ord_id
    ├── ClientClosedError        a call on a closed client; nothing was sent
    ├── SignInError              the wallet sign-in was refused, or its challenge did not check out
    ├── CredentialsError         a credentials file or session export is unsafe, unreadable or inconsistent
    └── APIError                 the exchange answered with an error (HTTP status, or HTTP 200 with code != 0)
        ├── BadRequestError          400
        ├── UnauthorizedError        401: invalid or expired JWT, or a bad body signature (also an AuthenticationError)
        ├── PermissionDeniedError    403
        ├── NotFoundError            404
        ├── RateLimitError           429 (retry_after)
        ├── ServerError              5xx and other unexpected statuses
        └── ResponseDecodeError      a 2xx body that is not what the spec says (not JSON, wrong shape)

`AuthenticationError.sent` tells the two kinds apart: False for `TokenExpiredError` (nothing left the
machine), True for `UnauthorizedError` (the exchange saw the request and refused it).

Messages and attributes never carry the JWT or the signing key: the request headers are not kept.
"""

from __future__ import annotations

from typing import Any


class StandXError(Exception):
    """Root of every error this client raises."""


class ValidationError(StandXError, ValueError):
    """An argument broke the spec's rules; the request was not sent."""

    def __init__(self, operation: str, field: str, problem: str, *, sentence: bool = False) -> None:
        """`sentence`: the problem is a whole sentence naming the field ("qty must be ..."), shown as it is."""
        self.operation = operation
        self.field = field
        self.problem = problem
        super().__init__(f"{operation}: {problem}" if sentence else f"{operation}: {field}: {problem}")


class AuthenticationError(StandXError):
    """The credentials are not (or no longer) good: sign in again, then retry.

    Raised as `TokenExpiredError` when the JWT's `exp` had passed, before anything was sent (`sent` is
    False), or as `UnauthorizedError` when the exchange answered HTTP 401 (`sent` is True).
    """

    sent: bool = True


class TokenExpiredError(AuthenticationError, ValidationError):
    """The JWT has expired (its `exp` claim); nothing was sent. StandX has no refresh: sign in again."""

    sent = False

    def __init__(self, operation: str, expired_at: int) -> None:
        self.expired_at = expired_at
        super().__init__(
            operation, "jwt", f"the JWT expired at {expired_at} (unix seconds); nothing was sent, sign in again"
        )


class TokenExpiringWarning(UserWarning):
    """The JWT expires soon (within the client's `warn_before_expiry`)."""


class TransportError(StandXError):
    """The request got no usable HTTP answer (connection refused or dropped, TLS failure, timeout)."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        self.operation = operation
        super().__init__(message)


class RequestTimeoutError(TransportError):
    """Connect, read, write or pool timeout."""


class StreamClosedError(TransportError):
    """A WebSocket stream closed and reconnecting is off or gave up (the close reason is in the message)."""


class ConnectionLimitError(TransportError):
    """Opening one more WebSocket stream would exceed the exchange's limit of concurrent connections per IP
    (the client-side budget, `streams.ConnectionBudget`); nothing was opened. Close a stream first."""

    def __init__(self, message: str, *, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


class OrderStatusUnknownError(StandXError):
    """new_order's outcome is unknown: the request may have executed but its answer was lost.

    Do not resend with a new id. The order is in `client.unresolved_orders` until `client.resolve_order(
    error.cl_ord_id)` settles it: `OrderFound` (placed), `OrderAbsent` (never landed and its in-flight window
    has passed: resend with the same `cl_ord_id` if you still want it) or `OrderUnknown` (it may still land:
    ask again after `settles_at`). The underlying error is `__cause__`.
    """

    def __init__(self, operation: str, cl_ord_id: str, cause: StandXError, settles_at: float | None = None) -> None:
        self.operation = operation
        self.cl_ord_id = cl_ord_id
        #: Unix seconds after which the original can no longer land (None when not known).
        self.settles_at = settles_at
        super().__init__(f"{operation}: outcome unknown for cl_ord_id={cl_ord_id} ({type(cause).__name__}: {cause})")


class ClientClosedError(StandXError):
    """The client was closed (`close()`, or its `with` block ended); nothing was sent. Make a new client."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"{operation}: the client is closed; nothing was sent")


class SignInError(StandXError):
    """The wallet sign-in failed (see `credentials.sign_in`).

    `stage` says where: "prepare" (prepare-signin refused, or `success` false), "challenge" (the signedData
    payload is not for this request: wrong requestId or address, or unreadable), "sign" (the wallet or the
    external signer failed) or "login" (login refused: wrong wallet key, expired or reused challenge...).
    When the exchange refused, `status_code` and `code` are its answer and `__cause__` is the `APIError`.
    Transport errors, rate limits and 5xx answers are raised as themselves: they say nothing about the wallet.
    """

    def __init__(self, stage: str, message: str, *, status_code: int | None = None, code: int | None = None) -> None:
        self.stage = stage
        self.status_code = status_code
        self.code = code
        super().__init__(f"sign-in failed at {stage}: {message}")


class CredentialsError(StandXError):
    """Credentials cannot be used: a file readable by others, unreadable or malformed, or a signing key that
    is not the one recorded with the token. The message names the file, never its contents."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class APIError(StandXError):
    """The exchange answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        request_id: str | None = None,
        body: bytes = b"",
        operation: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}HTTP {status_code}, code {code}: {message}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIError):
    """400: the exchange rejected the request's parameters."""


class UnauthorizedError(APIError, AuthenticationError):
    """401: the exchange refused the JWT (missing, invalid or expired) or the body signature."""


class PermissionDeniedError(APIError):
    """403: authenticated, but not allowed."""


class NotFoundError(APIError):
    """404: no such resource (for example an unknown order)."""


class RateLimitError(APIError):
    """429: too many requests. `retry_after` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIError):
    """5xx, or a status the spec does not describe."""


class ResponseDecodeError(APIError):
    """A success status whose body is not what the spec describes (not JSON, truncated, wrong shape)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[APIError]:
    """The exception class for an HTTP status (or an exchange body `code`, which uses the same numbers)."""
    return _BY_STATUS.get(status_code, ServerError)
