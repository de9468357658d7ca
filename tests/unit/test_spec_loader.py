"""The one spec loader (generator/spec_loader.py; the mock runs its copy): `$ref` chains, siblings, errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generator"))
from spec_loader import SpecError, chain, merged, parse, pointer, resolve

DOC: dict[str, Any] = {
    "components": {
        "schemas": {
            "Price": {"$ref": "#/components/schemas/Decimal", "description": "A price."},
            "Decimal": {"type": "string", "format": "decimal", "description": "A decimal."},
            "a/b~c": {"type": "integer"},
            "Loop1": {"$ref": "#/components/schemas/Loop2"},
            "Loop2": {"$ref": "#/components/schemas/Loop1"},
        }
    }
}


def test_chain_resolve_and_merged_follow_every_hop() -> None:
    node = {"$ref": "#/components/schemas/Price", "description": "Limit price."}
    hops = list(chain(DOC, node))
    assert [ref for ref, _ in hops] == [None, "#/components/schemas/Price", "#/components/schemas/Decimal"]
    assert resolve(DOC, node) == {"type": "string", "format": "decimal", "description": "A decimal."}
    # The nearest description wins (the field's own, beside its $ref); the first ref names the schema.
    assert merged(DOC, node) == (
        {"type": "string", "format": "decimal", "description": "Limit price."},
        "#/components/schemas/Price",
    )
    assert resolve(DOC, {"type": "integer"}) == {"type": "integer"}


def test_pointer_escapes_and_is_read_back() -> None:
    ref = "#" + pointer("components", "schemas", "a/b~c")
    assert ref == "#/components/schemas/a~1b~0c"
    assert resolve(DOC, {"$ref": ref}) == {"type": "integer"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("#/components/schemas/Loop1", "reference loop"),
        ("#/components/schemas/Missing", "unresolvable reference"),
        ("other.yaml#/components/schemas/Price", "only local references"),
    ],
)
def test_bad_references_are_named(ref: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        resolve(DOC, {"$ref": ref})


def test_parse_refuses_what_is_not_openapi_3_1() -> None:
    assert parse(b"openapi: 3.1.0\npaths: {}\n", "ok")["paths"] == {}
    for text, message in (
        ("just: text", "not an OpenAPI document"),
        ("openapi: 3.0.3\npaths: {}", "only OpenAPI 3.1"),
        ("a: [", "not YAML"),
    ):
        with pytest.raises(SpecError, match=f"label: {message}"):
            parse(text, "label")


def test_the_mock_runs_a_byte_copy_of_it() -> None:
    root = Path(__file__).resolve().parents[2]
    source = (root / "generator" / "spec_loader.py").read_text(encoding="utf-8")
    copy = (root / "mock" / "standx_mock" / "spec_loader.py").read_text(encoding="utf-8")
    assert copy.split("\n", 1)[1] == source  # below its do-not-edit banner
