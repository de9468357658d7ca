"""The generated package itself: banners, spec stamp, Decimal models, enums, StandXAuth with a plain httpx client."""

from __future__ import annotations

import hashlib
import importlib.metadata
from decimal import Decimal
from pathlib import Path

import httpx
import nacl.signing
import pytest
import standx_client
import yaml
from standx_client import StandXAuth
from standx_client.api.market import query_symbol_market
from standx_client.api.trade import new_order
from standx_client.models import NewOrderRequest, OrderStatus, OrderType, Side, SymbolMarket, TimeInForce

from tests.conftest import DOC_EXAMPLES, LIVE_DEVIATIONS, ROOT, SEED_HEX, VECTORS, Recorder, json_response

PACKAGE = Path(standx_client.__file__).parent


def test_every_file_carries_a_do_not_edit_banner() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert "make generate" in first and "Do not edit" in first, path


def test_spec_stamp() -> None:
    spec = (ROOT / "openapi" / "standx.yaml").read_bytes()
    assert hashlib.sha256(spec).hexdigest() == standx_client.SPEC_SHA256
    assert importlib.metadata.version("openapi-python-client") == standx_client.GENERATOR_VERSION
    assert standx_client.SPEC_VERSION and standx_client.SPEC_VERSION in spec.decode()


def test_request_model_serializes_decimals_exactly() -> None:
    body = NewOrderRequest(
        symbol="BTC-USD",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        qty=Decimal("0.1"),
        price=Decimal("5E+4"),
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
    )
    assert body.to_dict() == DOC_EXAMPLES["new_order"]["request"]


def test_response_model_round_trip() -> None:
    market = SymbolMarket.from_dict(DOC_EXAMPLES["query_symbol_market"]["response"])
    assert market.volume_24h == Decimal("9030.51800000000002509")
    assert market.to_dict()["volume_24h"] == "9030.51800000000002509"


def test_enum_keeps_unknown_values() -> None:
    assert OrderStatus("partially_filled") == "partially_filled"
    assert OrderStatus("partially_filled") is OrderStatus("partially_filled")
    # The members are exactly the spec's list (read from the YAML, not the generated code): an unknown value
    # received is kept, but never becomes a member.
    spec = yaml.safe_load((ROOT / "openapi" / "standx.yaml").read_text(encoding="utf-8"))
    assert {s.value for s in OrderStatus} == set(spec["components"]["schemas"]["OrderStatus"]["enum"])
    assert "partially_filled" not in {s.value for s in OrderStatus}


def test_a_plain_httpx_client_with_the_signer_and_parse_success() -> None:
    """Users who send with their own httpx client get the same signing (StandXAuth) and the same one-step decode
    (each endpoint module's parse_success), though requests have one path in the package: the facade's."""
    recorder = Recorder(
        {
            "/api/new_order": json_response(DOC_EXAMPLES["new_order"]["response"]),
            "/api/query_symbol_market": json_response(LIVE_DEVIATIONS["symbol_market_numbers"]["body"]),
        }
    )
    auth = StandXAuth(SEED_HEX, hosts=["perps.standx.com"])
    with httpx.Client(base_url="https://perps.standx.com", transport=httpx.MockTransport(recorder), auth=auth) as http:
        body = NewOrderRequest.from_dict(DOC_EXAMPLES["new_order"]["request"]).to_dict()
        ack = new_order.parse_success(http.post("/api/new_order", json=body).content)
        assert ack.message == "success"
        sent = recorder.last
        h = sent.headers
        message = f"v1,{h['x-request-id']},{h['x-request-timestamp']},".encode() + sent.content
        nacl.signing.VerifyKey(bytes.fromhex(VECTORS["public_key_hex"])).verify(
            message, __import__("base64").b64decode(h["x-request-signature"])
        )
        market = query_symbol_market.parse_success(http.get("/api/query_symbol_market?symbol=BTC-USD").content)
    assert isinstance(market, SymbolMarket)
    assert str(market.volume_24h) == "8755.733700000033"
    assert "x-request-signature" not in recorder.last.headers  # a public operation is not signed


