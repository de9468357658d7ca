"""The regenerate loop: a spec edit alone (no hand-written code) yields a working facade method, model and enum.

Also `make generate` / `make check-generated` on a copy of the repository: fresh output passes, a spec
edit without regenerating fails with a readable summary, regenerating fixes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_helpers import JWT, PY, ROOT, SEED_HEX, SPEC, make, repo_copy, run

GENERATE = ROOT / "generator" / "generate.py"


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(doc: dict[str, Any], path: Path) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")


def evolve(doc: dict[str, Any]) -> dict[str, Any]:
    """The three edits of docs/workflows.md: a new operation with a new model, an enum change, optional fields."""
    schemas = doc["components"]["schemas"]
    # 1. A new operation returning a new model.
    schemas["InsuranceFund"] = {
        "type": "object",
        "description": "Insurance fund balance of a symbol.",
        "required": ["symbol", "balance"],
        "properties": {
            "symbol": {"$ref": "#/components/schemas/Symbol", "description": "Trading pair."},
            "balance": {"$ref": "#/components/schemas/DecimalValue", "description": "Fund balance."},
            "updated_at": {"type": "string", "format": "date-time", "description": "Last update."},
        },
    }
    doc["paths"]["/api/query_insurance_fund"] = {
        "get": {
            "tags": ["market"],
            "summary": "Query the insurance fund",
            "description": "Returns the insurance fund balance of a symbol. Public.",
            "operationId": "query_insurance_fund",
            "security": [],
            "parameters": [
                {
                    "name": "symbol",
                    "in": "query",
                    "required": True,
                    "description": "Trading pair.",
                    "schema": {"$ref": "#/components/schemas/Symbol"},
                }
            ],
            "responses": {
                "200": {
                    "description": "The fund.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InsuranceFund"}}},
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
            },
        }
    }
    # 2. An enum changed: `fok` added, `alo` withdrawn.
    schemas["TimeInForce"]["enum"] = ["gtc", "ioc", "fok"]
    # 3. Optional fields: one sent (request), one received (response).
    schemas["NewOrderRequest"]["properties"]["client_tag"] = {
        "type": "string",
        "maxLength": 32,
        "description": "Free-form tag echoed in order events.",
    }
    schemas["Region"]["properties"]["country"] = {"type": "string", "description": "ISO country code."}
    return doc


# Runs inside a fresh interpreter with PYTHONPATH=<out>/generated: only the freshly generated package.
CLIENT_SCRIPT = """
import base64, inspect, json, sys
import httpx, nacl.signing
import standx_client as sx
from standx_client.models import InsuranceFund, Region, TimeInForce
from standx_client._operations import OPERATIONS

assert sx.__file__.startswith(sys.argv[1]), sx.__file__
sent = []

def handler(request):
    sent.append(request)
    path = request.url.path
    if path == "/api/query_insurance_fund":
        return httpx.Response(200, json={"symbol": request.url.params["symbol"], "balance": "12345.678",
                                         "updated_at": "2026-01-02T03:04:05Z"})
    if path == "/api/new_order":
        return httpx.Response(200, json={"code": 0, "message": "success", "request_id": "r-1"})
    if path == "/v1/region":
        return httpx.Response(200, json={"systemTime": 1761970177865, "region": "jp", "country": "JP"})
    return httpx.Response(404, json={"code": 404, "message": "no route"})

client = sx.StandX(jwt=sys.argv[2], signing_key=sys.argv[3], transport=httpx.MockTransport(handler))
fund = client.query_insurance_fund(symbol="BTC-USD")
region = client.query_region()
client.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000",
                 time_in_force="fok", reduce_only=False, client_tag="bot-7")
order_body = json.loads(sent[-1].content)
try:
    client.new_order(symbol="BTC-USD", side="buy", order_type="limit", qty="0.1", price="50000",
                     time_in_force="alo", reduce_only=False)
    refused = None
except sx.ValidationError as exc:
    refused = str(exc)
