"""Fixtures for the mock exchange tests: a real loopback server and signing traders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mock_helpers import HTTP, Trader
from standx_mock import MockConfig, MockServer, serve_server


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockServer]:
    """One market-making server for the whole session (reset per test where state matters)."""
    with serve_server(MockConfig(seed=7, market_maker=True, validate_responses=True)) as server:
        yield server


@pytest.fixture(autouse=True)
def _responses_conform(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every response the shared server sent during a test must have conformed to the spec."""
    yield
    if "mock_server" in request.fixturenames:
        server: MockServer = request.getfixturevalue("mock_server")
        errors = list(server.state.response_errors)
        server.state.response_errors.clear()
        assert not errors, errors


@pytest.fixture
def fresh(mock_server: MockServer) -> MockServer:
    """The shared server, reset to its seeded initial state (market maker quotes included)."""
    r = HTTP.post(mock_server.base_url + "/mock/reset", json={})
    assert r.status_code == 200
    return mock_server


@pytest.fixture
def base_url(mock_server: MockServer) -> str:
    return mock_server.base_url


@pytest.fixture
def trader(fresh: MockServer) -> Iterator[Trader]:
    t = Trader(fresh.base_url)
    yield t
    t.close()


@pytest.fixture
def other_trader(fresh: MockServer) -> Iterator[Trader]:
    t = Trader(fresh.base_url)
    yield t
    t.close()
