"""Vendoring: relative imports only, a stamped copy under another parent package that imports with the runtime
dependencies alone and signs a request, and refusal to overwrite local edits."""

from __future__ import annotations

import ast
import json
import sys
import tomllib
from pathlib import Path

import pytest
from workflow_helpers import JWT, PACKAGE, PY, ROOT, SEED_HEX, isolated_python, load_tool, make, run, runtime_closure

vendor_tool = load_tool("vendor")
TOOL = ROOT / "tools" / "vendor.py"
RUNTIME_IMPORTS = {"httpx", "attrs", "nacl", "msgspec"}
# Optional extras, each allowed in the modules that need it (which say how to install it on ImportError).
EXTRA_IMPORTS = {"websockets": ("streams.py", "_ws_connection.py")}
DEV_TOOLING = ["openapi_python_client", "ruff", "yaml", "schemathesis", "pytest", "jsonschema", "mypy", "hypothesis"]


def _absolute_imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_every_module_imports_its_package_relatively() -> None:
    """No `import standx_client...` anywhere: the package works under any parent (`mybot._vendor.standx_client`),
    and its absolute imports are the standard library and the four runtime dependencies only (plus websockets
    in the stream modules, the `ws` extra)."""
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    own, foreign = [], []
    for module in modules:
        for line, name in _absolute_imports(module):
            top = name.split(".")[0]
            where = f"{module.relative_to(ROOT)}:{line}: {name}"
            if top == "standx_client":
                own.append(where)
            elif module.name in EXTRA_IMPORTS.get(top, ()):
                continue
            elif top not in sys.stdlib_module_names and top not in RUNTIME_IMPORTS and top != "__future__":
                foreign.append(where)
    assert own == [], "absolute imports of the package itself:\n" + "\n".join(own)
    assert foreign == [], "imports beyond the stdlib and httpx/attrs/nacl/msgspec:\n" + "\n".join(foreign)


def test_runtime_closure_is_the_runtime_dependencies_only() -> None:
    closure = {name.lower() for name in runtime_closure()}
    assert {"httpx", "attrs", "pynacl", "msgspec"} <= closure
    tooling = {"pyyaml", "openapi-python-client", "ruff", "schemathesis", "pytest", "jsonschema", "mypy", "starlette"}
    assert not closure & tooling


ISOLATED_SCRIPT = """
import base64, json, sys, sysconfig
import mybot._vendor.standx_client as sx
import mybot._vendor.sx_renamed as renamed
import httpx, nacl.exceptions, nacl.signing

CONFIG = json.loads(sys.argv[1])
SEED, JWT = CONFIG["seed"], CONFIG["jwt"]
roots = CONFIG["roots"] + [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
outside = sorted(name for name, module in list(sys.modules.items())
                 if getattr(module, "__file__", None) and not module.__file__.startswith(tuple(roots)))
verify_key = nacl.signing.SigningKey(bytes.fromhex(SEED)).verify_key
seen = {}

def handler(request):
    h = request.headers
    message = b",".join([h["x-request-sign-version"].encode(), h["x-request-id"].encode(),
                         h["x-request-timestamp"].encode(), request.content])
    signature = base64.b64decode(h["x-request-signature"])
    verify_key.verify(message, signature)  # raises BadSignatureError unless it signs these exact bytes
    try:
        verify_key.verify(message.replace(b'"0.1"', b'"0.2"'), signature)
        seen["tampered_verifies"] = True
    except nacl.exceptions.BadSignatureError:
        seen["tampered_verifies"] = False
    seen.update(body=request.content.decode(), authorization=h["authorization"], url=str(request.url))
    return httpx.Response(200, json={"code": 0, "message": "success", "request_id": "r-1"})

import logging
from mybot._vendor.standx_client import _install, credentials
seen["hints"] = [_install.install_hint("ws"), _install.install_hint("evm")]
seen["loggers"] = sorted(n for n in logging.Logger.manager.loggerDict if "standx" in n)
import contextlib, io
from mybot._vendor.standx_client.cli import main as cli_main
help_text = io.StringIO()
with contextlib.redirect_stdout(help_text):
    seen["cli_help_code"] = cli_main(["order", "place", "--help"])
seen["cli_help"] = help_text.getvalue()

client = sx.StandX(jwt=JWT, signing_key=SEED, transport=httpx.MockTransport(handler))
result = client.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000",
                          time_in_force="gtc", reduce_only=False)
print(json.dumps({
    "name": sx.__name__,
    "file": sx.__file__,
    "renamed": renamed.__name__,
    "distinct": renamed.StandX is not sx.StandX,
    "dev_tooling_loaded": [m for m in CONFIG["dev"] if m in sys.modules],
    "top_level_standx": [m for m in sys.modules if m.split(".")[0] in ("standx_client", "standx_mock")],
    "outside": outside,
    "no_site": "site" not in sys.modules,
    "result": [type(result).__name__, result.code, result.request_id],
    "decoder": sys.modules["msgspec"].__file__,
    **seen,
}))
"""


