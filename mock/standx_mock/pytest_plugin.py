"""pytest fixtures for testing a bot against the mock exchange. Opt in from your conftest.py:

    pytest_plugins = ["standx_mock.pytest_plugin"]

    def test_my_bot(standx_client):          # a StandX client with a fresh funded account
        standx_client.new_order(symbol="BTC-USD", side="buy", order_type="market", qty="0.01",
                                time_in_force="ioc", reduce_only=False)

Fixtures: `standx_mock_config` (override it to change the MockConfig), `standx_mock` (the running
MockServer, one per session, on a free loopback port; `.base_url`, `.state`), `standx_mock_account`
(fresh credentials: token, user, signing key), `standx_client` and `async_standx_client` (clients bound to
that account; the async one needs an async test runner such as anyio or pytest-asyncio).
Not registered automatically: the plain `standx-client` install has no mock dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest

from .config import MockConfig
from .server import MockServer, serve_server

if TYPE_CHECKING:
    from standx_client import AsyncStandX, SigningKey, StandX


@dataclass(frozen=True)
class MockAccount:
    """Test credentials issued by the mock: the JWT is bound to `signing_key`."""

    token: str
    user: str
    signing_key: SigningKey

    def __repr__(self) -> str:
        return f"MockAccount(user={self.user!r}, signing_key={self.signing_key!r})"


@pytest.fixture(scope="session")
def standx_mock_config() -> MockConfig:
    return MockConfig(market_maker=True, seed=0)


@pytest.fixture(scope="session")
def standx_mock(standx_mock_config: MockConfig) -> Iterator[MockServer]:
    with serve_server(standx_mock_config) as server:
        yield server


@pytest.fixture
def standx_mock_account(standx_mock: MockServer) -> MockAccount:
    from standx_client import SigningKey

    key = SigningKey.generate()
    answer = httpx.post(f"{standx_mock.base_url}/mock/credentials", json={"public_key": key.public_key_b58})
    answer.raise_for_status()
    return MockAccount(token=answer.json()["token"], user=answer.json()["user"], signing_key=key)


@pytest.fixture
def standx_client(standx_mock: MockServer, standx_mock_account: MockAccount) -> Iterator[StandX]:
    from standx_client import StandX

    url = standx_mock.base_url
    with StandX(jwt=standx_mock_account.token, signing_key=standx_mock_account.signing_key, base_url=url,
                geo_url=url, auth_url=url) as client:  # fmt: skip
        yield client


@pytest.fixture
async def async_standx_client(standx_mock: MockServer, standx_mock_account: MockAccount) -> AsyncIterator[AsyncStandX]:
    from standx_client import AsyncStandX

    url = standx_mock.base_url
    async with AsyncStandX(jwt=standx_mock_account.token, signing_key=standx_mock_account.signing_key,
                           base_url=url, geo_url=url, auth_url=url) as client:  # fmt: skip
        yield client
