"""The mock's frame shapes where the docs are silent (MockConfig `ws_ack`, `ws_error_frames`, `ws_extra_fields`;
mock/README.md, "Frame shapes the docs leave open"), by name: the mock's own tests and the client's contract
tests run one server per shape. Only the options: what each shape must look like is written in the tests."""

from __future__ import annotations

from typing import Any

SHAPES: dict[str, dict[str, Any]] = {
    "documented": {},
    "ack=message": {"ws_ack": "message"},
    "ack=none": {"ws_ack": "none"},
    "errors=bare": {"ws_error_frames": "bare"},
    "extra": {"ws_extra_fields": True},
    "errors=bare+extra": {"ws_error_frames": "bare", "ws_extra_fields": True},
    "unkind": {"ws_ack": "message", "ws_error_frames": "bare", "ws_extra_fields": True},
}
