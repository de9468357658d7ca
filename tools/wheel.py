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
STAGED = ("pyproject.toml", "README.md", "generated/standx_client", "mock/standx_mock")


def build(dist: Path) -> Path:
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="standx-wheel-") as tmp:
        src = Path(tmp)
        for name in STAGED:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
            else:
                shutil.copy2(path, src / name)
        before = set(dist.glob("standx_client-*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)],
                       check=True)  # fmt: skip
        built = sorted(set(dist.glob("standx_client-*.whl")) - before) or sorted(dist.glob("standx_client-*.whl"))
    return built[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the wheel goes (default dist/)")
    print(build(parser.parse_args().dist.resolve()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
