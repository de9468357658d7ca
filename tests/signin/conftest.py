"""Wallet sign-in tests: the client's sign-in flow against the mock exchange's auth endpoints, over TCP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nacl.signing
import pytest
from standx_client.signing import b58encode
from standx_mock.config import MockConfig
from standx_mock.server import MockServer, serve_server

# A resting limit buy inside the mock's price band (BTC-USD marks at 121600).
ORDER: dict[str, Any] = dict(
    symbol="BTC-USD",
    side="buy",
    order_type="limit",
    qty="0.001",
    price="120000",
    time_in_force="gtc",
    reduce_only=False,
)


@pytest.fixture(scope="package")
def mock_server() -> Iterator[MockServer]:
    # validate_responses: every answer of the mock, the sign-in ones included, must match the spec.
    with serve_server(MockConfig(seed=5, validate_responses=True)) as server:
        yield server


@pytest.fixture
def url(mock_server: MockServer) -> Iterator[str]:
    yield mock_server.base_url
    assert mock_server.state.response_errors == []


def evm_key() -> str:
    """A fresh EVM private key as 0x hex."""
    from eth_account import Account

    return "0x" + bytes(Account.create().key).hex()


def solana_secret() -> str:
    """A fresh Solana secret key as wallets export it: base58 of seed + public key (64 bytes)."""
    key = nacl.signing.SigningKey.generate()
    return b58encode(bytes(key) + bytes(key.verify_key))
