# Copied from generator/spec_loader.py by `make generate`. Do not edit here: edit generator/spec_loader.py.
"""Read an OpenAPI document and follow its local `$ref`s: the one spec loader of the generator, the mock and
tools/spec_diff.py.

The generator and the tools import it from generator/; `make generate` copies it into the mock package
(`standx_mock/spec_loader.py`, like the mock's copy of the spec), so an installed mock needs no generator.
Standard library and PyYAML only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml  # type: ignore[import-untyped]

MAX_REF_HOPS = 50
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class SpecError(Exception):
    """The document cannot be used: unreadable, not OpenAPI 3.1, a `$ref` that is remote, dangles or loops."""


class Loaded(NamedTuple):
    doc: dict[str, Any]
    raw: bytes  # the file's bytes, as hashed
    sha256: str


def parse(raw: bytes | str, label: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document from YAML (or JSON) text; SpecError naming `label` otherwise."""
    try:
        doc = yaml.load(raw, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SpecError(f"{label}: not YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{label}: not an OpenAPI document (no paths)")
    if not str(doc.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{label}: only OpenAPI 3.1 documents are supported, got {doc.get('openapi')!r}")
    return doc


def load(path: Path) -> Loaded:
    """Read, hash and parse the document at `path`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the OpenAPI spec {path}: {exc.strerror}") from None
    return Loaded(parse(raw, str(path)), raw, hashlib.sha256(raw).hexdigest())


def pointer(*tokens: str) -> str:
    """A JSON pointer from its tokens (`pointer("paths", "/api/x")` is `/paths/~1api~1x`)."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def target(doc: dict[str, Any], ref: Any) -> Any:
    """The node a local `$ref` (`#/...`) points at: one step."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise SpecError(f"only local references are supported, got {ref!r}")
    node: Any = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            raise SpecError(f"unresolvable reference {ref!r}")
        node = node[token]
    return node


def chain(doc: dict[str, Any], node: Any) -> Iterator[tuple[str | None, Any]]:
    """`node` and every node its `$ref` chain reaches, in order, each with the `$ref` that led to it
    (None for `node` itself). The last one is not a reference."""
    ref: str | None = None
    hops = 0
    while True:
        yield ref, node
        if not isinstance(node, dict) or "$ref" not in node:
            return
        ref = node["$ref"]
        node = target(doc, ref)
        hops += 1
        if hops > MAX_REF_HOPS:
            raise SpecError(f"reference loop at {ref!r}")


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """The node at the end of `node`'s `$ref` chain."""
    *_, (_, end) = chain(doc, node)
    return end


def merged(doc: dict[str, Any], node: Any) -> tuple[Any, str | None]:
    """The end of `node`'s `$ref` chain with the keywords beside each `$ref` merged in, the nearest winning
    (OpenAPI 3.1: a field's own description beside a `$ref` to a shared schema), and the first `$ref`."""
    siblings: dict[str, Any] = {}
    first: str | None = None
    end: Any = node
    for ref, end in chain(doc, node):
        first = first or ref
        if isinstance(end, dict) and "$ref" in end:
            siblings = {**{k: v for k, v in end.items() if k != "$ref"}, **siblings}
    if siblings and isinstance(end, dict):
        end = {**end, **siblings}
    return end, first
