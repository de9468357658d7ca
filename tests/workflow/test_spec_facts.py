"""A spec edit to a limit, a host, an enum, a keyword or a stream command reaches the client and the mock through
`make generate` alone: nothing else is edited in the copy of the repository, and every expected value below is
written from the edit this test makes (never read from the generated tables).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_helpers import PY, make, repo_copy, run

# The edit: new figures, a moved host and stream, a new enum value, a tighter keyword, a new stream command.
ACCOUNT = {"cost": 300, "capacity": 1200, "refill_per_second": 600}  # 4 requests of burst, one every 0.5 s
IP_PER_SECOND = 20
WEBSOCKET = {"connections": 4, "new_per_minute": 12, "max_age_seconds": 3600}
GEO_URL = "https://geo.example.test"
ORDER_STREAM = "wss://perps.standx.com/ws-orders/v2"
NEW_TIME_IN_FORCE = "fok"
QUERY_ORDERS_MAX_LIMIT = 100  # was 500
NEW_COMMAND = ("order:leverage", "change_leverage")  # an order-stream command for an existing operation
NEW_LEVERAGE = 7


def edit(doc: dict[str, Any]) -> dict[str, Any]:
    limits = doc["x-standx-limits"]
    limits["account"].update(ACCOUNT)
    limits["ip"]["requests_per_second"] = IP_PER_SECOND
    limits["websocket"].update(WEBSOCKET)
    doc["x-standx-hosts"]["geo"]["url"] = GEO_URL  # the servers lists alias this entry
    orders = doc["x-standx-streams"]["orders"]
    orders["url"] = ORDER_STREAM
    orders["commands"][NEW_COMMAND[0]] = {"signed": True, "operation": NEW_COMMAND[1]}
    doc["components"]["schemas"]["TimeInForce"]["enum"].append(NEW_TIME_IN_FORCE)
    (limit,) = [p for p in doc["paths"]["/api/query_orders"]["get"]["parameters"] if p.get("name") == "limit"]
    limit["schema"]["maximum"] = QUERY_ORDERS_MAX_LIMIT
    return doc


# Runs in a fresh interpreter that imports the copy's generated client and the copy's mock only.
SCRIPT = """
import asyncio, contextlib, inspect, json, sys
import httpx
import websockets.sync.client as ws
import standx_client, standx_mock
from standx_client import StandX, ValidationError
from standx_client.retry import IP_RATE_LIMIT, RateLimit
from standx_client.streams import MAX_AGE_S, ConnectionBudget, ConnectionLimitError, OrderStream
from standx_mock import MockConfig, MockExchange, serve
from standx_mock.limits import RateLimiter

root, path, tif, max_limit, command = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
seen = {"client": standx_client.__file__.startswith(root), "mock": standx_mock.__file__.startswith(root)}

# Limits. The client's defaults; the mock's limiter on a clock this script moves.
limit = RateLimit()
seen["client_account"] = [limit.cost, limit.capacity, limit.refill_per_second]
seen["client_ip_per_second"] = IP_RATE_LIMIT.capacity + IP_RATE_LIMIT.refill_per_second
now = [100.0]
limiter = RateLimiter(clock=lambda: now[0])
waits = [limiter.take("bsc_0xa") for _ in range(50)]
seen["mock_account_burst"] = waits.index(next(w for w in waits if w > 0))
seen["mock_account_wait"] = waits[seen["mock_account_burst"]]
ip_waits = [limiter.take_ip("10.0.0.1") for _ in range(100)]
seen["mock_ip_per_second"] = ip_waits.index(next(w for w in ip_waits if w > 0))
now[0] += 1.0
seen["mock_ip_after_a_second"] = limiter.take_ip("10.0.0.1")
# WebSocket limits: the client's connection budget and renewal age; the mock's defaults.
budget, held = ConnectionBudget(), 0
try:
    while held < 100:
        budget.hold("perps.standx.com:443")
        held += 1
except ConnectionLimitError:
    seen["client_ws_open"] = held
seen["client_max_age"] = MAX_AGE_S
seen["mock_ws_max_age"] = MockConfig().ws_max_age_s

# Hosts. The client sends query_region to the geo host by default.
sent = []
def answer(request):
    sent.append(str(request.url))
    return httpx.Response(200, json={"systemTime": 1761970177865, "region": "jp"})
with StandX(transport=httpx.MockTransport(answer)) as client:
    client.query_region()
seen["region_url"] = sent[0]

# The new stream command: a method typed with its operation's body fields.
seen["command_params"] = sorted(inspect.signature(getattr(OrderStream, command)).parameters)

