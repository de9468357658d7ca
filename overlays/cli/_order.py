"""`standx order place|cancel|cancel-all|status`: orders with every check first, a preview and a confirmation.

`place` reads the symbol's rules from the exchange (tick, lot, size range, fee rates), checks the order against
them and the spec, signs it once without sending (the same request path as a real send, through a transport
that keeps the request), shows a preview, and sends only after a "y" (or --yes). --dry-run stops after the
preview and prints that signed request. The cl_ord_id is chosen before anything is sent, so an order whose
answer is lost can be looked up (`order status --cl-ord-id`) and, if it never arrived, placed again with it.
"""

from __future__ import annotations

import argparse
import re
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from .._ids import new_client_order_id
from .._operations import OPERATIONS
from .._tables import ORDER_TYPE_LIMIT, ORDER_TYPE_MARKET, TIME_IN_FORCE_ALO, TIME_IN_FORCE_GTC, TIME_IN_FORCE_IOC
from ..exceptions import OrderStatusUnknownError, ValidationError
from ..ledger import OrderAbsent, OrderFound
from ..precision import SymbolRules
from ._api import flag

if TYPE_CHECKING:
    from . import Run

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_NEW_ORDER = {p.py: p for p in OPERATIONS["new_order"].params}


def _choices(name: str) -> tuple[str, ...]:
    return tuple(_NEW_ORDER[name].rule["values"])


def _decimal(text: str | None, field: str) -> Decimal | None:
    """A positive decimal from its text, never through float."""
    if text is None:
        return None
    if not _DECIMAL.fullmatch(text) or Decimal(text) <= 0:
        raise ValidationError("new_order", field, f"must be a positive decimal such as 0.01, got {text!r}")
    return Decimal(text)


class _Keep(httpx.BaseTransport):
    """Keeps the request instead of sending it, and answers as the exchange would to an accepted order."""

    def __init__(self) -> None:
        self.request: httpx.Request | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.request = request
        return httpx.Response(200, json={"code": 0, "message": "not sent (dry run)", "request_id": ""})


def request_view(request: httpx.Request) -> dict[str, Any]:
    """A signed request as text: the exact body that was signed, every header but the JWT."""
    headers = {k: ("Bearer <redacted>" if k.lower() == "authorization" else v) for k, v in request.headers.items()}
    return {"method": request.method, "url": str(request.url), "headers": headers, "body": request.content.decode()}


def _symbol_info(client: Any, symbol: str) -> Any:
    infos = client.query_symbol_info()  # every symbol: an unknown one is refused here, before any order is signed
    found = [info for info in infos if info.symbol == symbol]
    if not found:
        known = ", ".join(sorted(info.symbol for info in infos)) or "none"
        raise ValidationError("new_order", "symbol", f"unknown symbol {symbol!r} (the exchange lists: {known})")
    return found[0]


def _default_tif(order_type: str) -> str:
    """A market order takes what is there now (ioc); a limit order rests until canceled (gtc)."""
    return TIME_IN_FORCE_IOC if order_type == ORDER_TYPE_MARKET else TIME_IN_FORCE_GTC


def _place(run: Run) -> int:
    order_type = run.opt("type")
    values: dict[str, Any] = {
        "symbol": run.opt("symbol"),
        "side": run.opt("side"),
        "order_type": order_type,
        "qty": run.opt("qty"),
        "price": run.opt("price"),
        "time_in_force": run.opt("tif") or _default_tif(order_type),
        "reduce_only": run.opt("reduce_only"),
        "cl_ord_id": run.opt("cl_ord_id") or new_client_order_id(),
        "margin_mode": run.opt("margin_mode"),
        "leverage": run.opt("leverage"),
        "tp_price": run.opt("tp_price"),
        "sl_price": run.opt("sl_price"),
    }
    numbers = {name: _decimal(values[name], name) for name in ("qty", "price", "tp_price", "sl_price")}
    with run.client(auth=True, signed=True) as client:
        info = _symbol_info(client, values["symbol"])
        rules = SymbolRules.from_info(info)  # the spec's symbol rules (tick, lot) are checked by the dry run below
        reference = numbers["price"]
        if reference is None and order_type == ORDER_TYPE_MARKET:
            reference = client.query_symbol_price(symbol=values["symbol"]).mark_price
        # Every check of a real send, and the signature, without sending: the client's own path to a transport.
        keep = _Keep()
        with run.client(auth=True, signed=True, transport=keep, symbol_rules={values["symbol"]: rules}) as dry:
            dry.new_order(**values)
        assert keep.request is not None
        preview = _preview(values, numbers, reference, info)
        if run.opt("dry_run"):
            _show(run, {"preview": preview, "dry_run": True, "request": request_view(keep.request)})
            return 0
        if not run.out.json:
            run.out.result(preview)
        if not run.opt("yes"):
            if run.out.json:  # stdout carries one JSON document: the preview goes beside the question
                print(f"Order: {_one_line(preview)}", file=sys.stderr)
            run.confirm(f"Place this {values['side']} order for {values['qty']} {values['symbol']}?")
        try:
            ack = client.new_order(**values)
        except OrderStatusUnknownError as lost:  # keep when it was sent: the resolving command needs it
            entry = next((e for e in client.unresolved_orders if e.cl_ord_id == lost.cl_ord_id), None)
            if entry is not None:
                run.sent_at[lost.cl_ord_id] = entry.sent_at
            raise
    cl_ord_id: str = values["cl_ord_id"]
    result = {"cl_ord_id": cl_ord_id, "request_id": ack.request_id, "code": ack.code, "message": ack.message}
    if run.out.json:
        run.out.result({"preview": preview, "order": result})
    else:
        run.out.result(result)
        run.out.note("Submitted (not yet matched). Follow it with:\n  " + run.command(*_status_words(cl_ord_id)))
    return 0


