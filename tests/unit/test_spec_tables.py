"""generator/tables.py: the spec's hosts, limits and enums for `_tables.py`, and the malformed tables it refuses
(generation stops naming the place, instead of a client or mock without the figure)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))
from tables import api_tables  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))


def test_the_documented_figures() -> None:
    """From the docs (standx-api-notes.md section 7 and the sources table), not from the generated module."""
    tables = api_tables(SPEC)
    assert tables["hosts"] == {
        "perps": "https://perps.standx.com",
        "geo": "https://geo.standx.com",
        "auth": "https://api.standx.com",
    }
    assert tables["limits"] == {
        "account": {"cost": 45, "capacity": 900, "refill_per_second": 1000},
        "ip": {"requests_per_second": 50},
        "websocket": {
            "connections": 10,
            "new_per_minute": 30,
            "max_age_seconds": 24 * 3600,
            "ping_interval_seconds": 10,  # section 4.1: the server pings every 10 s
            "pong_timeout_seconds": 5 * 60,  # and closes after 5 minutes without a pong
        },
        "token": {"default_lifetime_seconds": 7 * 24 * 3600},  # the sign-in's default expiresSeconds
    }
    enums = {e["schema"]: e for e in tables["enums"]}
    named = {"TIME_IN_FORCE_GTC": "gtc", "TIME_IN_FORCE_IOC": "ioc", "TIME_IN_FORCE_ALO": "alo"}
    assert enums["TimeInForce"]["named"] == named
    assert enums["Resolution"]["bars"]["1"] == 60 and enums["Resolution"]["bars"]["1M"] == "month"
    assert "1T" not in str(enums["Resolution"]["named"])  # not an identifier: in the values only


def _edited(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("x-standx-limits"), "x-standx-limits: the documented rate and connection limits"),
        (lambda d: d["x-standx-limits"]["ip"].pop("requests_per_second"), r"x-standx-limits.ip.requests_per_second"),
        (lambda d: d["x-standx-limits"]["ip"].update(burst=5), "burst: not read by the client or the mock"),
        (lambda d: d["x-standx-limits"]["account"].update(cost=0), "account.cost: must be a positive number"),
        (lambda d: d["x-standx-limits"]["account"].update(capacity=10), "capacity is less than one request's cost"),
        (lambda d: d["x-standx-hosts"]["geo"].update(url="http://geo.standx.com"), "an https `url`"),
        (lambda d: d["x-standx-hosts"]["geo"].update(url="https://perps.standx.com"), "is also host 'perps'"),
        (
            lambda d: d["components"]["schemas"]["Resolution"]["x-standx-bar-length"].pop("1D"),
            "a bar length for each of",
        ),
    ],
)
def test_malformed_tables_stop_generation(change: Any, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        api_tables(_edited(change))
