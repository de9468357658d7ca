"""In-process rows: the request path against `httpx.MockTransport`, signing, and parsing order pages.

Every transport answers the docs' canned JSON (tests/fixtures/doc_examples.json), so what is timed is the
client-side work of one call: build, sign, hand to the transport, read, decode, type.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import gc
import json
import time
import tracemalloc
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
from harness import (
    Row,
    Settings,
    Stats,
    fmt_bytes,
    fmt_ratio,
    fmt_time,
    measure,
    measure_async,
    progress,
    ratio,
    verdict,
)
from standx_client import AsyncStandX, SigningKey, StandX
from standx_client._base import DEFAULT_BASE_URL
from standx_client._decode import market_frame
from standx_client.api.account import query_open_orders, query_orders
from standx_client.models import OrderPage
from standx_client.retry import RateLimit
from standx_client.signing import signature_headers

ROOT = Path(__file__).resolve().parent.parent
DOCS: dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "doc_examples.json").read_text(encoding="utf-8"))

BASE_URL = DEFAULT_BASE_URL  # the spec's perps host: raw httpx and the client send to the same URLs
JWT = "bench.jwt.token"
PRICE_PATH = "/api/query_symbol_price"
ORDER_PATH = "/api/new_order"
PRICE_URL = f"{BASE_URL}{PRICE_PATH}?symbol=BTC-USD"
ORDER_URL = f"{BASE_URL}{ORDER_PATH}"
CANNED = {
    PRICE_PATH: json.dumps(DOCS["query_symbol_price"]["response"]).encode(),
    ORDER_PATH: json.dumps(DOCS["new_order"]["response"]).encode(),
}
# The docs' new_order example, as a hand-written client would send it (no client order id).
ORDER: dict[str, Any] = dict(DOCS["new_order"]["request"])
ORDER_KWARGS: dict[str, Any] = {
    **ORDER,
    "qty": Decimal(ORDER["qty"]),
    "price": Decimal(ORDER["price"]),
}
TIMEOUT_EXT = {"timeout": httpx.Timeout(10.0, connect=5.0).as_dict()}
# The header set the client sends, prepared once (the lean floor's "prepared" part).
GET_HEADERS = [("accept", "application/json"), ("user-agent", "standx-client-python")]
POST_HEADERS = [*GET_HEADERS, ("authorization", f"Bearer {JWT}"), ("content-type", "application/json")]
# A limiter whose bucket never runs dry: the default limiter's code path (lock, refill, subtraction)
# without ever sleeping, so new_order can be timed "within burst" for as long as the benchmark needs.
NEVER_WAITS = RateLimit(cost=45.0, capacity=1e15, refill_per_second=1e15)
NEVER_IP = RateLimit(cost=1.0, capacity=1e15, refill_per_second=1e15)  # the per-IP limiter's path, never sleeping

_JSON_HEADERS = [("content-type", "application/json")]


def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=_JSON_HEADERS, content=CANNED[request.url.path])


def _sign_raw(key: nacl.signing.SigningKey, body: str) -> dict[str, str]:
    """The signing headers the way a hand-written client builds them."""
    request_id = str(uuid.uuid4())
    timestamp = str(time.time_ns() // 1_000_000)
    signature = key.sign(f"v1,{request_id},{timestamp},{body}".encode()).signature
    return {
        "authorization": f"Bearer {JWT}",
        "x-request-sign-version": "v1",
        "x-request-id": request_id,
        "x-request-timestamp": timestamp,
        "x-request-signature": base64.b64encode(signature).decode(),
    }


def _lean_order_request(key: nacl.signing.SigningKey) -> httpx.Request:
    """The lean floor's new_order: body, signature and headers built, final URL and fixed headers prepared."""
    body = json.dumps(ORDER, separators=(",", ":")).encode()
    request_id = str(uuid.uuid4())
    timestamp = str(time.time_ns() // 1_000_000)
    signature = key.sign(b",".join((b"v1", request_id.encode(), timestamp.encode(), body))).signature
    headers = [
        *POST_HEADERS,
        ("x-request-sign-version", "v1"),
        ("x-request-id", request_id),
        ("x-request-timestamp", timestamp),
        ("x-request-signature", base64.b64encode(signature).decode()),
    ]
    return httpx.Request("POST", ORDER_URL, headers=headers, content=body, extensions=TIMEOUT_EXT)


def _lean_price_request() -> httpx.Request:
    return httpx.Request("GET", PRICE_URL, headers=GET_HEADERS, extensions=TIMEOUT_EXT)


# --- sync ---------------------------------------------------------------------------------------------------


def _sync_variants(nacl_key: nacl.signing.SigningKey, key: SigningKey) -> tuple[dict[str, Any], dict[str, Any], list]:
    transport = httpx.MockTransport(_handler)
    raw = httpx.Client(transport=transport, base_url=BASE_URL)
    client = StandX(
        jwt=JWT,
        signing_key=key,
        base_url=BASE_URL,
        transport=transport,
        rate_limit=None,
        ip_rate_limit=None,
        retry=None,
    )
    limited_order = StandX(
        jwt=JWT,
        signing_key=key,
        base_url=BASE_URL,
        transport=transport,
        rate_limit=NEVER_WAITS,
        ip_rate_limit=NEVER_IP,
        retry=None,
    )
    default_limiter = StandX(
        jwt=JWT, signing_key=key, base_url=BASE_URL, transport=transport, ip_rate_limit=NEVER_IP, retry=None
    )

    def raw_order() -> object:
        body = json.dumps(ORDER, separators=(",", ":"))
        response = raw.post(ORDER_PATH, content=body, headers=_sign_raw(nacl_key, body))
        return json.loads(response.content)

    def lean_order() -> object:
        response = transport.handle_request(_lean_order_request(nacl_key))
        response.read()
        response.close()
        return json.loads(response.content)

    def raw_price() -> object:
        return json.loads(raw.get(f"{PRICE_PATH}?symbol=BTC-USD").content)

    def raw_price_params() -> object:
        return json.loads(raw.get(PRICE_PATH, params={"symbol": "BTC-USD"}).content)

    def lean_price() -> object:
        response = transport.handle_request(_lean_price_request())
        response.read()
        response.close()
        return json.loads(response.content)

    order = {
        "raw": raw_order,
        "lean": lean_order,
        "client": lambda: client.new_order(**ORDER_KWARGS),
        "limiter": lambda: limited_order.new_order(**ORDER_KWARGS),
    }
    price = {
        "raw": raw_price,
        "raw_params": raw_price_params,
        "lean": lean_price,
        "client": lambda: client.query_symbol_price(symbol="BTC-USD"),
        "limiter": lambda: default_limiter.query_symbol_price(symbol="BTC-USD"),
    }
    return order, price, [raw, client, limited_order, default_limiter]


# --- async --------------------------------------------------------------------------------------------------


def _async_variants(nacl_key: nacl.signing.SigningKey, key: SigningKey) -> tuple[dict[str, Any], dict[str, Any], list]:
    transport = httpx.MockTransport(_handler)
    raw = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
    client = AsyncStandX(
        jwt=JWT,
        signing_key=key,
        base_url=BASE_URL,
        transport=transport,
        rate_limit=None,
        ip_rate_limit=None,
        retry=None,
    )
    limited_order = AsyncStandX(
        jwt=JWT,
        signing_key=key,
        base_url=BASE_URL,
        transport=transport,
        rate_limit=NEVER_WAITS,
        ip_rate_limit=NEVER_IP,
        retry=None,
    )
    default_limiter = AsyncStandX(
        jwt=JWT, signing_key=key, base_url=BASE_URL, transport=transport, ip_rate_limit=NEVER_IP, retry=None
    )

    async def raw_order() -> object:
        body = json.dumps(ORDER, separators=(",", ":"))
        response = await raw.post(ORDER_PATH, content=body, headers=_sign_raw(nacl_key, body))
        return json.loads(response.content)

    async def lean_order() -> object:
        response = await transport.handle_async_request(_lean_order_request(nacl_key))
        await response.aread()
        await response.aclose()
        return json.loads(response.content)

    async def raw_price() -> object:
        return json.loads((await raw.get(f"{PRICE_PATH}?symbol=BTC-USD")).content)

    async def raw_price_params() -> object:
        return json.loads((await raw.get(PRICE_PATH, params={"symbol": "BTC-USD"})).content)

    async def lean_price() -> object:
        response = await transport.handle_async_request(_lean_price_request())
        await response.aread()
        await response.aclose()
        return json.loads(response.content)

    order = {
        "raw": raw_order,
        "lean": lean_order,
        "client": lambda: client.new_order(**ORDER_KWARGS),
        "limiter": lambda: limited_order.new_order(**ORDER_KWARGS),
    }
    price = {
        "raw": raw_price,
        "raw_params": raw_price_params,
        "lean": lean_price,
        "client": lambda: client.query_symbol_price(symbol="BTC-USD"),
        "limiter": lambda: default_limiter.query_symbol_price(symbol="BTC-USD"),
    }
    return order, price, [raw, client, limited_order, default_limiter]


def _request_rows(area: str, operation: str, stats: dict[str, Stats]) -> list[Row]:
    lean, raw = stats["lean"], stats["raw"]
    target = 1.25

    def versus(name: str, lean_target: float | None = None) -> str:
        return f"{fmt_ratio(ratio(stats[name], lean), lean_target)} lean, {fmt_ratio(ratio(stats[name], raw))} raw"

    rows = [
        Row(
            area,
            f"{operation}: raw httpx `client.{'post' if operation == 'new_order' else 'get'}(...)` + `json.loads`",
            fmt_time(raw),
            f"{fmt_ratio(ratio(raw, lean))} lean",
            "floor (a)",
        )
    ]
    if "raw_params" in stats:
        rows.append(
            Row(
                area,
                f"{operation}: raw httpx `client.get(path, params={{...}})` + `json.loads`",
                fmt_time(stats["raw_params"]),
                f"{fmt_ratio(ratio(stats['raw_params'], lean))} lean",
                "floor (a)",
            )
        )
    rows.append(
        Row(
            area,
            f"{operation}: lean floor (prepared `httpx.Request` to the transport)",
            fmt_time(lean),
            "1.00x",
            "floor (b)",
        )
    )
    client_ratio = ratio(stats["client"], lean)
    rows.append(
        Row(
            area,
            f"{operation}: **client** (`rate_limit=None, ip_rate_limit=None`)",
            fmt_time(stats["client"]),
            versus("client", target),
            f"≤ {target:.2f}x lean: {verdict(client_ratio <= target)}",
        )
    )
    limiter = (
        "client, both limiters on (buckets never empty: lock, refill, subtraction)"
        if operation == "new_order"
        else "client, per-IP limiter on (public: the account bucket is not consulted)"
    )
    rows.append(Row(area, f"{operation}: {limiter}", fmt_time(stats["limiter"]), versus("limiter")))
    return rows


def request_rows(settings: Settings) -> list[Row]:
    nacl_key = nacl.signing.SigningKey.generate()
    key = SigningKey.parse(bytes(nacl_key))
    timing = {"repeats": settings.repeats, "warmup_s": settings.warmup_s, "sample_s": settings.sample_s}
    rows: list[Row] = []

    progress("in process, sync")
    order, price, clients = _sync_variants(nacl_key, key)
    rows += _request_rows("in process, sync", "new_order", measure(order, **timing))
    rows += _request_rows("in process, sync", "query_symbol_price", measure(price, **timing))
    for closable in clients:
        closable.close()

    progress("in process, async")
    with asyncio.Runner() as runner:
        order, price, clients = _async_variants(nacl_key, key)
        rows += _request_rows("in process, async", "new_order", measure_async(runner, order, **timing))
        rows += _request_rows("in process, async", "query_symbol_price", measure_async(runner, price, **timing))
        for closable in clients:
            runner.run(closable.aclose())
    return rows


# --- signing ------------------------------------------------------------------------------------------------


def signing_rows(settings: Settings) -> list[Row]:
    progress("signing")
    nacl_key = nacl.signing.SigningKey.generate()
    key = SigningKey.parse(bytes(nacl_key))
    body = json.dumps(ORDER, separators=(",", ":")).encode()
    request_id, timestamp = str(uuid.uuid4()), 1_754_884_000_000
    message = b",".join((b"v1", request_id.encode(), str(timestamp).encode(), body))
    assert base64.b64decode(signature_headers(key, body, request_id, timestamp)["x-request-signature"]) == (
        nacl_key.sign(message).signature
    )
    stats = measure(
        {
            "nacl": lambda: nacl_key.sign(message),
            "client": lambda: signature_headers(key, body, request_id, timestamp),
        },
        repeats=settings.repeats,
        warmup_s=settings.warmup_s,
        sample_s=settings.sample_s,
    )
    value = ratio(stats["client"], stats["nacl"])
    return [
        Row("signing", "bare PyNaCl `SigningKey.sign(message)`, pre-built key", fmt_time(stats["nacl"]), "", "floor"),
        Row(
            "signing",
            "**`signature_headers(key, body, request_id, ts_ms)`** (message, sign, base64, 4 headers)",
            fmt_time(stats["client"]),
            f"{fmt_ratio(value, 1.05)} PyNaCl",
            f"≤ 1.05x PyNaCl: {verdict(value <= 1.05)}",
        ),
    ]


# --- parsing ------------------------------------------------------------------------------------------------


def order_page(example: dict[str, Any], count: int) -> bytes:
    """A page of `count` orders made from the docs' order example: ids, prices, sizes, locked amounts and times
    differ from order to order, so no decimal text repeats a sibling's (nothing a cache could reuse)."""
    template = example["result"][0]
    created = datetime.datetime.fromisoformat(template["created_at"])
    orders = []
    for i in range(count):
        order = dict(template)
        stamp = (created + datetime.timedelta(milliseconds=37 * i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        order.update(
            id=template["id"] + i,
            cl_ord_id=f"01K2BK4ZKQE0C308SRD{i:07d}",
            side="buy" if i % 2 else "sell",
            price=f"{Decimal(template['price']) + Decimal(i) / 100:.2f}",
            qty=f"{Decimal('0.001') * (1 + i):.3f}",
            avail_locked=f"{Decimal('3.071880000') + Decimal(i) / 1000:.9f}",
            created_at=stamp,
            updated_at=stamp,
        )
        orders.append(order)
    return json.dumps({"page_size": count, "result": orders, "total": count}).encode()


def _peak(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def parsing_rows(settings: Settings) -> list[Row]:
    progress("parsing")
    rows: list[Row] = []
    timing = {"repeats": settings.repeats, "warmup_s": settings.warmup_s * 2, "sample_s": settings.sample_s * 2.5}
    target = 1.1
    cases = [
        ("query_orders", 500, query_orders.parse_success),
        ("query_open_orders", 1200, query_open_orders.parse_success),
    ]
    for operation, count, parse in cases:
        body = order_page(DOCS[operation]["response"], count)
        page = parse(body)
        assert len(page.result) == count and page == OrderPage.from_dict(json.loads(body, parse_float=Decimal))
        variants: dict[str, Callable[[], object]] = {
            "loads": lambda body=body: json.loads(body),
            "client": lambda body=body, parse=parse: parse(body),
            "from_dict": lambda body=body: OrderPage.from_dict(json.loads(body, parse_float=Decimal)),
        }
        stats = measure(variants, **timing)
        value = ratio(stats["client"], stats["loads"])
        label = f"{count}-order `{operation}` page ({fmt_bytes(len(body))}, every decimal new)"
        rows.append(Row("parsing", f"{label}: `json.loads` alone", fmt_time(stats["loads"]), "", "floor"))
        rows.append(
            Row(
                "parsing",
                f"{label}: **`parse_success(body)`**, bytes -> typed models (msgspec into the attrs classes)",
                fmt_time(stats["client"]),
                f"{fmt_ratio(value, target)} json.loads",
                f"≤ {target:.2f}x json.loads: {verdict(value <= target)}",
            )
        )
        rows.append(
            Row(
                "parsing",
                f"{label}: `from_dict(json.loads(body, parse_float=Decimal))` (the pure-Python path it replaced)",
                fmt_time(stats["from_dict"]),
                f"{fmt_ratio(ratio(stats['from_dict'], stats['loads']))} json.loads",
            )
        )
        if count == 1200:
            loads_peak = _peak(lambda body=body: json.loads(body))
            parse_peak = _peak(lambda body=body, parse=parse: parse(body))
            rows.append(
                Row(
                    "parsing",
                    f"{label}: peak memory of the typed decode (tracemalloc)",
                    fmt_bytes(parse_peak),
                    f"{fmt_ratio(parse_peak / loads_peak)} json.loads ({fmt_bytes(loads_peak)})",
                )
            )
    rows += _frame_rows(timing)
    return rows


def _frame_rows(timing: dict[str, Any]) -> list[Row]:
    """One documented `price` frame of the market stream (tests/fixtures/ws_examples.json), bytes -> typed payload."""
    example = json.loads((ROOT / "tests" / "fixtures" / "ws_examples.json").read_text(encoding="utf-8"))["price"]
    frame = json.dumps(example).encode()
    assert market_frame(frame).data.mark_price == Decimal(example["data"]["mark_price"])
    stats = measure({"loads": lambda: json.loads(frame), "client": lambda: market_frame(frame)}, **timing)
    value = ratio(stats["client"], stats["loads"])
    label = f"one `price` stream frame ({len(frame)} bytes)"
    return [
        Row("parsing", f"{label}: `json.loads` alone", fmt_time(stats["loads"]), "", "floor"),
        Row(
            "parsing",
            f"{label}: **`_decode.market_frame(frame)`**, bytes -> `Frame` with the typed `StreamPrice`",
            fmt_time(stats["client"]),
            f"{fmt_ratio(value, 1.0)} json.loads",
            f"≤ 1.00x json.loads: {verdict(value <= 1.0)}",
        ),
    ]