def test_endpoint_modules_keep_only_the_decode() -> None:
    """One request path: the endpoint modules no longer carry openapi-python-client's sync/asyncio functions."""
    modules = sorted((PACKAGE / "api").rglob("*.py"))
    assert len([m for m in modules if m.name != "__init__.py"]) == 28
    for module in modules:
        text = module.read_text(encoding="utf-8")
        assert "def sync" not in text and "def asyncio" not in text and "httpx" not in text, module
    assert not (PACKAGE / "client.py").exists() and not (PACKAGE / "errors.py").exists()


def test_secret_fields_stay_out_of_repr() -> None:
    """`x-standx-secret` in the spec (the login token) becomes attrs `repr=False`."""
    from standx_client.models import LoginResponse

    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2ln"
    answer = LoginResponse.from_dict({"token": token, "address": "0xabc", "chain": "bsc"})
    assert answer.token == token
    assert token not in repr(answer) and "0xabc" in repr(answer)
    assert answer.to_dict()["token"] == token


def test_every_facade_argument_is_documented() -> None:
    """Each keyword of each facade method has its text from the spec (parameter or schema description)."""
    import inspect

    undocumented = []
    checked = 0
    for name, method in inspect.getmembers(standx_client.StandX, inspect.isfunction):
        if name.startswith("_") or "Args:" not in (method.__doc__ or ""):
            continue
        checked += 1
        args_doc = method.__doc__.split("Args:", 1)[1]
        for param in inspect.signature(method).parameters:
            if param == "self":
                continue
            line = next((ln.strip() for ln in args_doc.splitlines() if ln.strip().startswith(f"{param}:")), "")
            if len(line) <= len(param) + 2:
                undocumented.append(f"{name}({param})")
    assert checked >= 25
    assert undocumented == []


def _docstrings() -> dict[str, str]:
    import inspect

    found = {}
    for cls in (standx_client.StandX, standx_client.AsyncStandX):
        for name, method in inspect.getmembers(cls, callable):
            if not name.startswith("_") and method.__doc__:
                found[f"{cls.__name__}.{name}"] = inspect.cleandoc(method.__doc__)
    return found


def test_facade_docstrings_name_no_spec_extension() -> None:
    docs = _docstrings()
    assert len(docs) > 50
    assert [name for name, doc in docs.items() if "x-standx" in doc or "x_standx" in doc] == []


def test_one_of_docstrings_agree_with_the_validation() -> None:
    """Each operation whose table row requires exactly one of a group says so in words, and the client refuses
    both and neither before sending."""
    import httpx
    from standx_client._operations import OPERATIONS

    from tests.conftest import JWT, SEED_HEX, Recorder

    docs = _docstrings()
    groups = {name: op.require_one_of for name, op in OPERATIONS.items() if op.require_one_of}
    assert {"cancel_order", "cancel_orders", "query_order"} <= set(groups)
    sample = {"order_id": 1, "cl_ord_id": "abc", "order_id_list": [1], "cl_ord_id_list": ["abc"]}
    recorder = Recorder({})
    client = standx_client.StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    for name, op_groups in groups.items():
        doc = " ".join(docs[f"StandX.{name}"].split())
        assert "at least one" not in doc.lower(), name
        for group in op_groups:
            assert f"Give exactly one of {' or '.join(f'`{g}`' for g in group)}." in doc, name
            for values in ({g: sample[g] for g in group}, {}):
                with pytest.raises(standx_client.ValidationError):
                    getattr(client, name)(**values)
    assert recorder.requests == []


def test_importing_the_client_loads_neither_the_decoder_nor_the_stream_libraries() -> None:
    """`import standx_client` stays light (a CLI starts fast; a REST-only bot never loads websockets): msgspec
    loads with the first body or answer, websockets with `standx_client.streams`."""
    import subprocess
    import sys

    heavy = ("msgspec", "websockets", "typing_extensions")
    code = f"import sys, standx_client; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
