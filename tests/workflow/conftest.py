"""Fixtures of the workflow tests (regenerate, spec-diff, vendor, wheel); helpers live in workflow_helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import build_runtime_site


@pytest.fixture(scope="session")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site-packages dir holding only the runtime dependency closure (httpx, attrs, PyNaCl and theirs)."""
    return build_runtime_site(tmp_path_factory.mktemp("runtime-site"))
