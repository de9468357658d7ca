"""A response that is one of two models: msgspec cannot tell such variants apart, so the generator routes it to
the JSON + from_dict decode (`_decode.dict_decoder`), whose union parser tries the variants in order; a variant
that fails halfway leaves the body whole for the next one.

No StandX operation answers such a union today, so the spec is extended the way a future change would.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from workflow_helpers import PY, ROOT, SPEC, run

GENERATE = ROOT / "generator" / "generate.py"


def with_union_operation(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc["components"]["schemas"]
    # Both variants start with the same required field; the first also needs one the answer lacks.
    schemas["FillAck"] = {
        "type": "object",
        "description": "An order filled.",
        "required": ["order_id", "fill_qty"],
        "properties": {
            "order_id": {"type": "integer", "description": "Order id."},
            "fill_qty": {"$ref": "#/components/schemas/DecimalValue", "description": "Filled quantity."},
        },
    }
    schemas["RejectAck"] = {
        "type": "object",
        "description": "An order rejected.",
        "required": ["order_id", "reason"],
        "properties": {
            "order_id": {"type": "integer", "description": "Order id."},
            "reason": {"type": "string", "description": "Why."},
        },
    }
    doc["paths"]["/api/query_ack"] = {
        "get": {
            "tags": ["market"],
            "summary": "Query an acknowledgement",
            "description": "A fill or a rejection. Public.",
            "operationId": "query_ack",
            "security": [],
            "responses": {
                "200": {
                    "description": "The acknowledgement.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/FillAck"},
                                    {"$ref": "#/components/schemas/RejectAck"},
                                ]
                            }
                        }
                    },
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
            },
        }
    }
    return doc


SCRIPT = """
import json, sys
import httpx
import standx_client as sx
from standx_client.api.market import query_ack
from standx_client.models import FillAck, RejectAck

assert sx.__file__.startswith(sys.argv[1]), sx.__file__
answers = [{"order_id": 7, "reason": "alo order rejected", "extra": 1}, {"order_id": 8, "fill_qty": "0.5"}]

def handler(request):
    return httpx.Response(200, json=answers.pop(0))

client = sx.StandX(transport=httpx.MockTransport(handler))
rejected, filled = client.query_ack(), client.query_ack()
direct = query_ack.parse_success(b'{"order_id": 9, "reason": "r", "fill": 1.5}')
print(json.dumps({
    "rejected": [type(rejected).__name__, rejected.order_id, rejected.reason],
    "filled": [type(filled).__name__, filled.order_id, str(filled.fill_qty)],
    "direct": [type(direct).__name__, direct.order_id, direct.reason],
}))
"""


def test_a_failed_union_variant_leaves_the_body_whole_for_the_next(tmp_path: Path) -> None:
    spec = tmp_path / "union.yaml"
    spec.write_text(yaml.safe_dump(with_union_operation(yaml.safe_load(SPEC.read_text())), sort_keys=False))
    out = tmp_path / "out"
    generated = subprocess.run(
        [PY, str(GENERATE), "--spec", str(spec), "--out-root", str(out)], capture_output=True, text=True, timeout=180
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    module = (out / "generated" / "standx_client" / "api" / "market" / "query_ack.py").read_text()
    assert "dict_decoder(" in module and "json_decoder(" not in module

    env = {**os.environ, "PYTHONPATH": str(out / "generated")}
    result = run([PY, "-c", SCRIPT, str(out / "generated")], env=env, cwd=out)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["rejected"] == ["RejectAck", 7, "alo order rejected"]
    assert seen["filled"] == ["FillAck", 8, "0.5"]
    assert seen["direct"] == ["RejectAck", 9, "r"]
