"""The mock's package reads by concern: every module imports on its own, and the import graph between its
modules (TYPE_CHECKING imports included) has no cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from mock_helpers import MOCK_ROOT

PACKAGE = MOCK_ROOT / "standx_mock"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__main__")


def _internal_imports(path: Path) -> set[str]:
    """The package modules `path` imports, wherever the import statement is (TYPE_CHECKING blocks too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("standx_mock."):
            found.add((node.module or "").split(".")[1])
    return found - {"__init__"}


def import_graph() -> dict[str, set[str]]:
    return {name: _internal_imports(PACKAGE / f"{name}.py") for name in MODULES if name != "__init__"}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])
    # The checker itself finds one (a test that could not fail would prove nothing).
    assert find_cycle({**graph, "state": graph["state"] | {"ws"}}) is not None
    # The layering the README describes: the state knows no rules, no transport and no wire format.
    assert graph["state"] <= {"clock", "config", "enums"}
    assert not graph["engine"] & {"app", "admin", "dispatch", "ws", "service", "wire", "handlers"}
    assert "app" not in set().union(*(deps for name, deps in graph.items() if name != "server"))


def test_each_module_imports_alone() -> None:
    names = [f"standx_mock.{m}" if m != "__init__" else "standx_mock" for m in MODULES]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'standx_mock' or m.startswith('standx_mock.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=MOCK_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


def test_dead_code_and_the_private_codec_are_gone() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py"))
    for name in (
        "\nFAULT_KINDS",
        "is_market_maker",
        "body_media_types",
        "def b58encode",
        "TYPE_CHECKING:\n    from .",
        "is_maker=",
        "    op: Operation\n",
        "headers=validated.headers",
        "def symbol(self, name",
        "def utcnow",
        "def empty(self)",
        "_origin_real",
        "acting_user: str | None = None",
    ):
        assert name not in text, name
    assert not (PACKAGE / "base58.py").exists()
