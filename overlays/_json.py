"""JSON from the network, decoded exactly (decimals stay `Decimal`) and safely (no crash on deep nesting).

C decoders (`json`'s scanner, msgspec) recurse on the C stack and stop only at the interpreter's recursion
limit. At the default limit (1000) that is a `RecursionError`; but some libraries raise the limit at import
(`eth_account` sets 100000 through `py_ecc`), and then `[[[[...` from a broken proxy or a hostile server
overflows the C stack and kills the process with a segmentation fault. So when the limit is above the
default, the nesting depth of a body that could be too deep is measured first, with C-speed byte operations.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

#: Compact JSON as UTF-8 bytes: the exact bytes signed and sent (request bodies, stream commands). The same
#: text as `json.dumps(separators=(",", ":"), ensure_ascii=False)` for every code point, at a tenth of its cost.
#: msgspec's encoder, made on first use (`__getattr__` below), so `import standx_client` does not load msgspec.
dumps: Callable[[Any], bytes]


def __getattr__(name: str) -> Any:
    if name == "dumps":
        import msgspec

        encode: Callable[[Any], bytes] = msgspec.json.Encoder().encode
        globals()["dumps"] = encode  # later lookups find it without coming here
        return encode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: StandX answers nest a few levels; anything deeper than this is refused before decoding.
MAX_DEPTH = 256
_DEFAULT_RECURSION_LIMIT = 1000
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"\\')))
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class TooDeepError(ValueError):
    """The JSON nests deeper than `MAX_DEPTH` (or opens more brackets than it closes, that deep)."""


def check_depth(content: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeepError if `content` nests arrays and objects deeper than `limit`; cheap when it cannot."""
    if sys.getrecursionlimit() <= _DEFAULT_RECURSION_LIMIT:
        return  # the C decoders raise RecursionError themselves, long before the C stack runs out
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    if content.count(b"[") + content.count(b"{") <= limit:
        return  # depth never exceeds the number of opening brackets
    # Keep only brackets, quotes and backslashes, drop the strings (whose brackets do not nest), then peel
    # the innermost empty pairs once per level.
    shape = _STRING.sub(b"", content.translate(None, _NOT_STRUCTURE))
    for _ in range(limit):
        peeled = shape.replace(b"[]", b"").replace(b"{}", b"")
        if len(peeled) == len(shape):
            break
        shape = peeled
    else:
        if shape:
            raise TooDeepError(f"JSON nested deeper than {limit} levels")
    if shape.count(b"[") + shape.count(b"{") > limit:  # unbalanced: the decoder would descend this far
        raise TooDeepError(f"JSON opens more than {limit} levels without closing them")


def loads(content: bytes | str) -> Any:
    """`json.loads` with exact decimals, refusing (ValueError) what is too deep to decode safely."""
    check_depth(content)
    return json.loads(content, parse_float=Decimal)
