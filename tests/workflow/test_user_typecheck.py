"""A user's code type-checks against the package as `make setup` installs it (an editable install): mypy must
find `standx_client` through a plain path entry, since it cannot follow setuptools' import-hook finder."""

from __future__ import annotations

import os
from pathlib import Path

from workflow_helpers import PY, run

GOOD = """
from decimal import Decimal
from standx_client import StandX, models
from standx_client.streams import OrderStream

with StandX() as client:
    price: models.SymbolPrice = client.query_symbol_price(symbol="BTC-USD")
    mark: Decimal = price.mark_price
    for order in client.iter_query_orders(symbol="BTC-USD"):
        side: models.Side = order.side


async def place(orders: OrderStream) -> str | None:  # the stream's commands are typed like the HTTP methods
    result = await orders.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.01", price="50000",
                                    time_in_force="alo", reduce_only=False)
    return result.cl_ord_id
"""

BAD = """
from standx_client import AsyncStandX, StandX
from standx_client.streams import OrderStream

StandX().query_symbol_price(symbl="BTC-USD")
mark: int = StandX().query_symbol_price(symbol="BTC-USD").mark_price
StandX(jwtt="x", base_ur="https://perps.standx.com", timeout="5")
AsyncStandX.from_env(retyr=None)


async def place(orders: OrderStream) -> None:
    await orders.cancel_order(order_id="12")
    await orders.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.01", time_in_force="fok",
                           reduce_only=False)
"""


def _mypy(tmp_path: Path, name: str, code: str) -> tuple[int, str]:
    (tmp_path / name).write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    done = run([PY, "-m", "mypy", "--strict", "--cache-dir", tmp_path / ".cache", name], cwd=tmp_path, env=env)
    return done.returncode, done.stdout + done.stderr


def test_user_snippet_type_checks_against_the_installed_package(tmp_path: Path) -> None:
    # tmp_path is outside the repository: the package can only come from the venv's site-packages.
    status, output = _mypy(tmp_path, "good.py", GOOD)
    assert status == 0, output
    status, output = _mypy(tmp_path, "bad.py", BAD)
    assert "import-not-found" not in output and "import-untyped" not in output
    assert status == 1
    assert 'Unexpected keyword argument "symbl"' in output
    # the constructors take every option by name and type: a misspelled or mistyped option is a mypy error
    assert 'Unexpected keyword argument "jwtt" for "StandX"' in output
    assert 'Unexpected keyword argument "base_ur" for "StandX"' in output
    assert 'Argument "timeout" to "StandX" has incompatible type "str"' in output
    assert 'Unexpected keyword argument "retyr" for "from_env" of "_ClientCore"' in output
    assert 'Incompatible types in assignment (expression has type "Decimal", variable has type "int")' in output
    # The order stream's commands, generated from the spec's stream table with the HTTP methods' types.
    assert 'Argument "order_id" to "cancel_order" of "OrderCommands" has incompatible type "str"' in output
    assert (
        'Argument "time_in_force" to "new_order" of "OrderCommands" has incompatible type "Literal[\'fok\']"' in output
    )
