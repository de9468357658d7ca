"""The package builds as a wheel whose metadata requires only the runtime dependencies, and the installed wheel
imports with those alone."""

from __future__ import annotations

import json
import shutil
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from workflow_helpers import PY, ROOT, isolated_python, make, run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` on a staged copy of what the build reads (no build/ or egg-info in the work tree)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src)
    readme = ROOT / "README.md"
    if readme.is_file():
        shutil.copy2(readme, src)
    else:
        (src / "README.md").write_text("# standx-client\n")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(ROOT / "generated" / "standx_client", src / "generated" / "standx_client", ignore=ignore)
    if (ROOT / "mock" / "standx_mock").is_dir():
        shutil.copytree(ROOT / "mock" / "standx_mock", src / "mock" / "standx_mock", ignore=ignore)
    built = run([PY, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", src], timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = (work / "dist").glob("standx_client-*.whl")
    return path


def test_wheel_requires_only_runtime_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = HeaderParser().parsestr(archive.read(meta_name).decode("utf-8"))
    requirements = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    unconditional = sorted(r.name for r in requirements if r.marker is None)
    assert unconditional == ["PyNaCl", "attrs", "httpx"]
    # Everything else (the generator, linters, the mock's server) sits behind an extra.
    assert all("extra ==" in str(r.marker) for r in requirements if r.marker is not None)
    assert meta["Requires-Python"] == ">=3.11"

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
        "print(json.dumps([sx.__file__, sx.SPEC_VERSION, 'yaml' in sys.modules, callable(sx.StandX.new_order)]))"
    )
    result = isolated_python([target, runtime_site], code)
    assert result.returncode == 0, result.stderr
    file, version, yaml_loaded, has_method = json.loads(result.stdout)
    assert file.startswith(str(target)) and version and not yaml_loaded and has_method


def test_make_wheel_target_is_defined() -> None:
    dry = make("-n", "wheel")
    assert dry.returncode == 0 and "pip wheel --no-deps" in dry.stdout
