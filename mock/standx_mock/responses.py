"""JSON responses: StandX bodies (exact decimals, no floats) and the test endpoints' plain JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from .util import dumps


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=dict(headers or {}))


def envelope(code: int, message: str, request_id: str) -> dict[str, Any]:
    """The StandX envelope: an acknowledgement (`code` 0) or an error body (`code` the HTTP status)."""
    return {"code": code, "message": message, "request_id": request_id}


def error_response(status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(envelope(status, message, request_id), status, headers)


def admin_json(body: Any, status: int = 200) -> Response:
    """Test-support endpoints: plain JSON (floats allowed, Decimals as strings)."""
    return Response(
        json.dumps(body, default=str, separators=(",", ":")).encode(), status_code=status, media_type="application/json"
    )
