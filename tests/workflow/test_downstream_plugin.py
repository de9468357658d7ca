"""The mock's pytest plugin, used the way a downstream repository uses it: its own pytest session."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PROJECT = ROOT / "examples" / "downstream_tests"


def test_downstream_project_passes_with_the_plugin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(PROJECT)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
