"""`make bench`: the client's costs next to their floors, one table, every row measured in the same run.

    python bench/run.py            # full run (about 1-2 minutes on 2 cores), writes docs/benchmarks.md
    python bench/run.py --quick    # smoke run (under 30 s), prints only unless --out is given

Targets are reported PASS/FAIL in the last column and never fail the command; it exits 1 only when a
section could not be measured at all (an ERROR row).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Row, Settings, load_average, machine, progress, usable_cores
from inprocess import parsing_rows, request_rows, signing_rows
from loopback import loopback_rows
from startup import generate_rows, import_rows
from stream_rows import stream_rows

ROOT = Path(__file__).resolve().parent.parent
SECTIONS: list[tuple[str, Callable[[Settings], list[Row]]]] = [
    ("in process", request_rows),
    ("loopback", loopback_rows),
    ("signing", signing_rows),
    ("parsing", parsing_rows),
    ("streams", stream_rows),
    ("import", import_rows),
    ("generate", generate_rows),
]
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"

INTRO = """\
# Benchmarks

Written by `make bench` (`bench/run.py`); rerun it rather than editing this file. `make bench` is not part
of `make test`: targets are reported PASS/FAIL here and never fail the command (it exits 1 only when a
section could not be measured, shown as an ERROR row).
"""

METHOD = """\
## What is measured

- **Floors.** (a) *raw httpx* is the code people write by hand: an `httpx.Client`/`AsyncClient` with
  `base_url`, `client.get("/api/query_symbol_price?symbol=BTC-USD")` (or `params={...}`) and
  `json.loads(resp.content)`; for `new_order` a compact `json.dumps(..., separators=(",", ":"))` body,
  an ed25519 signature with PyNaCl over `v1,{uuid4},{ms},{body}`, base64, the four `x-request-*`
  headers plus `Authorization`, `client.post(path, content=..., headers=...)`, `json.loads`.
  (b) the *lean floor* is a prepared `httpx.Request` (final URL string, header list,
  `extensions["timeout"]`) handed to the same transport with `handle_request` / `handle_async_request`,
  `read()`, `json.loads`; for `new_order` it also builds the body, the signature and the headers on every
  call. A client that also reuses parsed `httpx.URL`s (URL parsing is a large share of `httpx.Request`)
  can come in under it. Both floors send the docs' `new_order` example as is; the client also
  generates and sends a `cl_ord_id` (ULID), validates its arguments and returns typed models with
  `Decimal` money, all of which is inside its ratio.
- **In process**: every variant shares one `httpx.MockTransport` answering the docs' canned JSON
  (`tests/fixtures/doc_examples.json`), so only client-side work is timed. Client rows use
  `rate_limit=None, ip_rate_limit=None, retry=None` unless the row says otherwise: the rows time the
  request path, not the pacing (the default per-IP limit admits 45 requests a second). The limiter rows
  use buckets too large to ever run dry (the limiters' code path, a lock and a subtraction each, without
  sleeping): both buckets for `new_order`, the per-IP one for the public `query_symbol_price`.
- **Loopback**: the mock exchange (`standx_mock.server.serve`, uvicorn in a thread of this process) on
  127.0.0.1 behind a real `httpx.HTTPTransport`; client and raw httpx with default pool limits,
  alternating round by round. The mock is the bottleneck; the target is only that the client keeps up.
  Concurrent rows run batches of 50 calls under `asyncio.gather`; httpx's default pool keeps at most 20
  idle connections, so each batch reopens about 30 connections, on both sides alike.
- **Signing**: `standx_client.signing.signature_headers` against bare PyNaCl `SigningKey.sign` of the same
  message with a pre-built key.
- **Parsing**: order pages built from the docs' order example (ids, prices, sizes, locked amounts and
  times vary, so no decimal repeats a sibling's), typed by the operation's `parse_success(body)` (msgspec builds
  the attrs models from the bytes; it keeps no table of parsed values, so every run is a first sight), against
  `json.loads` alone; beside it, `from_dict` over `json.loads(parse_float=Decimal)`, the pure-Python path the
  decoder replaced. One documented `price` frame of the market stream, `_decode.market_frame`, against
  `json.loads` of that frame. Peak memory with `tracemalloc`.