with serve(MockConfig(market_maker=True, seed=3, ws_limit_refusal="http")) as url, MockExchange(url) as exchange:
    # The mock serves the order stream at the spec's path, and its handle points there.
    seen["order_stream_url"] = exchange.order_stream_url
    with ws.connect(url.replace("http", "ws", 1) + path, open_timeout=5):
        seen["new_path_opens"] = True
    try:
        with ws.connect(url.replace("http", "ws", 1) + "/ws-api/v1", open_timeout=5):
            seen["old_path_opens"] = True
    except Exception as exc:
        seen["old_path_opens"] = type(exc).__name__
    # The mock's connection limit: the one over it is refused (HTTP 429 here).
    with contextlib.ExitStack() as sockets:
        opened = 0
        try:
            while opened < 100:
                sockets.enter_context(ws.connect(url.replace("http", "ws", 1) + path, open_timeout=5))
                opened += 1
        except Exception as exc:
            seen["mock_ws_open"], seen["mock_ws_refusal"] = opened, str(exc)

    account = exchange.new_account()
    with exchange.client(account) as client:
        # The enum: the new value is accepted by the client and by the mock's engine.
        bid = client.query_depth_book(symbol="BTC-USD").bids[0][0]
        ack = client.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.01", price=bid,
                               time_in_force=tif, reduce_only=False, cl_ord_id="new-tif-1")
        seen["order_code"] = ack.code
        seen["order_tif"] = str(client.query_order(cl_ord_id="new-tif-1").time_in_force)
        # The keyword: the client refuses above the new maximum before sending; the mock refuses it too.
        try:
            client.query_orders(limit=max_limit + 1)
            seen["client_over_max"] = "sent"
        except ValidationError as exc:
            seen["client_over_max"] = str(exc)
        seen["client_at_max"] = len(client.query_orders(limit=max_limit).result)

        # The new stream command, sent on the order stream and run by the mock.
        async def stream_command():
            async with OrderStream(jwt=account.token, signing_key=account.signing_key,
                                   url=exchange.order_stream_url) as orders:
                return await getattr(orders, command)(symbol="BTC-USD", leverage=int(sys.argv[6]))
        result = asyncio.run(stream_command())
        seen["command_code"] = result.response.code
        seen["leverage_after"] = client.query_position_config(symbol="BTC-USD").leverage
    headers = {"authorization": f"Bearer {account.token}"}
    for n in (max_limit, max_limit + 1):
        seen[f"mock_limit_{n}"] = httpx.get(f"{url}/api/query_orders", params={"limit": n}, headers=headers).status_code
print(json.dumps(seen, default=str))
"""


@pytest.fixture(scope="module")
def edited_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = repo_copy(tmp_path_factory.mktemp("spec-facts"), with_mock=True)
    spec = repo / "openapi" / "standx.yaml"
    doc = edit(yaml.safe_load(spec.read_text(encoding="utf-8")))
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    generated = make("generate", cwd=repo)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return repo


def test_a_spec_edit_reaches_the_client_and_the_mock(edited_repo: Path) -> None:
    path = ORDER_STREAM.split("standx.com", 1)[1]
    args = (path, NEW_TIME_IN_FORCE, str(QUERY_ORDERS_MAX_LIMIT), NEW_COMMAND[1], str(NEW_LEVERAGE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(edited_repo / "generated"), str(edited_repo / "mock")])}
    result = run([PY, "-c", SCRIPT, str(edited_repo), *args], cwd=edited_repo, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert seen["client"] and seen["mock"]  # the copy's packages, not the repository's

    # Limits: the client keeps its 10% margin under the new figures; the mock enforces them as written.
    assert seen["client_account"] == pytest.approx(
        [ACCOUNT["cost"], 0.9 * ACCOUNT["capacity"], 0.9 * ACCOUNT["refill_per_second"]]
    )
    assert seen["client_ip_per_second"] == pytest.approx(0.9 * IP_PER_SECOND)
    assert seen["mock_account_burst"] == ACCOUNT["capacity"] // ACCOUNT["cost"]
    assert seen["mock_account_wait"] == pytest.approx(ACCOUNT["cost"] / ACCOUNT["refill_per_second"])
    assert seen["mock_ip_per_second"] == IP_PER_SECOND
    assert seen["mock_ip_after_a_second"] == 0.0
    # WebSocket limits: the client's budget and its renewal 10 minutes before the age limit; the mock's limits.
    assert seen["client_ws_open"] == WEBSOCKET["connections"]
    assert seen["client_max_age"] == WEBSOCKET["max_age_seconds"] - 600
    assert seen["mock_ws_open"] == WEBSOCKET["connections"], seen.get("mock_ws_refusal")
    assert "429" in seen["mock_ws_refusal"]
    assert seen["mock_ws_max_age"] == WEBSOCKET["max_age_seconds"]

    # Hosts: the client's default geo URL; the mock's order stream path (and the old one is gone).
    assert seen["region_url"] == GEO_URL + "/v1/region"
    assert seen["order_stream_url"].endswith(path)
    assert seen["new_path_opens"] is True
    assert seen["old_path_opens"] not in (True, None)

    # The enum: accepted by the client's validator and by the mock's engine, kept on the order.
    assert seen["order_code"] == 0
    assert seen["order_tif"] == NEW_TIME_IN_FORCE

    # The keyword: enforced by both.
    assert str(QUERY_ORDERS_MAX_LIMIT) in seen["client_over_max"], seen["client_over_max"]
    assert seen["client_at_max"] >= 0
    assert seen[f"mock_limit_{QUERY_ORDERS_MAX_LIMIT}"] == 200
    assert seen[f"mock_limit_{QUERY_ORDERS_MAX_LIMIT + 1}"] == 400

    # The stream command: a typed method on the client (its operation's body fields), served by the mock.
    assert seen["command_params"] == ["leverage", "self", "symbol"]
    assert seen["command_code"] == 0
    assert seen["leverage_after"] == str(NEW_LEVERAGE)


def test_withdrawing_a_value_the_mock_acts_on_stops_it_at_import(tmp_path: Path) -> None:
    """`alo` means post-only to the mock's engine: a spec without it must not yield a mock that silently
    ignores it. (The client needs nothing by hand: it simply refuses the value.)"""
    repo = repo_copy(tmp_path, with_mock=True)
    spec = repo / "openapi" / "standx.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    doc["components"]["schemas"]["TimeInForce"]["enum"].remove("alo")
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    assert make("generate", cwd=repo).returncode == 0
    env = {**os.environ, "PYTHONPATH": str(repo / "mock")}
    result = run([PY, "-c", "import standx_mock"], cwd=repo, env=env)
    assert result.returncode != 0
    assert "TIME_IN_FORCE_ALO" in result.stderr
