"""A downstream bot repository's root conftest.py: the mock exchange's fixtures, a clock the tests move,
and tests in random order (seed from STANDX_TEST_ORDER_SEED, printed in the header, to replay an order)."""

from __future__ import annotations

import os
import random

import pytest
from standx_mock import MockConfig
from standx_mock.config import MarketConfig

pytest_plugins = ["standx_mock.pytest_plugin"]

ORDER_SEED = int(os.environ.get("STANDX_TEST_ORDER_SEED") or random.randrange(10**6))


def pytest_report_header() -> str:
    return f"test order seed: {ORDER_SEED} (STANDX_TEST_ORDER_SEED={ORDER_SEED} replays this order)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    random.Random(ORDER_SEED).shuffle(items)


@pytest.fixture(scope="session")
def standx_mock_config() -> MockConfig:
    """The plugin's default, on a clock that moves only when a test advances it (funding stays exact)."""
    return MockConfig(market_maker=True, seed=0, validate_responses=True, market=MarketConfig(clock_speed=0))
