"""Helpers for the workflow tests: tools/ scripts as modules, subprocess runs, a runtime-only site dir.

Imported by name (`from workflow_helpers import ...`), like tests/mock/mock_helpers.py.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SPEC = ROOT / "openapi" / "standx.yaml"
PACKAGE = ROOT / "generated" / "standx_client"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1 secret key


def load_tool(name: str) -> ModuleType:
    """tools/<name>.py as a module (tools/ is a folder of scripts, not a package)."""
    module_name = f"_tools_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def run(args: Sequence[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 120):
    """Run a command, capture text output; the caller checks the return code."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`make` without reinstalling the venv (-o: treat .venv/.installed as up to date)."""
    return run(["make", "--no-print-directory", "-o", ".venv/.installed", *args], cwd=cwd, timeout=300)


def repo_copy(dest: Path, *, with_mock: bool = False) -> Path:
    """The parts of the repository that `make generate` reads and writes, with the venv linked in; with the
    mock package too (`with_mock`), so that the copy's mock runs on what generation wrote into it."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("generator", "overlays", "openapi", *(["mock/standx_mock"] if with_mock else [])):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def runtime_closure(dist_name: str = "standx-client") -> list[str]:
    """The distributions the package needs at run time: its Requires-Dist without extras, recursively."""
    env = {**default_environment(), "extra": ""}
    seen: dict[str, str] = {}
    queue = [dist_name]
    while queue:
        name = queue.pop()
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if key in seen:
            continue
        seen[key] = dist.metadata["Name"]
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                queue.append(req.name)
    seen.pop(canonicalize_name(dist_name))
    return sorted(seen.values(), key=str.lower)


def build_runtime_site(site: Path) -> Path:
    """Fill `site` with the runtime dependency closure, copied from this venv (no download)."""
    for name in runtime_closure():
        dist = metadata.distribution(name)
        for file in dist.files or []:
            parts = Path(file).parts
            if parts[0] == ".." or "__pycache__" in parts:
                continue  # console scripts and caches
            source = Path(dist.locate_file(file))
            if source.is_file():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return site


def isolated_python(
    paths: Sequence[Path], code: str, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter that sees the standard library and `paths` only (-I -S), with argv `args`."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n"
    return run([PY, "-I", "-S", "-c", prelude + code, *args], cwd=paths[0], timeout=timeout)
