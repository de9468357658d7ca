"""Measurement helpers: interleaved samples with the garbage collector off, medians and spread, the machine.

Every comparison in the table is a *group* of variants measured in the same rounds: each round takes one
sample of every variant (in a rotating order, so no variant always runs first or last; with two variants
they alternate), and a sample is
many back-to-back calls timed with `time.perf_counter_ns`, after `gc.collect()` and with `gc` disabled.
Ratios are the median over rounds of the per-round ratio, which cancels drift (CPU frequency, a noisy
neighbour) that hits both variants of a round alike.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

SyncFn = Callable[[], object]
AsyncFn = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Settings:
    """How hard to measure; `quick` is a smoke run."""

    repeats: int  # rounds (samples per variant) for in-process groups
    sample_s: float  # target duration of one in-process sample
    warmup_s: float  # per-variant warm-up before calibration
    loop_repeats: int  # rounds for loopback groups
    loop_sample_s: float  # target duration of one loopback sample
    import_runs: int  # fresh processes per import measurement
    generate_runs: int  # `generator/generate.py` runs

    @classmethod
    def full(cls) -> Settings:
        return cls(
            repeats=15,
            sample_s=0.04,
            warmup_s=0.1,
            loop_repeats=14,
            loop_sample_s=0.8,
            import_runs=7,
            generate_runs=3,
        )

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            repeats=5,
            sample_s=0.015,
            warmup_s=0.03,
            loop_repeats=3,
            loop_sample_s=0.25,
            import_runs=3,
            generate_runs=1,
        )


@dataclass(frozen=True)
class Stats:
    """Samples in round order (so two groups' samples pair up by index)."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return _quartiles(self.samples)[0]

    @property
    def q3(self) -> float:
        return _quartiles(self.samples)[2]

    def map(self, fn: Callable[[float], float]) -> Stats:
        return Stats(tuple(fn(s) for s in self.samples))


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def ratio(a: Stats, b: Stats) -> float:
    """Median over rounds of a/b (samples paired by round)."""
    return statistics.median(x / y for x, y in zip(a.samples, b.samples, strict=True))


def _time_sync(fn: SyncFn, n: int) -> int:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


async def _time_async_inner(fn: AsyncFn, n: int) -> int:
    start = time.perf_counter_ns()
    for _ in range(n):
        await fn()
    return time.perf_counter_ns() - start


def _time_async(runner: asyncio.Runner, fn: AsyncFn, n: int) -> int:
    gc.collect()
    gc.disable()
    try:
        return runner.run(_time_async_inner(fn, n))
    finally:
        gc.enable()


def _calibrate(timer: Callable[[int], int], warmup_s: float, sample_s: float) -> int:
    """Warm up for `warmup_s`, then the number of calls that makes a sample last about `sample_s`."""
    n, spent, calls = 1, 0, 0
    while calls == 0 or spent < warmup_s * 1e9:
        spent += timer(n)
        calls += n
        n *= 2
    per_call = spent / calls
    return max(1, round(sample_s * 1e9 / per_call))


def _interleaved(
    timers: dict[str, Callable[[int], int]], repeats: int, warmup_s: float, sample_s: float
) -> dict[str, Stats]:
    counts = {name: _calibrate(timer, warmup_s, sample_s) for name, timer in timers.items()}
    names = list(timers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        # Rotate who goes first; every other full rotation also reverse the order, so neighbours change too.
        shift = round_ % len(names)
        order = names[shift:] + names[:shift]
        if (round_ // len(names)) % 2:
            order.reverse()
        for name in order:
            samples[name].append(timers[name](counts[name]) / counts[name])
    return {name: Stats(tuple(values)) for name, values in samples.items()}


def measure(variants: dict[str, SyncFn], *, repeats: int, warmup_s: float, sample_s: float) -> dict[str, Stats]:
    """Nanoseconds per call of each synchronous variant, interleaved."""
    timers = {name: (lambda n, fn=fn: _time_sync(fn, n)) for name, fn in variants.items()}
    return _interleaved(timers, repeats, warmup_s, sample_s)


def measure_async(
    runner: asyncio.Runner, variants: dict[str, AsyncFn], *, repeats: int, warmup_s: float, sample_s: float
) -> dict[str, Stats]:
    """Nanoseconds per awaited call of each coroutine function, interleaved, on one event loop."""
    timers = {name: (lambda n, fn=fn: _time_async(runner, fn, n)) for name, fn in variants.items()}
    return _interleaved(timers, repeats, warmup_s, sample_s)


# --- formatting --------------------------------------------------------------------------------------------


def _unit(ns: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale:
            return scale, unit
    return 1.0, "ns"


def _num(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def fmt_ns(ns: float) -> str:
    scale, unit = _unit(ns)
    return f"{_num(ns / scale)} {unit}"


def fmt_time(stats: Stats) -> str:
    """`median [p25..p75]`, all three in the median's unit."""
    scale, unit = _unit(stats.median)
    return f"{_num(stats.median / scale)} {unit} [{_num(stats.q1 / scale)}..{_num(stats.q3 / scale)}]"


def fmt_rate(per_call_ns: Stats) -> str:
    """Requests per second from ns per request: `median req/s [p25..p75]`."""
    rps = per_call_ns.map(lambda ns: 1e9 / ns)
    return f"{rps.median:,.0f} req/s [{rps.q1:,.0f}..{rps.q3:,.0f}]"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def fmt_ratio(value: float, target: float | None = None) -> str:
    """`1.23x`; one more decimal when two would round onto the target and hide which side it is on."""
    if target is not None and round(value, 2) == target and value != target:
        return f"{value:.3f}x"
    return f"{value:.2f}x"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load_average() -> tuple[float, float] | None:
    """The 1- and 5-minute load averages (None where the OS has none)."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return None
    return one, five


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --- the machine -------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[tuple[str, str]]:
    usable = usable_cores()
    return [
        ("Date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", cpu_model()),
        ("Cores", f"{usable} usable ({os.cpu_count()} logical)"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("httpx", _version("httpx")),
        ("PyNaCl", _version("PyNaCl")),
        ("attrs", _version("attrs")),
        ("uvicorn (mock server)", _version("uvicorn")),
    ]


@dataclass
class Row:
    """One line of the table."""

    area: str
    name: str
    value: str
    ratio: str = ""
    target: str = ""


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
