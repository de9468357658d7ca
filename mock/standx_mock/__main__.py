"""`python -m standx_mock --port 8765 [--seed N] [--market-maker] ...`

Prints exactly one line, `standx-mock listening on http://127.0.0.1:8765`, once /api/health answers.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

from ._tables import TOKEN_DEFAULT_LIFETIME_SECONDS, WEBSOCKET_MAX_AGE_SECONDS
from .config import (
    DEFAULT_SPEC_PATH,
    FaultConfig,
    MarketConfig,
    MockConfig,
    RandomWalk,
    literal_choices,
    parse_decimal,
)
from .server import run_foreground
from .spec_loader import SpecError

CHOICES = literal_choices(MockConfig)  # the choice options' values, from MockConfig's annotations


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m standx_mock", description="Local mock of the StandX Perps exchange.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to bind; 0 picks a free one (default 8765)")
    p.add_argument("--seed", type=int, default=0, help="seed of every deterministic choice (default 0)")
    p.add_argument("--balance", default="100000", help="DUSD balance of each new account (default 100000)")
    p.add_argument("--market-maker", action="store_true", help="seed both sides of every book at start")
    p.add_argument("--mm-levels", type=int, default=5, help="market maker levels per side (default 5)")
    p.add_argument("--mm-spread", default="0.0002", help="market maker relative bid/ask spread (default 0.0002)")
    p.add_argument(
        "--timestamp-window-ms",
        type=int,
        default=60_000,
        help="accepted |server clock - x-request-timestamp| (default 60000)",
    )
    p.add_argument(
        "--jwt-lifetime",
        type=int,
        default=TOKEN_DEFAULT_LIFETIME_SECONDS,
        help=f"JWT lifetime in seconds (default {TOKEN_DEFAULT_LIFETIME_SECONDS}, the exchange's)",
    )
    p.add_argument(
        "--signin-challenge-lifetime", type=int, default=180, help="sign-in challenge lifetime in seconds (default 180)"
    )
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC_PATH, help="OpenAPI document to serve")
    p.add_argument("--spec-sha256", default=None, help="expected sha256 of --spec (default: _spec_hash.SPEC_SHA256)")
    p.add_argument("--no-verify-spec-hash", action="store_true", help="serve the spec even if its hash differs")
    p.add_argument("--faults", default="", help='run-level faults, e.g. "latency=0.05,error_rate=0.2,when=after"')
    p.add_argument("--rate-limit", action="store_true", help="enforce the documented per-account rate limit")
    p.add_argument(
        "--cancel-orders-response",
        choices=CHOICES["cancel_orders_response"],
        default="array",
        help="cancel_orders success body: [] (default) or {code,message,request_id}",
    )
    p.add_argument(
        "--duplicate-cl-ord-id",
        choices=CHOICES["duplicate_cl_ord_id"],
        default="accept",
        help="a reused cl_ord_id: accept creates a second order (default: StandX documents no deduplication), "
        "reject answers 400",
    )
    p.add_argument(
        "--clock-speed",
        type=float,
        default=1.0,
        help="mock seconds per real second (default 1; 0 stops the clock: POST /mock/clock moves it)",
    )
    p.add_argument(
        "--funding-interval", type=int, default=3600, help="seconds between funding times (default 3600; 0: off)"
    )
    p.add_argument(
        "--random-walk",
        default=None,
        metavar="VOLATILITY[:INTERVAL_S]",
        help="walk every mark by this relative volatility per step (default interval 1 s of mock time)",
    )
    p.add_argument("--validate-responses", action="store_true", help="check every response against the spec")
    p.add_argument(
        "--ws-max-age",
        type=float,
        default=WEBSOCKET_MAX_AGE_SECONDS,
        help="close WebSocket connections after this many seconds (default %(default)s, the documented limit)",
    )
    p.add_argument(
        "--ws-ack",
        choices=CHOICES["ws_ack"],
        default="status",
        help='order-stream acknowledgement: {"status": "accepted"} (default, the docs\'), '
        '{"message": "accepted"} (a peer\'s variant) or none',
    )
    p.add_argument(
        "--ws-error-frames",
        choices=CHOICES["ws_error_frames"],
        default="channel",
        help='market-stream errors: {"channel": "error", "data": {code, msg}} (default) or a bare {code, message}',
    )
    p.add_argument(
        "--ws-extra-fields",
        action="store_true",
        help="add fields the docs do not list: session_id to order-stream frames, one to market-stream payloads",
    )
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    return p


def config_from_args(args: argparse.Namespace) -> MockConfig:
    return MockConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        balance=parse_decimal(args.balance, "--balance"),
        market_maker=args.market_maker,
        market_maker_levels=args.mm_levels,
        market_maker_spread=parse_decimal(args.mm_spread, "--mm-spread"),
        timestamp_window_ms=args.timestamp_window_ms,
        jwt_lifetime_s=args.jwt_lifetime,
        signin_challenge_lifetime_s=args.signin_challenge_lifetime,
        spec_path=args.spec,
        spec_sha256=args.spec_sha256,
        verify_spec_hash=not args.no_verify_spec_hash,
        validate_responses=args.validate_responses,
        ws_max_age_s=args.ws_max_age,
        ws_ack=args.ws_ack,
        ws_error_frames=args.ws_error_frames,
        ws_extra_fields=args.ws_extra_fields,
        market=MarketConfig(
            clock_speed=args.clock_speed,
            funding_interval_s=args.funding_interval,
            random_walk=parse_random_walk(args.random_walk),
        ),
        faults=FaultConfig.parse(args.faults) if args.faults else FaultConfig(),
        rate_limit=args.rate_limit,
        cancel_orders_response=args.cancel_orders_response,
        duplicate_cl_ord_id=args.duplicate_cl_ord_id,
        access_log=args.access_log,
        log_level=args.log_level,
    )


def parse_random_walk(text: str | None) -> RandomWalk | None:
    if not text:
        return None
    volatility, _, interval = text.partition(":")
    return RandomWalk(volatility=parse_decimal(volatility, "--random-walk volatility"),
                      interval_s=float(parse_decimal(interval or "1", "--random-walk interval")))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if config.balance < Decimal(0):
        parser.error("--balance must not be negative")

    def ready(base_url: str) -> None:
        print(f"standx-mock listening on {base_url}", flush=True)

    try:
        run_foreground(config, ready)
    except SpecError as exc:
        print(f"standx-mock: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"standx-mock: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
