"""Spec loading: hash pinning, operation coverage, the CLI."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from mock_helpers import HTTP, MOCK_ROOT
from standx_mock import MockConfig, SpecError, SpecHashMismatch, create_app
from standx_mock._spec_hash import SPEC_SHA256
from standx_mock.config import DEFAULT_SPEC_PATH
from standx_mock.handlers import HANDLERS

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(MOCK_ROOT), os.environ.get("PYTHONPATH", "")])}


def altered_spec(tmp_path: Path, mutate: str = "") -> Path:
    doc = DEFAULT_SPEC_PATH.read_text(encoding="utf-8")
    path = tmp_path / "standx.yaml"
    path.write_text(doc + mutate + "\n# one more line\n", encoding="utf-8")
    return path


def test_packaged_spec_matches_its_recorded_hash() -> None:
    assert hashlib.sha256(DEFAULT_SPEC_PATH.read_bytes()).hexdigest() == SPEC_SHA256


def test_refuses_a_spec_whose_hash_differs(tmp_path: Path) -> None:
    path = altered_spec(tmp_path)
    with pytest.raises(SpecHashMismatch, match=r"refusing to start: sha256 of .* is [0-9a-f]{64}, but the mock"):
        create_app(MockConfig(spec_path=path))
    with pytest.raises(SpecHashMismatch):
        create_app(MockConfig(spec_sha256="0" * 64))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert create_app(MockConfig(spec_path=path, spec_sha256=digest)) is not None
    assert create_app(MockConfig(spec_path=path, verify_spec_hash=False)) is not None
    with pytest.raises(SpecError, match="cannot read"):
        create_app(MockConfig(spec_path=tmp_path / "missing.yaml"))


def test_every_operation_has_a_handler_and_unknown_ones_fail_loudly(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_SPEC_PATH.read_bytes())
    operation_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values() if "operationId" in op}
    assert operation_ids <= set(HANDLERS)
    assert len(operation_ids) >= 25
    extra = {"get": {"operationId": "query_vaults", "responses": {"200": {"description": "x"}}}}
    doc["paths"]["/api/query_vaults"] = extra
    path = tmp_path / "extra.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="does not implement: query_vaults"):
        create_app(MockConfig(spec_path=path, verify_spec_hash=False))
    doc["paths"].pop("/api/query_vaults")
    doc["components"]["securitySchemes"]["cookieAuth"] = {"type": "apiKey", "in": "cookie", "name": "sid"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="cookieAuth"):
        create_app(MockConfig(spec_path=path, verify_spec_hash=False))


def test_cli_prints_one_line_and_serves(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "standx_mock",
            "--port",
            "0",
            "--seed",
            "5",
            "--market-maker",
            "--faults",
            "latency=0",
            "--validate-responses",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"standx-mock listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        url = match.group(1)
        r = HTTP.get(url + "/api/health")
        assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (200, "OK", "text/plain")
        depth = HTTP.get(url + "/api/query_depth_book", params={"symbol": "ETH-USD"}).json()
        assert len(depth["asks"]) == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line in total


def test_cli_refuses_an_altered_spec(tmp_path: Path) -> None:
    path = altered_spec(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "standx_mock", "--port", "0", "--spec", str(path)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "refusing to start" in result.stderr
