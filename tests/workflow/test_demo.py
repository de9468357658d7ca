"""`make demo` runs examples/demo.py: the client against the mock exchange in its own process, REST and streams."""

from __future__ import annotations

from workflow_helpers import PY, ROOT, run


def test_the_demo_runs_end_to_end() -> None:
    result = run([PY, str(ROOT / "examples" / "demo.py")], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for section in ("== Orders placed", "== Fills", "== Cancelled", "== Closed and settled", "== Streams (WebSocket)"):
        assert section in out, section
    assert "BadRequestError: new_order: HTTP 400" in out  # the typed refusal
    assert "order:new on the order stream -> accepted True, code 0" in out
    assert "HTTP cancel with x-session-id -> stream frame code 0 success" in out
    assert out.rstrip().endswith("Mock exchange stopped.")
