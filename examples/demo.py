"""`make demo`: a short trading session through standx_client against the local mock exchange.

Starts `python -m standx_mock` on a free loopback port, gets test credentials bound to a fresh ed25519 key,
reads market data, places, fills and cancels orders, shows positions and balance, follows the same account
on the WebSocket streams (market data, account events, an order sent on the order stream), then stops the mock.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
from standx_client import AsyncStandX, OrderFound, OrderStatusUnknownError, SigningKey, StandX, StandXError
from standx_client.models import SymbolInfo
from standx_client.streams import MarketStream, OrderStream, StreamMessage

SYMBOL = "BTC-USD"


@contextmanager
def mock_exchange() -> Iterator[str]:
    """The mock as a separate process, the way a bot's test suite would run it."""
    command = [sys.executable, "-m", "standx_mock", "--port", "0", "--market-maker", "--seed", "7"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # "standx-mock listening on http://127.0.0.1:PORT"
        if not line.startswith("standx-mock listening on "):
            raise SystemExit(f"the mock did not start: {line!r}")
        yield line.rsplit(" ", 1)[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def show(title: str, *lines: object) -> None:
    print(f"\n== {title}")
    for line in lines:
        print(f"   {line}")


def tick(info: SymbolInfo) -> Decimal:
    return Decimal(1).scaleb(-info.price_tick_decimals)


def main() -> None:
    with mock_exchange() as url:
        key = SigningKey.generate()  # the request-signing key the JWT will be bound to
        credentials = httpx.post(f"{url}/mock/credentials", json={"public_key": key.public_key_b58}).json()
        show("Signed in (mock test credentials)", f"user {credentials['user']}", f"signing key {key!r}")

        with StandX(jwt=credentials["token"], signing_key=key, base_url=url, geo_url=url) as client:
            show(
                "Exchange",
                f"health: {client.health()}",
                f"server time: {client.kline_time()} s",
                f"region: {client.query_region().region}",
            )

            (info,) = client.query_symbol_info(symbol=SYMBOL)
            price = client.query_symbol_price(symbol=SYMBOL)
            book = client.query_depth_book(symbol=SYMBOL)
            best_bid = max(level[0] for level in book.bids)
            best_ask = min(level[0] for level in book.asks)
            show(
                f"{SYMBOL} market data",
                f"tick {tick(info)}, min qty {info.min_order_qty}, taker fee {info.taker_fee}",
                f"mark {price.mark_price}, index {price.index_price}, last {price.last_price}",
                f"book: best bid {best_bid} / best ask {best_ask} ({len(book.bids)} + {len(book.asks)} levels)",
            )

            client.change_leverage(symbol=SYMBOL, leverage=5)
            config = client.query_position_config(symbol=SYMBOL)
            show("Leverage", f"{config.symbol}: {config.leverage}x, {config.margin_mode} margin")

            resting_price = (best_bid * Decimal("0.98")).quantize(tick(info))
            resting = client.new_order(
                symbol=SYMBOL, side="buy", order_type="limit", qty=Decimal("0.010"), price=resting_price,
                time_in_force="gtc", reduce_only=False,
            )  # fmt: skip
            market = client.new_order(
                symbol=SYMBOL, side="buy", order_type="market", qty=Decimal("0.020"), time_in_force="ioc",
                reduce_only=False,
            )  # fmt: skip
            open_orders = client.query_open_orders(symbol=SYMBOL)
            show(
                "Orders placed",
                f"limit buy 0.010 @ {resting_price} -> cl_ord_id {resting.cl_ord_id}",
                f"market buy 0.020 -> cl_ord_id {market.cl_ord_id}",
                *(f"open: #{o.id} {o.side} {o.qty} @ {o.price} ({o.status})" for o in open_orders.result),
            )

            time.sleep(0.05)
            trades = client.query_trades(symbol=SYMBOL)
            show(
                "Fills",
                *(f"#{t.id} {t.side} {t.qty} @ {t.price}, fee {t.fee_qty} {t.fee_asset}" for t in trades.result),
            )
            for position in client.query_positions(symbol=SYMBOL):
                show(
                    "Position",
                    f"{position.symbol} qty {position.qty} entry {position.entry_price} mark {position.mark_price}",
                    f"upnl {position.upnl}, liquidation {position.liq_price}",
                )

            client.cancel_order(cl_ord_id=resting.cl_ord_id)
            cancelled = client.query_order(cl_ord_id=resting.cl_ord_id)
            show("Cancelled", f"#{cancelled.id} {cancelled.cl_ord_id}: {cancelled.status}")

            client.new_order(
                symbol=SYMBOL, side="sell", order_type="market", qty=Decimal("0.020"), time_in_force="ioc",
                reduce_only=True,
            )  # fmt: skip
            positions = client.query_positions(symbol=SYMBOL)
            balance = client.query_balance()
            show(
                "Closed and settled",
                *(f"{p.symbol} qty {p.qty}, realized pnl {p.realized_pnl}" for p in positions),
                f"balance {balance.balance} DUSD, equity {balance.equity}, available {balance.cross_available}",
            )

            try:
                client.new_order(
                    symbol=SYMBOL, side="buy", order_type="limit", qty=Decimal("0.0001"), price=resting_price,
                    time_in_force="gtc", reduce_only=False,
                )  # fmt: skip
            except StandXError as error:
                show("A rejected order is a typed error", f"{type(error).__name__}: {error}")

            # The exchange runs the order but the answer is lost (the mock drops the connection afterwards).
            httpx.post(f"{url}/mock/faults", json={"drop_rate": 1.0, "when": "after", "operations": ["new_order"]})
            try:
                client.new_order(
                    symbol=SYMBOL, side="buy", order_type="limit", qty=Decimal("0.001"), price=resting_price,
                    time_in_force="gtc", reduce_only=False,
                )  # fmt: skip
            except OrderStatusUnknownError as unknown:
                httpx.delete(f"{url}/mock/faults")
                (entry,) = client.unresolved_orders
                result = client.resolve_order(unknown.cl_ord_id)
                show(
                    "A lost answer is an unknown outcome, settled by cl_ord_id",
                    f"{type(unknown).__name__}: cl_ord_id {unknown.cl_ord_id} ({entry.reason})",
                    f"ledger: {entry.side} {entry.qty} {entry.symbol} @ {entry.price}, in flight until settles_at",
                    f"resolve_order -> {type(result).__name__}"
                    + (f": order #{result.order.id} {result.order.status}" if isinstance(result, OrderFound) else ""),
                    f"unresolved orders left: {len(client.unresolved_orders)}",
                )

        asyncio.run(streams(url, credentials["token"], key, tick(info)))
    print("\nMock exchange stopped.")


async def streams(url: str, jwt: str, key: SigningKey, price_tick: Decimal) -> None:
    """The same account on the WebSocket streams: prices, its own order events, and the order stream."""
    ws = url.replace("http://", "ws://")
    async with (
        MarketStream(jwt=jwt, url=f"{ws}/ws-stream/v1") as market,
        OrderStream(jwt=jwt, signing_key=key, url=f"{ws}/ws-api/v1") as orders,
        AsyncStandX(jwt=jwt, signing_key=key, base_url=url, session_id=orders.session_id) as client,
    ):
        await market.subscribe("price", SYMBOL)
        await market.subscribe("order")
        price = await next_on(market, "price")
        bid = (price.mark_price * Decimal("0.97")).quantize(price_tick)
        placed = await orders.new_order(
            symbol=SYMBOL, side="buy", order_type="limit", qty=Decimal("0.005"), price=bid, time_in_force="alo",
            reduce_only=False,
        )  # fmt: skip
        event = await next_on(market, "order")
        http = await client.cancel_order(cl_ord_id=placed.cl_ord_id)  # over HTTP, reported on the order stream
        result = await orders.wait_for(http.request_id)
        cancelled = await next_on(market, "order")
        show(
            "Streams (WebSocket)",
            f"price: mark {price.mark_price}, best bid / ask {' / '.join(str(p) for p in price.spread or [])}",
            f"order:new on the order stream -> accepted {placed.accepted}, code {placed.response.code}",
            f"order event: #{event.id} {event.side} {event.qty} @ {event.price} ({event.status})",
            f"HTTP cancel with x-session-id -> stream frame code {result.code} {result.message}",
            f"order event: #{cancelled.id} {cancelled.status}",
        )


async def next_on(stream: MarketStream, channel: str) -> Any:
    """The next frame of `channel` (others skipped)."""
    while True:
        event = await asyncio.wait_for(anext(stream), 10)
        if isinstance(event, StreamMessage) and event.channel == channel:
            return event.data


if __name__ == "__main__":
    main()
