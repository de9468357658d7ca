"""Contract tests run against the mock exchange on a real loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from standx_client import SigningKey, StandX
from standx_mock.config import MarketConfig, MockConfig
from standx_mock.server import MockServer, serve_server


@dataclass
class Account:
    token: str
    user: str
    key: SigningKey


def new_account(base_url: str) -> Account:
    key = SigningKey.generate()
    answer = httpx.post(f"{base_url}/mock/credentials", json={"public_key": key.public_key_b58})
    answer.raise_for_status()
    return Account(answer.json()["token"], answer.json()["user"], key)


@pytest.fixture(scope="module")
def mock_server() -> Iterator[MockServer]:
    # Funding only on request: the trading story asserts exact balance identities, which a wall-clock hour
    # boundary (the mock's default funding schedule) would break once in a while.
    with serve_server(MockConfig(market_maker=True, seed=11, market=MarketConfig(funding_interval_s=0))) as server:
        yield server


@pytest.fixture
def account(mock_server: MockServer) -> Account:
    return new_account(mock_server.base_url)


@pytest.fixture
def client(mock_server: MockServer, account: Account) -> Iterator[StandX]:
    url = mock_server.base_url
    with StandX(jwt=account.token, signing_key=account.key, base_url=url, geo_url=url, auth_url=url) as c:
        yield c
