"""The package builds as a wheel whose metadata requires only the runtime dependencies, and the installed wheel
imports with those alone."""

from __future__ import annotations

import json
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from workflow_helpers import PY, ROOT, isolated_python, make, run

from tests.conftest import DOC_EXAMPLES


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make wheel` builds (tools/wheel.py stages a clean copy, so the work tree stays clean)."""
    dist = tmp_path_factory.mktemp("wheel") / "dist"
    built = make("wheel", f"DIST={dist}", f"LOG={dist.parent / 'build.log'}")
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = dist.glob("standx_client-*.whl")
    assert not (ROOT / "generated" / "standx_client.egg-info").exists() and not (ROOT / "build").exists()
    return path


def test_build_prints_no_setuptools_deprecation(wheel: Path) -> None:
    """An SPDX `license` string: no license-table (or other) deprecation warnings on every install."""
    log = (wheel.parent.parent / "build.log").read_text()
    assert "Created wheel for standx-client" in log  # the backend's own output was captured
    assert "is deprecated" not in log and "DeprecationWarning" not in log and "BuildBackendWarning" not in log


def test_wheel_requires_only_runtime_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = HeaderParser().parsestr(archive.read(meta_name).decode("utf-8"))
    requirements = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    unconditional = sorted(r.name for r in requirements if r.marker is None)
    assert unconditional == ["PyNaCl", "attrs", "httpx", "msgspec"]
    # Everything else (the generator, linters, the mock's server) sits behind an extra.
    assert all("extra ==" in str(r.marker) for r in requirements if r.marker is not None)
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"

    assert {"standx_client/__init__.py", "standx_client/_spec_info.py", "standx_client/py.typed"} <= set(names)
    assert not [n for n in names if n.split("/")[0] in ("generator", "overlays", "tools", "tests", "openapi")]


def test_installed_wheel_imports_with_runtime_dependencies_only(
    wheel: Path, tmp_path: Path, runtime_site: Path
) -> None:
    target = tmp_path / "installed"
    done = run([PY, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", target, wheel])
    assert done.returncode == 0, done.stderr
    code = (
        "import json, sys, standx_client as sx\n"
        "from standx_client.api.market import query_symbol_market\n"
        "volume = query_symbol_market.parse_success(sys.argv[1]).volume_24h\n"
        "print(json.dumps([sx.__file__, sx.SPEC_VERSION, 'yaml' in sys.modules, callable(sx.StandX.new_order),"
        " str(volume), sys.modules['msgspec'].__file__]))"
    )
    market = json.dumps(DOC_EXAMPLES["query_symbol_market"]["response"])
    result = isolated_python([target, runtime_site], code, market)
    assert result.returncode == 0, result.stderr
    file, version, yaml_loaded, has_method, volume, decoder = json.loads(result.stdout)
    assert file.startswith(str(target)) and version and not yaml_loaded and has_method
    assert volume == DOC_EXAMPLES["query_symbol_market"]["response"]["volume_24h"]  # exact, by the wheel's decoder
    assert decoder.startswith(str(runtime_site))
