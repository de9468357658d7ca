"""Rows measured in fresh processes: `import standx_client` versus `import httpx`, and `make generate`."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Row, Settings, Stats, fmt_ratio, fmt_time, progress, ratio, verdict

ROOT = Path(__file__).resolve().parent.parent
# Distributions `import standx_client` may add on top of what `import httpx` loads: its declared runtime
# dependencies (attrs, PyNaCl, msgspec) and cffi, whose compiled backend PyNaCl loads.
EXPECTED_EXTRA = {"attrs", "PyNaCl", "msgspec", "cffi"}


def _importtime(module: str, cwd: str) -> tuple[int, set[str]]:
    """Cumulative µs of `module`'s top-level line, and the top-level names of every module imported."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # measure with bytecode caches
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    cumulative: int | None = None
    names: set[str] = set()
    for line in result.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2]
        names.add(name.strip().split(".")[0])
        if name == f" {module}":  # top level: one space after the bar, no indentation
            cumulative = int(fields[1])
    if cumulative is None:
        raise RuntimeError(f"no top-level `{module}` line in -X importtime output:\n{result.stderr[-2000:]}")
    return cumulative, names


def _third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and not n.startswith("__editable__")}


def import_rows(settings: Settings) -> list[Row]:
    progress("import time")
    times: dict[str, list[float]] = {"httpx": [], "standx_client": []}
    modules: dict[str, set[str]] = {"httpx": set(), "standx_client": set()}
    with tempfile.TemporaryDirectory() as cwd:
        for module in times:  # warm-up: bytecode caches written, files in the page cache
            _importtime(module, cwd)
        for run in range(settings.import_runs):
            for module in times if run % 2 == 0 else reversed(list(times)):
                micros, names = _importtime(module, cwd)
                times[module].append(micros * 1000.0)
                modules[module] |= names
    stats = {module: Stats(tuple(values)) for module, values in times.items()}
    value = ratio(stats["standx_client"], stats["httpx"])
    extra = sorted(_third_party(modules["standx_client"]) - _third_party(modules["httpx"]) - {"standx_client"})
    owners = importlib.metadata.packages_distributions()
    dists = {dist for name in extra for dist in owners.get(name, [name])}
    described = ", ".join(f"{name} ({'/'.join(owners.get(name, ['?']))})" for name in extra) or "none"
    httpx_cli = {"rich", "click", "pygments"} & modules["httpx"]
    httpx_note = f" (loads httpx's CLI deps here: {', '.join(sorted(httpx_cli))})" if httpx_cli else ""
    return [
        Row("import", f"`import httpx` alone, cumulative{httpx_note}", fmt_time(stats["httpx"]), "", "floor"),
        Row(
            "import",
            "**`import standx_client`**, cumulative (includes httpx)",
            fmt_time(stats["standx_client"]),
            f"{fmt_ratio(value, 1.3)} httpx",
            f"≤ 1.30x httpx: {verdict(value <= 1.3)}",
        ),
        Row(
            "import",
            "third-party top-level modules `import standx_client` adds to `import httpx` (distribution)",
            described,
            "",
            f"attrs, PyNaCl (+cffi), msgspec only: {verdict(dists <= EXPECTED_EXTRA)}",
        ),
    ]


def generate_rows(settings: Settings) -> list[Row]:
    progress("make generate")
    durations: list[float] = []
    for _ in range(settings.generate_runs):
        with tempfile.TemporaryDirectory() as out_root:
            start = time.perf_counter_ns()
            result = subprocess.run(
                [sys.executable, str(ROOT / "generator" / "generate.py"), "--out-root", out_root],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            durations.append(time.perf_counter_ns() - start)
            if result.returncode:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"generator/generate.py exited {result.returncode}: {last}")
    return [
        Row(
            "generate",
            f"`generator/generate.py --out-root <tmp>` wall time ({settings.generate_runs} runs)",
            fmt_time(Stats(tuple(durations))),
        )
    ]
