"""Build the wheel from a clean staged copy of what it ships, so the work tree gets no build/ or *.egg-info.

python tools/wheel.py --dist dist
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Everything the build reads: the metadata, the README it embeds, and the two packages.
# src/ holds two relative symlinks to the packages (the import root an editable install puts on sys.path).
STAGED = ("pyproject.toml", "README.md", "generated/standx_client", "mock/standx_mock", "src")


def build(dist: Path, log: Path | None = None) -> Path:
    """The wheel in `dist`; with `log`, the build runs verbosely and its whole output goes there."""
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="standx-wheel-") as tmp:
        src = Path(tmp)
        for name in STAGED:
            path = ROOT / name
            if path.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.egg-info")
                shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
            else:
                shutil.copy2(path, src / name)
        before = set(dist.glob("standx_client-*.whl"))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose" if log else "--quiet"]
        done = subprocess.run([*command, "-w", str(dist), str(src)], capture_output=log is not None, text=True)
        if log is not None:
            log.write_text(done.stdout + done.stderr, encoding="utf-8")
        done.check_returncode()
        built = sorted(set(dist.glob("standx_client-*.whl")) - before) or sorted(dist.glob("standx_client-*.whl"))
    return built[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the wheel goes (default dist/)")
    parser.add_argument("--log", type=Path, help="build verbosely and write the output to this file")
    options = parser.parse_args()
    print(build(options.dist.resolve(), options.log.resolve() if options.log else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
