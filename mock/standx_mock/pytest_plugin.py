"""pytest fixtures for testing a bot against the mock exchange. Opt in from your conftest.py:

    pytest_plugins = ["standx_mock.pytest_plugin"]

    def test_my_bot(standx_client, standx_mock):   # a client bound to a fresh funded account
        my_bot.quote(standx_client)
        standx_mock.move_mark("BTC-USD", ["121000", "119000"])
        assert standx_mock.account(my_bot.user).open_orders("BTC-USD")

Isolation by default: one server per session, reset before each test (fresh market, clock and faults;
the previous test's accounts, JWTs and streams are gone), so test order never matters. Override
`standx_mock_isolation` to return "session" to share one exchange across the session instead.

Fixtures: `standx_mock_config` (override it to change the MockConfig; responses are validated against
the spec by default, and a violation fails the test), `standx_mock_isolation`, `standx_mock_server` (the
session's MockServer), `standx_mock` (a `MockExchange` handle: accounts, the market, the clock, faults,
stream URLs, the exchange's own view), `standx_mock_account` (a fresh funded account), and
`standx_client` / `async_standx_client` bound to it (the async one needs an async test runner such as
anyio or pytest-asyncio). Not registered automatically: the plain `standx-client` install has no mock
dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Literal

import pytest

from .config import MockConfig
from .server import MockServer, serve_server
from .testing import MockAccount, MockExchange

if TYPE_CHECKING:
    from standx_client import AsyncStandX, StandX

Isolation = Literal["test", "session"]

__all__ = ["MockAccount", "MockExchange"]


@pytest.fixture(scope="session")
def standx_mock_config() -> MockConfig:
    return MockConfig(market_maker=True, seed=0, validate_responses=True)


@pytest.fixture(scope="session")
def standx_mock_isolation() -> Isolation:
    """ "test": reset the exchange before each test (default); "session": one shared exchange."""
    return "test"


@pytest.fixture(scope="session")
def standx_mock_server(standx_mock_config: MockConfig) -> Iterator[MockServer]:
    with serve_server(standx_mock_config) as server:
        yield server


@pytest.fixture
def standx_mock(standx_mock_server: MockServer, standx_mock_isolation: Isolation) -> Iterator[MockExchange]:
    if standx_mock_isolation not in ("test", "session"):
        raise pytest.UsageError(f"standx_mock_isolation must be 'test' or 'session', not {standx_mock_isolation!r}")
    with MockExchange(standx_mock_server.base_url) as exchange:
        if standx_mock_isolation == "test":
            exchange.reset()
        yield exchange
    errors = list(standx_mock_server.state.response_errors)
    standx_mock_server.state.response_errors.clear()
    if errors:
        pytest.fail("the mock sent responses that violate the spec:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def standx_mock_account(standx_mock: MockExchange) -> MockAccount:
    return standx_mock.new_account()


@pytest.fixture
def standx_client(standx_mock: MockExchange, standx_mock_account: MockAccount) -> Iterator[StandX]:
    with standx_mock.client(standx_mock_account) as client:
        yield client


@pytest.fixture
async def async_standx_client(
    standx_mock: MockExchange, standx_mock_account: MockAccount
) -> AsyncIterator[AsyncStandX]:
    async with standx_mock.async_client(standx_mock_account) as client:
        yield client
