"""Read the OpenAPI document, check its hash, and follow its local `$ref`s: the one place the mock loads
the spec (the routing and validation in `spec`, the stream table in `ws` and the plugin's tables all
start from `load_spec_document` and `resolve`)."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

MAX_REF_HOPS = 50


class SpecError(Exception):
    """The spec cannot be served (missing file, bad hash, unsupported construct)."""


class SpecHashMismatch(SpecError):
    pass


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str) -> str:
    """A JSON pointer from its tokens (`pointer("paths", "/api/x")` is `/paths/~1api~1x`)."""
    return "".join("/" + _escape(t) for t in tokens)


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/...`) from `node` until a node that is not a reference."""
    hops = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError(f"only local references are supported, got {ref!r}")
        target: Any = doc
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            try:
                target = target[token]
            except (KeyError, TypeError):
                raise SpecError(f"unresolvable reference {ref!r}") from None
        node = target
        hops += 1
        if hops > MAX_REF_HOPS:
            raise SpecError(f"reference loop at {ref!r}")
    return node


def expected_spec_hash() -> str:
    try:
        module = importlib.import_module("standx_mock._spec_hash")
    except ModuleNotFoundError:
        raise SpecError(
            "standx_mock/_spec_hash.py is missing: run `make generate` (or `python mock/sync_spec.py`)"
        ) from None
    value = getattr(module, "SPEC_SHA256", None)
    if not isinstance(value, str):
        raise SpecError("standx_mock/_spec_hash.py does not define SPEC_SHA256")
    return value


def load_spec_document(path: Path, expected_sha256: str | None, verify: bool = True) -> tuple[dict[str, Any], str]:
    """Read and parse the spec; refuse it when its sha256 is not the expected one."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the OpenAPI spec {path}: {exc.strerror}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if verify:
        want = expected_sha256 if expected_sha256 is not None else expected_spec_hash()
        if digest != want:
            raise SpecHashMismatch(
                f"refusing to start: sha256 of {path} is {digest}, but the mock was built for {want}. "
                "Regenerate with `make generate` (or `python mock/sync_spec.py`)."
            )
    doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~10x faster start-up
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{path} is not an OpenAPI document (no paths)")
    if not str(doc.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{path}: only OpenAPI 3.1 documents are supported, got {doc.get('openapi')!r}")
    return doc, digest
