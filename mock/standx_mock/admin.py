"""The `/mock/*` test endpoints (not StandX paths): credentials and vaults, the exchange's own view of an
account, reset, faults, the market maker, the mark price, funding, the clock, the random walk and the
WebSocket drop. `standx_mock.testing.MockExchange` wraps them in typed methods."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import market, wire
from .auth import decode_public_key
from .config import FaultConfig, RandomWalk, parse_decimal
from .engine import MarketEvents
from .faults import FaultHeaderInvalid
from .responses import admin_json, error_response, json_response
from .service import MockService
from .state import EngineError
from .util import iso
from .ws import StreamHub

AdminHandler = Callable[[Request, MockService, StreamHub], Awaitable[Response]]


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise EngineError(f"invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise EngineError("the body must be a JSON object")
    return data


def _decimal(value: object, what: str) -> Decimal:
    """A JSON string or number (parsed as Decimal) as a finite Decimal; ValueError (400) otherwise."""
    return parse_decimal(str(value), what)


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise EngineError(f"{what} must be an integer")
    return value


def _admin(fn: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        service: MockService = request.app.state.mock
        hub: StreamHub = request.app.state.hub
        try:
            service.engine.catch_up()
            return await fn(request, service, hub)
        except (EngineError, ValueError) as exc:
            status = exc.status if isinstance(exc, EngineError) else 400
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            return error_response(status, message, str(uuid.uuid4()))
        finally:
            hub.publish()  # mark price, market maker, funding, clock, reset: the streams see it

    endpoint.__name__ = fn.__name__
    return endpoint


def _events_json(service: MockService, events: MarketEvents) -> dict[str, Any]:
    return {
        "funding": [wire.funding_json(f) for f in events.funding],
        "liquidations": [wire.order_json(service.exchange, o) for o in events.liquidations],
    }


# ---------------------------------------------------------------------- accounts


async def credentials(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    public_key = data.get("public_key")
    if not isinstance(public_key, str):
        raise EngineError("public_key (base58 ed25519 public key) is required")
    try:
        decode_public_key(public_key)
    except ValueError as exc:
        raise EngineError(f"invalid public_key: {exc}") from None
    lifetime = _int(data.get("expires_seconds", service.config.jwt_lifetime_s), "expires_seconds")
    existing = data.get("user")
    if existing is not None:
        acct = service.engine.add_key(str(existing), public_key)
    else:
        balance = data.get("balance")
        acct = service.engine.create_account(public_key, None if balance is None else _decimal(balance, "balance"))
    token = service.jwt.issue(user=acct.user, address=acct.address, public_key=public_key, lifetime_s=lifetime)
    return json_response({"token": token, "user": acct.user})


async def vaults(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    owner = data.get("owner")
    if not isinstance(owner, str):
        raise EngineError("owner (the account that may impersonate the vault) is required")
    balance = data.get("balance")
    vault = service.engine.create_vault(owner, None if balance is None else _decimal(balance, "balance"))
    return json_response({"vault": vault.id, "user": vault.user, "owner": vault.owner})


async def orders(request: Request, service: MockService, hub: StreamHub) -> Response:
    user = request.query_params.get("user")
    symbol = request.query_params.get("symbol")
    exchange = service.exchange
    with service.engine.lock:
        result = [
            wire.order_json(exchange, o)
            for o in sorted(exchange.orders.values(), key=lambda o: o.id)
            if (user is None or o.user == user) and (symbol is None or o.symbol == symbol)
        ]
    return json_response({"result": result, "total": len(result)})


async def account(request: Request, service: MockService, hub: StreamHub) -> Response:
    """The exchange's own view of one account, in the spec's shapes, oldest first."""
    user = request.query_params.get("user") or ""
    exchange = service.exchange
    with service.engine.lock:
        exchange.account(user)
        body = {
            "user": user,
            "balance": wire.balance_json(exchange, user),
            "positions": [wire.position_json(exchange, p) for p in exchange.user_positions(user)],
            "orders": [wire.order_json(exchange, o) for o in exchange.orders_by_user.get(user, [])],
            "trades": [wire.trade_json(exchange, t) for t in exchange.trades_by_user.get(user, [])],
            "funding": [wire.funding_json(f) for f in exchange.funding if f.user == user],
        }
    return json_response(body)


# ---------------------------------------------------------------------- the whole mock


async def reset(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    keep = data.get("keep_accounts", True)
    if not isinstance(keep, bool):
        raise EngineError("keep_accounts must be a boolean")
    service.reset(keep_accounts=keep)
    if not keep:  # the connections belong to accounts that no longer exist
        hub.reset()
    return json_response({"code": 0, "message": "reset"})


async def stats(request: Request, service: MockService, hub: StreamHub) -> Response:
    faults = dict(service.faults.counts)
    return admin_json(
        {
            "requests": sum(service.by_operation.values()),
            "orders_created": service.exchange.orders_created,
            "faults": faults,
            "faults_total": sum(v for k, v in faults.items() if k != "latency"),
            "faults_when": dict(service.faults.when_counts),
            "by_operation": dict(service.by_operation),
            "by_status": dict(service.by_status),
            "response_validation_errors": list(service.response_errors),
            "spec_sha256": service.spec.sha256,
        }
    )


async def faults(request: Request, service: MockService, hub: StreamHub) -> Response:
    if request.method == "POST":
        service.faults.configure(FaultConfig.from_mapping(await _json_body(request)))
    elif request.method == "DELETE":
        service.faults.clear()
    return admin_json({**service.faults.config.to_dict(), "queued": [q.to_dict() for q in service.faults.queued]})


async def next_faults(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    fault, operation = data.get("fault"), data.get("operation")
    if not isinstance(fault, str) or (operation is not None and not isinstance(operation, str)):
        raise EngineError('expected {"fault": "<x-mock-fault value>", "operation"?: "<operationId>", "count"?: n}')
    if operation is not None and all(op.operation_id != operation for op in service.spec.operations):
        raise EngineError(f"unknown operation {operation!r}")
    try:
        entry = service.faults.queue(fault, operation, _int(data.get("count", 1), "count"))
    except FaultHeaderInvalid as exc:
        raise EngineError(f"invalid fault: {exc}") from None
    return admin_json(entry.to_dict())


async def ws_drop(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    return admin_json({"dropped": hub.drop(notice=data.get("notice") is True)})


async def spec(request: Request, service: MockService, hub: StreamHub) -> Response:
    return Response(service.spec.raw, media_type="application/yaml")


# ---------------------------------------------------------------------- the market


async def market_maker(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    config = service.config
    symbols = [str(data["symbol"])] if data.get("symbol") is not None else [s.symbol for s in config.symbols]
    levels = _int(data.get("levels", config.market_maker_levels), "levels")
    spread = _decimal(data.get("spread", config.market_maker_spread), "spread")
    placed = sum(len(service.engine.requote(symbol, levels, spread)) for symbol in symbols)
    user = service.exchange.market_maker_user
    return json_response({"code": 0, "message": "success", "orders": placed, "user": user})


async def mark_price(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    requote = data.get("requote", False)
    if not isinstance(requote, bool):
        raise EngineError("requote must be a boolean")
    price = _decimal(data.get("price"), "price")
    events = service.engine.set_mark_price(str(data.get("symbol")), price, requote=requote)
    return json_response({"code": 0, "message": "success", **_events_json(service, events)})


async def funding(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    symbol = data.get("symbol")
    rate = data.get("rate")
    events = service.engine.settle_funding(
        None if symbol is None else str(symbol), None if rate is None else _decimal(rate, "rate")
    )
    body = _events_json(service, events)
    return json_response({"code": 0, "message": "success", "payments": body["funding"], **body})


async def funding_rate(request: Request, service: MockService, hub: StreamHub) -> Response:
    data = await _json_body(request)
    rate = data.get("rate")
    service.engine.set_funding_rate(str(data.get("symbol")), None if rate is None else _decimal(rate, "rate"))
    return json_response({"code": 0, "message": "success"})


def _clock_json(service: MockService) -> dict[str, Any]:
    exchange = service.exchange
    with service.engine.lock:
        return {
            "time": iso(exchange.clock.now()),
            "timestamp": exchange.clock.timestamp(),
            "speed": exchange.clock.speed,
            "next_funding_time": iso(market.next_funding_time(exchange)),
        }


async def clock(request: Request, service: MockService, hub: StreamHub) -> Response:
    if request.method == "GET":
        return admin_json(_clock_json(service))
    data = await _json_body(request)
    if data.get("to_next_funding") is True:
        with service.engine.lock:
            seconds = market.next_funding_time(service.exchange).timestamp() - service.exchange.clock.timestamp()
    else:
        seconds = float(_decimal(data.get("advance"), "advance (seconds)"))
    if seconds < 0:
        raise EngineError("the clock only moves forward")
    events = service.engine.advance(seconds)
    return admin_json({**_clock_json(service), **_events_json(service, events)})


async def random_walk(request: Request, service: MockService, hub: StreamHub) -> Response:
    if request.method == "DELETE":
        service.engine.set_random_walk(None)
        return admin_json({"random_walk": None})
    data = await _json_body(request)
    known = {f.name for f in dataclasses.fields(RandomWalk)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EngineError(f"unknown random walk option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = dict(data)
    if "volatility" in kwargs:
        kwargs["volatility"] = _decimal(kwargs["volatility"], "volatility")
    if "interval_s" in kwargs:
        kwargs["interval_s"] = float(_decimal(kwargs["interval_s"], "interval_s"))
    if "symbols" in kwargs:
        kwargs["symbols"] = tuple(str(s) for s in kwargs["symbols"])
    walk = RandomWalk(**kwargs)
    service.engine.set_random_walk(walk)
    return admin_json({"random_walk": dataclasses.asdict(walk)})


def routes() -> list[Route]:
    return [
        Route("/mock/credentials", _admin(credentials), methods=["POST"]),
        Route("/mock/vaults", _admin(vaults), methods=["POST"]),
        Route("/mock/orders", _admin(orders), methods=["GET"]),
        Route("/mock/account", _admin(account), methods=["GET"]),
        Route("/mock/reset", _admin(reset), methods=["POST"]),
        Route("/mock/stats", _admin(stats), methods=["GET"]),
        Route("/mock/faults", _admin(faults), methods=["GET", "POST", "DELETE"]),
        Route("/mock/faults/next", _admin(next_faults), methods=["POST"]),
        Route("/mock/market_maker", _admin(market_maker), methods=["POST"]),
        Route("/mock/mark_price", _admin(mark_price), methods=["POST"]),
        Route("/mock/funding", _admin(funding), methods=["POST"]),
        Route("/mock/funding_rate", _admin(funding_rate), methods=["POST"]),
        Route("/mock/clock", _admin(clock), methods=["GET", "POST"]),
        Route("/mock/random_walk", _admin(random_walk), methods=["POST", "DELETE"]),
        Route("/mock/ws/drop", _admin(ws_drop), methods=["POST"]),
        Route("/mock/openapi.yaml", _admin(spec), methods=["GET"]),
    ]
