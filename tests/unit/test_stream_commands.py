"""The order stream's commands come from the spec's stream table: one method per command that names an
operation, keyword-only, with that operation's JSON body fields typed as the HTTP method types them."""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from standx_client import StandX
from standx_client._streams import OrderCommands
from standx_client.streams import OrderStream

from tests.conftest import ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))
COMMANDS: dict[str, Any] = SPEC["x-standx-streams"]["orders"]["commands"]


def _body_fields(operation: str) -> set[str]:
    """The request body's properties of `operation`, read from the spec (not from the generated tables)."""
    for item in SPEC["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                return set(SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])
    raise AssertionError(f"no operation {operation}")


@pytest.mark.parametrize("command", [c for c, entry in COMMANDS.items() if "operation" in entry])
def test_each_command_is_a_method_typed_like_the_http_one(command: str) -> None:
    operation = COMMANDS[command]["operation"]
    method = getattr(OrderStream, operation)
    params = inspect.signature(method).parameters
    assert next(iter(params)) == "self"
    assert {p.kind for name, p in params.items() if name != "self"} == {inspect.Parameter.KEYWORD_ONLY}
    assert set(params) - {"self"} == _body_fields(operation)  # no **values: every field, nothing else
    stream_hints, http_hints = typing.get_type_hints(method), typing.get_type_hints(getattr(StandX, operation))
    assert {name: stream_hints[name] for name in params if name != "self"} == {
        name: http_hints[name] for name in params if name != "self"
    }


def test_a_command_sends_its_method_and_its_arguments() -> None:
    class Probe(OrderCommands):
        async def _command(self, method: str, values: Mapping[str, object]) -> Any:
            return method, dict(values)

    method, values = asyncio.run(Probe().cancel_order(cl_ord_id="abc"))  # type: ignore[misc]
    assert method == next(c for c, entry in COMMANDS.items() if entry.get("operation") == "cancel_order")
    assert values == {"order_id": None, "cl_ord_id": "abc"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'x_session_id'"):
        Probe().new_order(x_session_id="s")  # type: ignore[call-arg]
