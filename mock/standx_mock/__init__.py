"""A stateful, spec-driven mock of the StandX Perps exchange for contract and resilience tests.

    from standx_mock import MockConfig, MockExchange, serve

    with serve(MockConfig(seed=1, market_maker=True)) as base_url, MockExchange(base_url) as exchange:
        account = exchange.new_account()  # a funded account and a JWT bound to a fresh key
        exchange.set_mark_price("BTC-USD", "118000")

Independent of `standx_client` on purpose: it verifies the client, it must not share its code.
"""

from __future__ import annotations

from .app import create_app
from .config import FaultConfig, MarketConfig, MockConfig, RandomWalk, SymbolConfig
from .server import MockServer, run_in_thread, serve, serve_server
from .spec import SpecHashMismatch
from .spec_loader import SpecError
from .testing import MockAccount, MockExchange

__all__ = [
    "FaultConfig",
    "MarketConfig",
    "MockAccount",
    "MockConfig",
    "MockExchange",
    "MockServer",
    "RandomWalk",
    "SpecError",
    "SpecHashMismatch",
    "SymbolConfig",
    "create_app",
    "run_in_thread",
    "serve",
    "serve_server",
]