def _status_words(cl_ord_id: str) -> list[str]:
    return ["order", "status", "--cl-ord-id", cl_ord_id]


def _one_line(preview: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in preview.items() if v is not None)


def _preview(
    values: dict[str, Any], numbers: dict[str, Decimal | None], reference: Decimal | None, info: Any
) -> dict[str, Any]:
    """What the order means in money: notional at its price (the mark price for a market order) and the fee
    at the symbol's rate (maker for a post-only order, else the taker rate: the most it can cost)."""
    qty = numbers["qty"]
    assert qty is not None
    notional = qty * reference if reference is not None else None
    maker = values["time_in_force"] == TIME_IN_FORCE_ALO
    rate: Decimal = info.maker_fee if maker else info.taker_fee
    preview: dict[str, Any] = {
        "symbol": values["symbol"],
        "side": values["side"],
        "order_type": values["order_type"],
        "time_in_force": values["time_in_force"],
        "qty": qty,
        "price": numbers["price"],
        "reference_price": reference,
        "notional": notional,
        "fee_role": "maker" if maker else "taker",
        "fee_rate": rate,
        "est_fee": notional * rate if notional is not None else None,
        "reduce_only": values["reduce_only"],
        "cl_ord_id": values["cl_ord_id"],
    }
    for optional in ("tp_price", "sl_price", "margin_mode", "leverage"):
        if values[optional] is not None:
            preview[optional] = values[optional]
    return preview


def _show(run: Run, document: dict[str, Any]) -> None:
    if run.out.json:
        run.out.result(document)
        return
    run.out.result(document["preview"])
    request = document["request"]
    print(f"\nDRY RUN: nothing was sent. The signed request would be:\n{request['method']} {request['url']}")
    for name, value in request["headers"].items():
        print(f"{name}: {value}")
    print(f"\n{request['body']}")


def _cancel(run: Run) -> int:
    with run.client(auth=True, signed=True) as client:
        ack = client.cancel_order(order_id=run.opt("order_id"), cl_ord_id=run.opt("cl_ord_id"))
    run.out.result(ack)
    run.out.note("Cancellation accepted (the exchange cancels asynchronously).")
    return 0


def _cancel_all(run: Run) -> int:
    symbol = run.opt("symbol")
    with run.client(auth=True, signed=True) as client:
        orders = client.query_open_orders(symbol=symbol).result
        ids = [order.id for order in orders]
        if not ids:
            run.out.result({"cancelled": 0, "order_ids": []})
            return 0
        if not run.opt("yes"):
            run.out.note(f"Open orders{' of ' + symbol if symbol else ''} to cancel:")
            if not run.out.json:
                run.out.result(orders, ("id", "cl_ord_id", "symbol", "side", "qty", "price", "status"))
            run.confirm(f"Cancel these {len(ids)} orders?")
        answer = client.cancel_orders(order_id_list=ids)
    run.out.result({"cancelled": len(ids), "order_ids": ids, "answer": answer})
    return 0