signature = inspect.signature(sx.StandX.query_insurance_fund)
print(json.dumps({
    "fund_type": type(fund).__name__,
    "fund_is_model": isinstance(fund, InsuranceFund),
    "balance": repr(fund.balance),
    "updated_at": fund.updated_at.isoformat(),
    "fund_request": str(sent[0].url),
    "country": region.country,
    "region_is_model": isinstance(region, Region),
    "time_in_force": sorted(v.value for v in TimeInForce),
    "order_body": order_body,
    "order_signed": "x-request-signature" in sent[2].headers,
    "alo_refused": refused,
    "requests_sent": len(sent),
    "signature": {name: [str(p.kind), p.default is p.empty] for name, p in signature.parameters.items()},
    "returns": str(signature.return_annotation),
    "async_method": hasattr(sx.AsyncStandX, "query_insurance_fund"),
    "operation": {"auth": OPERATIONS["query_insurance_fund"].auth, "signed": OPERATIONS["query_insurance_fund"].signed,
                  "path": OPERATIONS["query_insurance_fund"].path},
}))
"""


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def evolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Generate from the spec as is and from the evolved copy, side by side (two processes, two cores)."""
    work = tmp_path_factory.mktemp("regenerate")
    base_spec, new_spec = work / "base.yaml", work / "evolved.yaml"
    shutil.copyfile(SPEC, base_spec)
    _dump(evolve(_load(SPEC)), new_spec)
    procs = {
        name: subprocess.Popen(
            [PY, str(GENERATE), "--spec", str(spec), "--out-root", str(work / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, spec in (("base", base_spec), ("new", new_spec))
    }
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"generator failed on the {name} spec:\n{output}"
    return {"work": work, "spec": new_spec}


def test_spec_change_alone_yields_a_working_facade_method_model_and_enum(evolved: dict[str, Any]) -> None:
    out = evolved["work"] / "new"
    env = {**os.environ, "PYTHONPATH": str(out / "generated")}
    result = run([PY, "-c", CLIENT_SCRIPT, str(out / "generated"), JWT, SEED_HEX], env=env, cwd=out)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)

    # The new operation: a keyword-only facade method returning the new model, decoded exactly.
    assert seen["signature"]["symbol"] == ["KEYWORD_ONLY", True]  # keyword-only and required
    assert [name for name, (_, required) in seen["signature"].items() if required] == ["self", "symbol"]
    assert seen["returns"] == "models.InsuranceFund"  # models are named through the lazy models package
    assert seen["async_method"] is True
    assert seen["fund_is_model"] is True
    assert seen["balance"] == "Decimal('12345.678')"
    assert seen["updated_at"] == "2026-01-02T03:04:05+00:00"
    assert seen["fund_request"] == "https://perps.standx.com/api/query_insurance_fund?symbol=BTC-USD"
    assert seen["operation"] == {"auth": False, "signed": False, "path": "/api/query_insurance_fund"}

    # The changed enum: the new value is accepted and sent; the withdrawn one is refused before sending.
    assert seen["time_in_force"] == ["fok", "gtc", "ioc"]
    assert seen["order_body"]["time_in_force"] == "fok"
    assert seen["alo_refused"] and "alo" in seen["alo_refused"]
    assert seen["requests_sent"] == 3

    # The optional fields: sent when given (and signed with the rest of the body), decoded when received.
    assert seen["order_body"]["client_tag"] == "bot-7"
    assert seen["order_signed"] is True
    assert seen["country"] == "JP"
    assert seen["region_is_model"] is True


def test_spec_change_touches_only_derived_files(evolved: dict[str, Any]) -> None:
    base, new = _tree(evolved["work"] / "base"), _tree(evolved["work"] / "new")
    changed = {p for p in base.keys() & new.keys() if base[p] != new[p]}
    added, removed = new.keys() - base.keys(), base.keys() - new.keys()
    pkg = "generated/standx_client/"
    assert added == {pkg + "api/market/query_insurance_fund.py", pkg + "models/insurance_fund.py"}
    assert removed == set()
    derived = [
        "_facade.py",  # the new method and the new argument
        "_operations.py",  # the new row and the new rules (signed-operation table included)
        "_commands.py",  # the command line's row: `standx api market query-insurance-fund`
        "_spec_info.py",  # the new spec hash
        "_tables.py",  # the enum's values
        "_streams.py",  # the order stream's new_order takes the new body field too
        "models/__init__.py",
        "models/time_in_force.py",
        "models/new_order_request.py",
        "models/region.py",
    ]
    mock = ["mock/standx_mock/standx.yaml", "mock/standx_mock/_spec_hash.py", "mock/standx_mock/_tables.py"]
    assert changed == {pkg + path for path in derived} | set(mock)
    # The hand-written overlays are laid in unchanged: nothing was written by hand for the new operation.
    overlays = [pkg + p.relative_to(ROOT / "overlays").as_posix() for p in (ROOT / "overlays").glob("*.py")]
    assert overlays and all(path in base and path not in changed for path in overlays)

    new_root = evolved["work"] / "new"
    spec_bytes = evolved["spec"].read_bytes()
    assert (new_root / "mock/standx_mock/standx.yaml").read_bytes() == spec_bytes
    digest = hashlib.sha256(spec_bytes).hexdigest()
    assert f'SPEC_SHA256 = "{digest}"' in (new_root / pkg / "_spec_info.py").read_text()
    assert digest in (new_root / "mock/standx_mock/_spec_hash.py").read_text()


def test_make_generate_and_check_generated_on_a_repo_copy(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path)
    generated = make("generate", cwd=repo)  # its wall time is a row of `make bench`, not a test
    assert generated.returncode == 0, generated.stdout + generated.stderr
    fresh = make("check-generated", cwd=repo)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "generated code matches" in fresh.stdout

    spec = repo / "openapi" / "standx.yaml"
    doc = _load(spec)
    doc["components"]["schemas"]["Region"]["properties"]["country"] = {"type": "string", "description": "Country."}
    _dump(doc, spec)
    stale = make("check-generated", cwd=repo)
    assert stale.returncode != 0
    assert "STALE: generated/standx_client differs from a fresh 'make generate'" in stale.stdout
    assert "STALE: mock/standx_mock/standx.yaml differs" in stale.stdout
    # Real paths: the committed file by its repository path, the two sides of the diff labelled apart.
    assert "  generated/standx_client/models/region.py: differs" in stale.stdout
    assert "--- generated/standx_client/models/region.py (committed)" in stale.stdout
    assert "+++ generated/standx_client/models/region.py (fresh make generate)" in stale.stdout
    assert "/tmp" not in stale.stdout and str(tmp_path) not in stale.stdout
    assert "Run 'make generate' and commit the result." in stale.stdout

    regenerated = make("generate", cwd=repo)
    assert regenerated.returncode == 0
    listed = [line.split() for line in regenerated.stdout.splitlines() if line.startswith("  ")]
    assert ["M", "generated/standx_client/models/region.py"] in listed
    assert ["M", "mock/standx_mock/standx.yaml"] in listed
    assert all(path != "generated/standx_client/models/order.py" for _, path in listed)  # unchanged: not listed
    assert "make spec-diff" in regenerated.stdout
    again = make("check-generated", cwd=repo)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "no file changed" in make("generate", cwd=repo).stdout
