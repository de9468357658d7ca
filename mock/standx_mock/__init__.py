"""A stateful, spec-driven mock of the StandX Perps exchange for contract and resilience tests.

    from standx_mock import MockConfig, serve

    with serve(MockConfig(seed=1, market_maker=True)) as base_url:
        ...  # POST {base_url}/mock/credentials {"public_key": "<base58>"} -> {"token", "user"}

Independent of `standx_client` on purpose: it verifies the client, it must not share its code.
"""

from __future__ import annotations

from .app import create_app
from .config import FaultConfig, MockConfig, SymbolConfig
from .server import MockServer, run_in_thread, serve, serve_server
from .spec_loader import SpecError, SpecHashMismatch

__all__ = [
    "FaultConfig",
    "MockConfig",
    "MockServer",
    "SpecError",
    "SpecHashMismatch",
    "SymbolConfig",
    "create_app",
    "run_in_thread",
    "serve",
    "serve_server",
]
