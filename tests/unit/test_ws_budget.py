"""The client-side WebSocket connection budget on a clock the test moves (no sleeps)."""

from __future__ import annotations

import pytest
import yaml
from standx_client.streams import MAX_AGE_S, ConnectionBudget, ConnectionLimitError, ConnectionLimits

from tests.conftest import ROOT


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_slots_raise_beyond_the_concurrent_limit_and_come_back_on_release() -> None:
    budget = ConnectionBudget(ConnectionLimits(max_open=10))
    for _ in range(10):
        budget.hold("perps.standx.com:443")
    with pytest.raises(ConnectionLimitError, match="10 streams") as full:
        budget.hold("perps.standx.com:443")
    assert full.value.limit == 10
    budget.hold("127.0.0.1:8765")  # another exchange host has its own slots
    budget.release("perps.standx.com:443")
    budget.hold("perps.standx.com:443")
    assert budget.open_count("perps.standx.com:443") == 10


def test_the_window_of_new_connections_makes_the_31st_wait_until_the_oldest_leaves() -> None:
    clock = Clock()
    budget = ConnectionBudget(ConnectionLimits(max_new=30, window=60.0), clock=clock)
    key = "perps.standx.com:443"
    for _ in range(30):
        attempt, wait = budget.try_attempt(key)
        assert attempt is not None and wait == 0
        clock.now += 0.5  # the handshake takes half a second
        budget.finish(attempt)  # stamped when it ended: 1000.5, 1001.0, ...
    attempt, wait = budget.try_attempt(key)
    assert attempt is None and wait == pytest.approx(1000.5 + 60 - clock.now)
    clock.now = 1000.5 + 60.0 - 0.001
    assert budget.try_attempt(key)[0] is None  # the oldest ended less than a window ago
    clock.now = 1000.5 + 60.0 + 0.001
    assert budget.try_attempt(key)[0] is not None
    assert budget.try_attempt(key)[0] is None  # and only one place came free


def test_attempts_in_flight_count_until_they_end() -> None:
    clock = Clock()
    budget = ConnectionBudget(ConnectionLimits(max_new=2, window=1.0), clock=clock)
    first, _ = budget.try_attempt("h:1")
    second, _ = budget.try_attempt("h:1")
    assert first is not None and second is not None
    clock.now += 100  # long after the window, but neither attempt has ended
    attempt, wait = budget.try_attempt("h:1")
    assert attempt is None and 0 < wait <= 0.05
    budget.finish(first)
    assert budget.try_attempt("h:1")[0] is None  # it ended now: it counts for a window from now
    clock.now += 1.001
    assert budget.try_attempt("h:1")[0] is not None


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ConnectionLimits(max_open=0)


def test_websocket_limits_follow_the_spec_and_the_readme_states_them() -> None:
    """The budget's and the renewal's defaults are the spec's x-standx-limits.websocket (the docs: 10 open, 30 new a
    minute, 24 hours), and the README's sentences about them (written by hand) are still true."""
    spec = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))
    websocket = spec["x-standx-limits"]["websocket"]
    assert (websocket["connections"], websocket["new_per_minute"], websocket["max_age_seconds"]) == (10, 30, 86400)
    limits = ConnectionLimits()
    assert (limits.max_open, limits.max_new, limits.window) == (10, 30, 60.0)
    assert MAX_AGE_S == 86400 - 10 * 60  # renewed ten minutes before the exchange ends it
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    hours, minutes = divmod(MAX_AGE_S // 60, 60)
    for sentence in (
        f"StandX allows {limits.max_open} WebSocket connections per IP and {limits.max_new} new ones per minute",
        f"the {websocket['max_age_seconds'] // 3600}-hour age limit (renewed at {hours} h {minutes} min)",
        f"holds one of the {limits.max_open} slots",
    ):
        assert sentence in readme
