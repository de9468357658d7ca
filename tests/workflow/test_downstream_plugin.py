"""The mock's pytest plugin, used the way a downstream repository uses it: its own pytest session, tests in
random order. Two runs with different order seeds both pass, and their orders differ."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

PROJECT = ROOT / "examples" / "downstream_tests"


def run_in_order(seed: int) -> list[str]:
    env = {**os.environ, "STANDX_TEST_ORDER_SEED": str(seed)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rA", str(PROJECT)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"test order seed: {seed}" in result.stdout
    assert "6 passed" in result.stdout
    return re.findall(r"^PASSED \S+::(\S+)", result.stdout, flags=re.MULTILINE)


def test_downstream_project_passes_in_two_random_orders() -> None:
    first, second = run_in_order(1), run_in_order(2)
    assert sorted(first) == sorted(second) and len(first) == 6
    assert first != second
