"""Dependencies that install anywhere: extras are ranges, constraints.txt is the exact tested set (and what this
venv runs), every tested version lies inside its range, and the README's Node requirement is the pinned tools'."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from workflow_helpers import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
USER_EXTRAS = ("mock", "ws", "evm")  # `dev` pins the generator and linters on purpose (deterministic output)


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _requirements() -> list[tuple[str, Requirement]]:
    found = [("runtime", Requirement(r)) for r in PROJECT["dependencies"]]
    for extra, lines in PROJECT["optional-dependencies"].items():
        found += [(extra, Requirement(r)) for r in lines]
    return found


def test_runtime_dependencies_and_user_extras_are_ranges() -> None:
    pinned = [
        f"{where}: {req}"
        for where, req in _requirements()
        if where in ("runtime", *USER_EXTRAS) and any(s.operator in ("==", "===") for s in req.specifier)
    ]
    assert pinned == []


def test_every_tested_version_lies_in_its_range() -> None:
    pins = _constraints()
    outside = []
    for where, req in _requirements():
        version = pins.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} ({where}) is not in constraints.txt"
        if not req.specifier.contains(version, prereleases=True):
            outside.append(f"{where}: {req} excludes the tested {version}")
    assert outside == []


def test_this_venv_runs_the_constraints() -> None:
    """`make setup` installs with `-c constraints.txt`: the suite runs on exactly the recorded set."""
    differ = []
    for name, version in _constraints().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. an extra `make test` does not install
        if installed != version:
            differ.append(f"{name}: constraints.txt {version}, installed {installed}")
    assert differ == []
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_readme_node_requirement_is_the_pinned_tools() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for tool in ("@redocly/cli", "@stoplight/prism-cli"):
        entry = lock[f"node_modules/{tool}"]
        assert f"{tool} {entry['version']}" in readme, tool
        assert f"`{entry['engines']['node']}`" in readme, f"{tool}'s Node range is not in the README"
    assert not re.search(r"Node 20 on the PATH", readme)