- **Streams**: a WebSocket server on 127.0.0.1 in a subprocess (`bench/ws_server.py`), so the figure is this
  process's CPU time (`time.process_time_ns`) per frame or per order, whatever the server's speed. Price
  frames: the documented `price` frame with varying seq and prices (16 000 distinct decimal strings), 500
  written to the socket in one go per sample call; bare `websockets` `recv()` + `json.loads` against
  `MarketStream` iteration (typed `StreamPrice`, exact Decimals), plus the same iteration with the typed decode
  swapped for a plain msgspec dict decode to show what the models cost. `order:new`: the
  floor builds the docs' `new_order` example as compact JSON (`json.dumps`, as a hand-written script does),
  signs it with PyNaCl, sends the envelope and reads the `accepted` and `success` frames (`json.loads`) on the
  same socket; `OrderStream.new_order` does the same through its reader task, plus the spec's argument checks
  and a `cl_ord_id`, encoding with msgspec (the same bytes as `json.dumps`, at a tenth of the cost). Two
  information rows: the client with the checks taken out, and the floor with msgspec for the JSON both ways,
  which shows what is left of the client's own cost once the encoder is the same (the checks and the reader
  task's extra event-loop turn per order).
- **Import**: `python -X importtime -c "import ..."` in fresh processes (after one warm-up each, so
  bytecode is cached), cumulative time of the top-level line, interleaved.
- **Hygiene**: per-variant warm-up, then rounds in which every variant of a group takes one sample
  (rotating order); a sample is many calls timed with `time.perf_counter_ns` after `gc.collect()` with
  `gc` disabled. Values are the median and `[p25..p75]` over the rounds; ratios are the median of the
  per-round ratios (time ratios: lower is better; `req/s` ratios: higher is better).
"""


def _load(load: tuple[float, float] | None) -> str:
    return "unknown" if load is None else f"{load[0]:.2f} (1 min), {load[1]:.2f} (5 min)"


def render(
    rows: list[Row], settings: Settings, quick: bool, elapsed: float, load_before: tuple[float, float] | None
) -> str:
    lines = [INTRO, "## Machine", ""]
    lines += [f"- {name}: {value}" for name, value in machine()]
    load_after = load_average()
    lines.append(f"- Load average: {_load(load_before)} before the run, {_load(load_after)} after")
    lines.append(
        f"- Run: {'`--quick` (smoke)' if quick else 'full'}; {settings.repeats} rounds in process, "
        f"{settings.loop_repeats} on loopback, {settings.import_runs} import processes, "
        f"{settings.generate_runs} generate runs; {elapsed:.0f} s in all"
    )
    busiest = max((load[0] for load in (load_before, load_after) if load), default=0.0)
    if busiest > usable_cores() / 2:
        lines += [
            "",
            f"**The machine was busy** (1-minute load up to {busiest:.2f} on {usable_cores()} cores, from other work "
            "than this run): absolute times and spreads are inflated; ratios, paired by round, hold up better.",
        ]
    lines += ["", "## Results", ""]
    lines.append("| Area | Measurement | Median [p25..p75] | Ratio | Target |")
    lines.append("|---|---|---|---|---|")
    for row in rows:
        cells = [row.area, row.name, row.value, row.ratio, row.target]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    passed = sum(row.target.endswith("PASS") for row in rows)
    failed = sum(row.target.endswith("FAIL") for row in rows)
    lines += ["", f"Targets: {passed} PASS, {failed} FAIL.", "", METHOD]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run, under 30 s)")
    parser.add_argument("--out", type=Path, help=f"write the report here (full runs default to {DEFAULT_OUT})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--only", action="append", choices=[area for area, _ in SECTIONS], help="run only this section (repeatable)"
    )
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    # A partial table never replaces the committed report unless --out says where it goes.
    out = None if args.no_write else args.out or (None if args.quick or args.only else DEFAULT_OUT)

    load_before = load_average()
    start = time.monotonic()
    rows: list[Row] = []
    errors = 0
    for area, section in SECTIONS:
        if args.only and area not in args.only:
            continue
        try:
            rows += section(settings)
        except Exception as exc:  # one broken section must not cost the rest of the table
            errors += 1
            traceback.print_exc()
            rows.append(Row(area, f"`{section.__name__}` could not be measured", f"ERROR: {type(exc).__name__}: {exc}"))
    report = render(rows, settings, args.quick, time.monotonic() - start, load_before)

    print(report)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")
        progress(f"wrote {out}")
    if errors:
        progress(f"{errors} section(s) could not be measured (see ERROR rows); targets never fail the run, errors do")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