def test_vendored_copy_runs_with_runtime_dependencies_only(tmp_path: Path, runtime_site: Path) -> None:
    vendor_dir = tmp_path / "mybot" / "_vendor"
    for args in ([], ["--name", "sx_renamed"]):
        done = run([PY, TOOL, "--dest", vendor_dir, *args])
        assert done.returncode == 0, done.stderr
    assert "vendored " in done.stdout and "httpx" in done.stdout
    (tmp_path / "mybot" / "__init__.py").write_text("")
    (vendor_dir / "__init__.py").write_text("")

    config = {"roots": [str(tmp_path), str(runtime_site)], "seed": SEED_HEX, "jwt": JWT, "dev": DEV_TOOLING}
    result = isolated_python([tmp_path, runtime_site], ISOLATED_SCRIPT, json.dumps(config))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)

    assert seen["name"] == "mybot._vendor.standx_client"
    assert seen["file"].startswith(str(vendor_dir))
    assert seen["renamed"] == "mybot._vendor.sx_renamed" and seen["distinct"]
    assert seen["dev_tooling_loaded"] == []
    assert seen["top_level_standx"] == []  # nothing reached for an installed standx_client
    assert seen["outside"] == []  # every loaded module is the stdlib, the vendored copy or the runtime deps
    assert seen["no_site"]

    body = json.loads(seen["body"])
    assert body["qty"] == "0.1" and body["price"] == "50000" and body["side"] == "buy"
    assert seen["tampered_verifies"] is False  # the check above is real: another body does not verify
    assert seen["authorization"] == f"Bearer {JWT}"
    assert seen["url"] == "https://perps.standx.com/api/new_order"
    assert seen["result"][1:] == [0, "r-1"]  # decoded by the compiled decoder, from the runtime site
    assert seen["decoder"].startswith(str(runtime_site))

    # Item 6 of issue 15: the copy speaks of itself. Install hints name the requirements (there is no
    # standx-client distribution to install extras of), and loggers carry the copy's module names.
    ws_hint, evm_hint = seen["hints"]
    assert ws_hint.startswith("pip install 'websockets>=") and "vendored here as mybot._vendor.standx_client" in ws_hint
    assert evm_hint.startswith("pip install 'eth-account>=")
    assert "standx-client[" not in ws_hint + evm_hint
    assert "mybot._vendor.standx_client.credentials" in seen["loggers"]
    assert [name for name in seen["loggers"] if name.startswith("standx_client")] == []
    assert seen["cli_help_code"] == 0
    assert seen["cli_help"].startswith("usage: python -m mybot._vendor.standx_client order place")


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_module_hard_codes_the_package_or_distribution_name() -> None:
    """Loggers come from __name__, install hints from _install.install_hint: a renamed copy stays truthful."""
    found = [
        f"{module.name}:{line}: {text!r}"
        for module in sorted((ROOT / "overlays").rglob("*.py"))
        if module.name != "_install.py"
        for line, text in _code_strings(module)
        if "standx_client" in text or "standx-client[" in text  # not the user agent, "standx-client-python"
    ]
    assert found == []


def _git(*args: str) -> str:
    return run(["git", *args]).stdout.strip()


def test_stamp_records_provenance_and_is_reproducible(tmp_path: Path) -> None:
    stamp = vendor_tool.vendor(tmp_path)
    target = tmp_path / "standx_client"
    on_disk = json.loads((target / "VENDORED.json").read_text())
    assert on_disk == stamp

    info = vendor_tool.spec_info(PACKAGE)
    assert stamp["spec_sha256"] == info["SPEC_SHA256"] and len(stamp["spec_sha256"]) == 64
    assert stamp["spec_version"] == info["SPEC_VERSION"]
    assert stamp["generator_version"] == info["GENERATOR_VERSION"]
    assert stamp["source_commit"] == _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=all", "--", *vendor_tool._TRACKED_INPUTS))
    assert stamp["source_dirty"] is dirty
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert stamp["requires"] == project["dependencies"]

    assert stamp["files"] == vendor_tool.package_files(target)  # every copied file, hashed
    assert {"__init__.py", "_spec_info.py", "py.typed", "signing.py"} <= stamp["files"].keys()
    assert not any("__pycache__" in path for path in stamp["files"])

    before = (target / "VENDORED.json").read_bytes()
    vendor_tool.vendor(tmp_path)  # no edits: replaced silently, byte for byte the same
    assert (target / "VENDORED.json").read_bytes() == before


def test_refuses_to_overwrite_local_edits_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "standx_client"
    assert run([PY, TOOL, "--dest", tmp_path]).returncode == 0
    (target / "__pycache__").mkdir(exist_ok=True)
    (target / "__pycache__" / "types.cpython-311.pyc").write_bytes(b"cache")
    assert run([PY, TOOL, "--dest", tmp_path]).returncode == 0  # caches are not edits

    (target / "types.py").write_text((target / "types.py").read_text() + "\n# hot fix\n")
    (target / "notes.txt").write_text("mine")
    (target / "py.typed").unlink()
    refused = run([PY, TOOL, "--dest", tmp_path])
    assert refused.returncode == 1
    for line in ("refusing to overwrite", "modified: types.py", "added: notes.txt", "deleted: py.typed", "FORCE=1"):
        assert line in refused.stderr
    assert "# hot fix" in (target / "types.py").read_text() and (target / "notes.txt").exists()

    forced = make("vendor", f"DEST={tmp_path}", "FORCE=1")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert (target / "types.py").read_bytes() == (PACKAGE / "types.py").read_bytes()
    assert not (target / "notes.txt").exists() and (target / "py.typed").exists()
    assert not list(tmp_path.glob(".standx_client.vendor-*"))  # no staging leftovers

    (target / "VENDORED.json").unlink()  # a copy without a stamp is never replaced silently
    unstamped = make("vendor", f"DEST={tmp_path}")
    assert unstamped.returncode != 0 and "no VENDORED.json" in unstamped.stderr
    assert make("vendor", f"DEST={tmp_path}", "FORCE=1").returncode == 0

    usage = make("vendor")
    assert usage.returncode != 0 and "usage: make vendor DEST=<dir>" in usage.stderr


@pytest.mark.parametrize("dest", ["generated", "generated/standx_client/sub"])
def test_refuses_a_destination_overlapping_the_source(dest: str) -> None:
    result = run([PY, TOOL, "--dest", ROOT / dest])
    assert result.returncode == 2 and "overlaps the source package" in result.stderr
