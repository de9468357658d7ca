# Copied from overlays/cli/_stream.py by `make generate`. Do not edit here: edit overlays/cli/_stream.py.
"""`standx stream <channel> [SYMBOL]`: follow one market-stream channel, a line per event (NDJSON with --json).

The channels are the spec's (`x-standx-streams`); each is a command under its word there (`cli`: price, depth,
trades; orders, positions, balance, fills for the account) and under its own name. Needs the `ws` extra.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._base import DEFAULT_BASE_URL
from .._commands import STREAM_WORDS
from .._streams import CHANNELS, MARKET_URL
from ._output import cell, plain

if TYPE_CHECKING:
    from . import Run


def stream_url(base_url: str) -> str | None:
    """The market stream on the host the HTTP commands use (None: the exchange's own URL)."""
    if base_url == DEFAULT_BASE_URL or not MARKET_URL:
        return None
    parts = urlsplit(base_url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{urlsplit(MARKET_URL).path}"


def _summary(event: Any) -> str:
    data = plain(event.data)
    fields = data.items() if isinstance(data, dict) else [("data", data)]
    shown = [f"{k}={len(v)} levels" if isinstance(v, list) else f"{k}={cell(v)}" for k, v in fields]
    return " ".join([str(event.seq), event.channel, *([event.symbol] if event.symbol else []), *shown])


async def _follow(run: Run, channel: str, symbol: str | None, count: int | None) -> None:
    from ..streams import MarketStream, Reconnected

    jwt = None
    if CHANNELS[channel].auth:
        who = run.identity()
        if who is None:
            from . import NotSignedIn

            raise NotSignedIn(f"the {channel} channel is the account's: sign in first")
        jwt = who.jwt
    seen = 0
    async with MarketStream(jwt=jwt, url=stream_url(run.settings.base_url)) as stream:
        await stream.subscribe(channel, symbol)
        if count == 0:  # authenticated and subscribed: that was the question
            return
        async for event in stream:
            if isinstance(event, Reconnected):
                run.out.note(f"reconnected after {event.reason}: events may have been missed")
                continue
            run.out.event(
                {"seq": event.seq, "channel": event.channel, "symbol": event.symbol, "data": event.data},
                _summary(event),
            )
            seen += 1
            if count is not None and seen >= count:
                return


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _run(run: Run) -> int:
    asyncio.run(_follow(run, run.opt("channel"), run.opt("symbol"), run.opt("count")))
    return 0


def add_commands(nouns: Any, common: argparse.ArgumentParser) -> None:
    stream = nouns.add_parser("stream", parents=[common], help="follow a market-stream channel (ws extra)")
    verbs = stream.add_subparsers(dest="verb", metavar="CHANNEL", required=True)
    for name, channel in CHANNELS.items():
        if name == "auth":  # the reply to authenticating, not a subscription
            continue
        verb = STREAM_WORDS[name]
        aliases = [name.replace("_", "-")] if verb != name.replace("_", "-") else []
        what = "the account's" if channel.auth else "public"
        parser = verbs.add_parser(verb, aliases=aliases, parents=[common], help=f"{name} ({what})")
        if channel.symbol:
            parser.add_argument("symbol", help="trading pair, e.g. BTC-USD")
        parser.add_argument("--count", type=_count, help="stop after this many events (0: once subscribed)")
        parser.set_defaults(handler=_run, channel=name, symbol=None)
