"""Types resolvable at run time: `typing.get_type_hints` on every client method and every model, while
`import standx_client` still loads no model (they load on first use)."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import subprocess
import sys
import typing
from decimal import Decimal

import pytest
import standx_client
from standx_client import AsyncStandX, OrderAbsent, OrderFound, OrderUnknown, StandX, models
from standx_client._operations import OPERATIONS
from standx_client.types import UNSET


def _public_methods(cls: type) -> list[tuple[str, typing.Any]]:
    found = [
        (name, member)
        for name, member in inspect.getmembers(cls)
        if callable(member) and (not name.startswith("_") or name == "__init__")
    ]
    return [(name, getattr(member, "__func__", member)) for name, member in found]


@pytest.mark.parametrize("cls", [StandX, AsyncStandX])
def test_get_type_hints_resolves_every_client_method(cls: type) -> None:
    methods = _public_methods(cls)
    # every operation, the iter_ forms, resolve_order, load_symbol_rules, from_env, __init__...
    assert set(OPERATIONS) < {name for name, _ in methods}
    failures = []
    for name, method in methods:
        try:
            typing.get_type_hints(method)
            inspect.signature(method, eval_str=True)
        except Exception as exc:  # every failure listed at once, not the first only
            failures.append(f"{cls.__name__}.{name}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_hints_are_the_real_classes() -> None:
    hints = typing.get_type_hints(StandX.new_order)
    assert models.Side in typing.get_args(hints["side"])
    assert hints["return"] is models.NewOrderResponse
    assert typing.get_type_hints(StandX.query_orders)["return"] is models.OrderPage
    assert typing.get_type_hints(StandX.resolve_order)["return"] == OrderFound | OrderAbsent | OrderUnknown
    assert Decimal in typing.get_args(hints["qty"]) and float not in typing.get_args(hints["qty"])


def test_get_type_hints_resolves_every_model() -> None:
    names = list(models.__all__)
    assert len(names) > 40
    failures = []
    for name in names:
        model = getattr(models, name)
        targets = [model] + ([model.__init__] if hasattr(model, "__attrs_attrs__") else [])
        for target in targets:
            try:
                typing.get_type_hints(target)
            except Exception as exc:
                failures.append(f"{name} ({getattr(target, '__name__', target)}): {type(exc).__name__}: {exc}")
    assert failures == []
    assert typing.get_type_hints(models.Certs)["keys"] == list[models.Jwk]  # a nested model


def test_import_standx_client_loads_no_model() -> None:
    """The facade names models through the lazy `models` package: importing the client imports none of them."""
    code = (
        "import json, sys, standx_client\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('standx_client.models.', "
        "'standx_client.api.')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(done.stdout) == []
    assert standx_client.StandX is StandX


def test_unset_reads_as_unset() -> None:
    assert repr(UNSET) == "UNSET"
    assert "avail_locked=UNSET" in repr(models.Order.from_dict(_order_without("avail_locked")))
    assert copy.copy(UNSET) is UNSET and copy.deepcopy(UNSET) is UNSET
    assert pickle.loads(pickle.dumps(UNSET)) is UNSET
    assert not UNSET


def _order_without(field: str) -> dict[str, object]:
    from tests.conftest import load_fixture

    order = dict(load_fixture("doc_examples.json")["query_order"]["response"])
    order.pop(field, None)
    return order