def _status(run: Run) -> int:
    """The order by id, or by client order id: the way to settle an `order status unknown` (exit 6).

    By client order id it is the client's resolve_order: with --sent-at (printed with exit 6) it waits out the
    order's in-flight window and then knows: placed (exit 0) or never arrived (exit 5, safe to resend with the
    same id). Without it, one lookup: found, or still unknown (exit 6; pass --sent-at, 0 if long ago).
    """
    from . import REFUSED, UNKNOWN

    cl_ord_id, sent_at = run.opt("cl_ord_id"), run.opt("sent_at")
    with run.client(auth=True) as client:
        if cl_ord_id is None:
            run.out.result(client.query_order(order_id=run.opt("order_id")))
            return 0
        resolution = client.resolve_order(cl_ord_id, wait=sent_at is not None, sent_at=sent_at)
    if isinstance(resolution, OrderFound):
        run.out.result(resolution.order)
        return 0
    if isinstance(resolution, OrderAbsent):
        run.out.error(
            "OrderAbsent",
            f"the exchange has no order with cl_ord_id {cl_ord_id}, and its in-flight window has passed: it never "
            "arrived",
            REFUSED,
            hint="Placing it again with the same id is safe:\n  "
            + run.command("order", "place", "SYMBOL", "SIDE", "QTY", "...", "--cl-ord-id", cl_ord_id),
            cl_ord_id=cl_ord_id,
        )
        return REFUSED
    run.out.error(
        "OrderUnknown",
        f"no order with cl_ord_id {cl_ord_id} yet, but it may still land ({resolution.reason})",
        UNKNOWN,
        hint="Ask again with --sent-at UNIX_SECONDS (when it was sent; 0 if long ago) to wait out its window.",
        cl_ord_id=cl_ord_id,
    )
    return UNKNOWN


def _one_id(parser: argparse.ArgumentParser) -> None:
    ids = parser.add_mutually_exclusive_group(required=True)
    ids.add_argument("--order-id", type=int, help="the exchange's order id")
    ids.add_argument("--cl-ord-id", help="the client order id")


def add_commands(nouns: Any, common: argparse.ArgumentParser) -> None:
    order = nouns.add_parser("order", parents=[common], help="place, cancel and look up orders (signed)")
    verbs = order.add_subparsers(dest="verb", metavar="VERB", required=True)

    place = verbs.add_parser(
        "place",
        parents=[common],
        help="check, preview, confirm and place an order",
        description=(__doc__ or "").split("\n\n", 1)[1],
    )
    place.add_argument("symbol", help="trading pair, e.g. BTC-USD")
    place.add_argument("side", choices=_choices("side"))
    place.add_argument("qty", help="quantity in the base asset (a decimal)")
    place.add_argument("--price", help="limit price (a decimal); required for limit orders")
    place.add_argument(
        "--type", choices=_choices("order_type"), default=ORDER_TYPE_LIMIT, help="order type (default limit)"
    )
    place.add_argument("--tif", choices=_choices("time_in_force"), help="time in force (default gtc; ioc for market)")
    place.add_argument("--reduce-only", action="store_true", help="only reduce the position")
    place.add_argument(flag("cl_ord_id"), help="client order id (default: a new ULID; reuse one to resend safely)")
    place.add_argument(flag("margin_mode"), choices=_choices("margin_mode"), help="must match the position's")
    place.add_argument(flag("leverage"), type=int, help="must match the position's")
    place.add_argument(flag("tp_price"), help="take-profit trigger price")
    place.add_argument(flag("sl_price"), help="stop-loss trigger price")
    place.add_argument("--yes", "-y", action="store_true", help="place without asking")
    place.add_argument(
        "--dry-run", action="store_true", help="every check, then print the signed request; send nothing"
    )
    place.set_defaults(handler=_place)

    cancel = verbs.add_parser("cancel", parents=[common], help="cancel one order by --order-id or --cl-ord-id")
    _one_id(cancel)
    cancel.set_defaults(handler=_cancel)

    cancel_all = verbs.add_parser("cancel-all", parents=[common], help="cancel every open order (of a symbol)")
    cancel_all.add_argument("symbol", nargs="?", help="only this symbol's orders")
    cancel_all.add_argument("--yes", "-y", action="store_true", help="cancel without asking")
    cancel_all.set_defaults(handler=_cancel_all)

    status = verbs.add_parser(
        "status", parents=[common], help="one order by --order-id or --cl-ord-id", description=_status.__doc__
    )
    _one_id(status)
    status.add_argument(
        "--sent-at",
        type=float,
        metavar="UNIX_SECONDS",
        help="when a lost order was sent: wait out its in-flight window, then answer for sure",
    )
    status.set_defaults(handler=_status)
