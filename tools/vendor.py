"""`make vendor DEST=<dir>`: copy the self-contained generated package into another source tree.

    python tools/vendor.py --dest DIR [--name standx_client] [--force]

The package lands in DIR/<name>/ (for example `mybot/_vendor/standx_client`, imported as
`mybot._vendor.standx_client`: the package uses relative imports only) with a `VENDORED.json` stamp that
records what it was made from: the spec's sha256, title and version and the generator's version (read
from the package's `_spec_info.py`), the source commit and whether the inputs had uncommitted changes,
the runtime requirements, and the sha256 of every file copied. The stamp has no timestamp, so vendoring
the same commit twice gives byte-identical trees.

Before replacing an existing copy the files in DIR/<name>/ are compared with the stamp: a modified,
added or deleted file (a local edit) stops the copy unless --force is given. A directory without a
stamp is never replaced without --force either.

Exit status: 0 copied, 1 refused (local edits), 2 bad input.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "generated" / "standx_client"
SPEC = ROOT / "openapi" / "standx.yaml"
STAMP = "VENDORED.json"
# Inputs and output of `make generate`: uncommitted changes here make the copy not reproducible from the commit.
_TRACKED_INPUTS = ("generated/standx_client", "openapi", "generator", "overlays")


class VendorError(Exception):
    """Bad input: no package, unreadable stamp, a destination inside the source."""


class LocalEdits(Exception):
    """The destination holds changes that a copy would lose."""


def package_files(root: Path) -> dict[str, str]:
    """relative posix path -> sha256 for every file of a package tree (caches and the stamp left out)."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
            continue
        if rel.suffix in (".pyc", ".pyo") or rel.as_posix() == STAMP:
            continue
        files[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def spec_info(package: Path) -> dict[str, str]:
    """The constants of `_spec_info.py`, read without importing the package."""
    path = package / "_spec_info.py"
    if not path.is_file():
        raise VendorError(f"{package} has no _spec_info.py: run `make generate` first")
    values: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    for name in ("SPEC_SHA256", "SPEC_VERSION", "GENERATOR_VERSION"):
        if name not in values:
            raise VendorError(f"{path} does not define {name}")
    return values


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    return list(data.get("project", {}).get("dependencies", []))


def source_revision(repo: Path = ROOT) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether the generator's inputs or output have uncommitted changes); None outside git."""

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=60
            )
        except OSError:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=all", "--", *_TRACKED_INPUTS)
    return commit, bool(status)


def local_edits(target: Path) -> list[str]:
    """What differs in `target` from its stamp: `modified: x`, `added: y`, `deleted: z`."""
    stamp_path = target / STAMP
    if not stamp_path.is_file():
        return [f"no {STAMP}: {target} was not made by `make vendor` (or its stamp was removed)"]
    try:
        recorded: dict[str, str] = json.loads(stamp_path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"unreadable {STAMP}: {exc}"]
    current = package_files(target)
    edits = [f"modified: {p}" for p in sorted(current.keys() & recorded.keys()) if current[p] != recorded[p]]
    edits += [f"added: {p}" for p in sorted(current.keys() - recorded.keys())]
    edits += [f"deleted: {p}" for p in sorted(recorded.keys() - current.keys())]
    return edits


def vendor(dest: Path, *, name: str = "standx_client", source: Path = SOURCE, force: bool = False) -> dict[str, Any]:
    """Copy `source` to dest/name with a stamp; returns the stamp. Raises LocalEdits or VendorError."""
    source = source.resolve()
    if not (source / "__init__.py").is_file():
        raise VendorError(f"{source} is not a package: run `make generate` first")
    if not name.isidentifier():
        raise VendorError(f"--name {name!r} is not a Python identifier")
    target = (dest / name).resolve()
    if target == source or source in target.parents or target in source.parents:
        raise VendorError(f"{target} overlaps the source package {source}")

    if target.exists():
        if not target.is_dir():
            raise VendorError(f"{target} exists and is not a directory")
        edits = local_edits(target)
        if edits and not force:
            raise LocalEdits("\n".join(edits))

    info = spec_info(source)
    commit, dirty = source_revision()
    files = package_files(source)
    stamp: dict[str, Any] = {
        "package": "standx_client",
        "vendored_as": name,
        "spec_title": info.get("SPEC_TITLE"),
        "spec_version": info["SPEC_VERSION"],
        "spec_sha256": info["SPEC_SHA256"],
        "generator": info.get("GENERATOR"),
        "generator_version": info["GENERATOR_VERSION"],
        "source_commit": commit,
        "source_dirty": dirty,
        "requires": runtime_requirements(),
        "files": files,
    }

    # Build the new copy beside the target, then swap: an interrupted run never leaves half a package.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{name}.vendor-new"
    retired = target.parent / f".{name}.vendor-old"
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    for rel in files:
        destination = staging / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, destination)
    (staging / STAMP).write_text(json.dumps(stamp, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return stamp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="directory that receives the package directory")
    parser.add_argument("--name", default="standx_client", help="package directory name (default standx_client)")
    parser.add_argument("--source", type=Path, default=SOURCE, help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help="replace the copy even if it has local edits")
    options = parser.parse_args(argv)

    source = options.source.resolve()
    try:
        info = spec_info(source)
        if source == SOURCE.resolve() and SPEC.is_file():
            spec_sha = hashlib.sha256(SPEC.read_bytes()).hexdigest()
            if spec_sha != info["SPEC_SHA256"]:
                print(
                    "vendor: warning: generated/standx_client was not generated from the current "
                    "openapi/standx.yaml: run `make generate` first",
                    file=sys.stderr,
                )
        stamp = vendor(options.dest, name=options.name, source=source, force=options.force)
    except LocalEdits as exc:
        target = options.dest / options.name
        print(f"vendor: refusing to overwrite {target}: it has local edits:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  {line}", file=sys.stderr)
        print("Make the change upstream (spec, generator/ or overlays/), or re-run with FORCE=1.", file=sys.stderr)
        return 1
    except (VendorError, OSError) as exc:
        print(f"vendor: {exc}", file=sys.stderr)
        return 2

    commit = (stamp["source_commit"] or "unknown")[:12] + ("+dirty" if stamp["source_dirty"] else "")
    print(
        f"vendored {len(stamp['files'])} files into {options.dest / options.name} "
        f"(spec {stamp['spec_version']} sha256 {stamp['spec_sha256'][:12]}, generator "
        f"{stamp['generator_version']}, commit {commit})"
    )
    print(f"runtime requirements for the host project: {', '.join(stamp['requires']) or '(see pyproject.toml)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
