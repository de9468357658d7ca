"""The pytest plugin isolates tests by default: a test that moves the mark cannot break a quoting test
that runs after it, in either order. With session-wide sharing (the explicit option) the same pair
fails in one order, which shows the isolation is what keeps it green."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PAIR = """
from decimal import Decimal

def test_{first}(standx_client, standx_mock):
    {first_body}

def test_{second}(standx_client, standx_mock):
    {second_body}
"""
SHARED = """
import pytest

@pytest.fixture(scope="session")
def standx_mock_isolation():
    return {isolation!r}
"""
MOVE = 'standx_mock.set_mark_price("ETH-USD", "4321")  # the book stays quoted near 4200'
QUOTE = """price = standx_mock.mark_price("ETH-USD")
    bid = (price * Decimal("0.9999")).quantize(Decimal("0.01"))
    placed = standx_client.new_order(symbol="ETH-USD", side="buy", order_type="limit", qty="0.10", price=bid,
                                     time_in_force="alo", reduce_only=False)
    order = standx_client.query_order(cl_ord_id=placed.cl_ord_id)
    assert order.status == "open", order.remark  # an alo bid above the best ask is rejected"""


def run(pytester: pytest.Pytester, isolation: str | None) -> pytest.RunResult:
    conftest = 'pytest_plugins = ["standx_mock.pytest_plugin"]\n'
    if isolation is not None:
        conftest += SHARED.format(isolation=isolation)
    pytester.makeconftest(conftest)
    pytester.makepyfile(
        test_a=PAIR.format(first="mark_moves", first_body=MOVE, second="quotes", second_body=QUOTE),
        test_b=PAIR.format(first="quotes", first_body=QUOTE, second="mark_moves", second_body=MOVE),
    )
    return pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")


def test_isolation_by_default_makes_order_irrelevant(pytester: pytest.Pytester) -> None:
    run(pytester, None).assert_outcomes(passed=4)


def test_session_sharing_is_explicit_and_order_then_matters(pytester: pytest.Pytester) -> None:
    result = run(pytester, "session")
    result.assert_outcomes(passed=2, failed=2)  # both quoting tests run after a mark move: rejected
    result.stdout.fnmatch_lines(["*AssertionError: alo order rejected*"])
    result.stdout.fnmatch_lines(["FAILED test_a.py::test_quotes*", "FAILED test_b.py::test_quotes*"])
