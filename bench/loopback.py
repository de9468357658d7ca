"""Loopback rows: requests per second against the mock exchange on a real socket (`httpx.HTTPTransport`).

The mock runs in this process (uvicorn in a thread, `standx_mock.server.serve`), so it shares the GIL and
the cores with the caller and is the bottleneck; the question is only whether the client keeps up with raw
httpx on the same kind of pool. Client and raw httpx alternate round by round to cancel drift.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from harness import Row, Settings, Stats, fmt_rate, fmt_ratio, measure, measure_async, progress, ratio, verdict
from standx_client import AsyncStandX, StandX
from standx_mock.config import MockConfig
from standx_mock.server import serve

PATH = "/api/query_symbol_price?symbol=BTC-USD"
CONCURRENCY = 50


def _rows(area: str, stats: dict[str, Stats]) -> list[Row]:
    # ratio() of ns per request, inverted: client req/s over raw req/s, paired by round.
    speed = 1 / ratio(stats["client"], stats["raw"])
    return [
        Row(
            area,
            "query_symbol_price: raw httpx (default pool limits) + `json.loads`",
            fmt_rate(stats["raw"]),
            "",
            "floor",
        ),
        Row(
            area,
            "query_symbol_price: **client** (default settings)",
            fmt_rate(stats["client"]),
            f"{fmt_ratio(speed, 1.0)} raw req/s",
            f"≥ 1.00x raw req/s: {verdict(speed >= 1.0)}",
        ),
    ]


def loopback_rows(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    timing = {"repeats": settings.loop_repeats, "warmup_s": 0.3, "sample_s": settings.loop_sample_s}
    with serve(MockConfig(market_maker=True)) as base_url:
        progress(f"loopback, sequential (mock at {base_url})")
        raw = httpx.Client(base_url=base_url)
        client = StandX(base_url=base_url, ip_rate_limit=None)  # the mock is the bottleneck, not a limit
        assert client.query_symbol_price(symbol="BTC-USD").symbol == "BTC-USD"
        try:
            stats = measure(
                {
                    "raw": lambda: json.loads(raw.get(PATH).content),
                    "client": lambda: client.query_symbol_price(symbol="BTC-USD"),
                },
                **timing,
            )
        finally:
            raw.close()
            client.close()
        rows += _rows("loopback, sequential sync", stats)

        progress(f"loopback, {CONCURRENCY} concurrent async")
        with asyncio.Runner() as runner:
            araw = httpx.AsyncClient(base_url=base_url)
            aclient = AsyncStandX(base_url=base_url, ip_rate_limit=None)

            async def raw_one() -> object:
                return json.loads((await araw.get(PATH)).content)

            async def raw_batch() -> object:
                return await asyncio.gather(*(raw_one() for _ in range(CONCURRENCY)))

            async def client_batch() -> object:
                return await asyncio.gather(*(aclient.query_symbol_price(symbol="BTC-USD") for _ in range(CONCURRENCY)))

            try:
                per_batch = measure_async(runner, {"raw": raw_batch, "client": client_batch}, **timing)
            finally:
                runner.run(araw.aclose())
                runner.run(aclient.aclose())
        per_request = {name: s.map(lambda ns: ns / CONCURRENCY) for name, s in per_batch.items()}
        rows += _rows(f"loopback, {CONCURRENCY} concurrent async", per_request)
    return rows
