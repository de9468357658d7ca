"""One decode step: the bytes of an HTTP answer or a stream frame -> the spec's typed models (attrs classes).

msgspec (compiled) builds the generated attrs models straight from the bytes, reading their field types; no
intermediate dicts, and no per-field Python. What the models promise holds on this path:

- Decimal fields are exact whatever the JSON type: a string through `Decimal(text)`, a number (the live API
  sends some) from its own digits, so `9030.51800000000002509` stays exactly that. Numbers in untyped fields
  become Decimal too (`float_hook`), never float. NaN and infinities are refused (`__attrs_post_init__`).
- An absent optional field is `UNSET`, a null one `None`.
- An enum value the spec does not list is kept (`StrEnum._missing_`), not refused.
- Fields the spec does not list are ignored: the models hold what the spec describes (README, "Responses").
- Anything else (a wrong type, a missing required field, bytes that are not JSON, nesting too deep) raises
  `SpecMismatch`, whose message says where (`$.result[3].price`); the client raises it as ResponseDecodeError.

Each endpoint module's `parse_success` is one of these decoders; streams use `market_frame` and `order_frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from importlib import import_module
from typing import Any, ClassVar, TypeVar, Union

import msgspec
import msgspec.inspect

from ._json import TooDeepError, check_depth
from ._streams import CHANNELS, ORDER_RESPONSE

T = TypeVar("T")
Decoder = Callable[[bytes | str], T]  # an endpoint's parse_success, a stream's frame decoder

# Failures of a decode: msgspec's (a ValueError), a model's own check (ValueError), from_dict's (LookupError,
# TypeError, decimal.InvalidOperation), and nesting deeper than the interpreter allows.
_FAILURES = (ValueError, LookupError, TypeError, AttributeError, ArithmeticError, RecursionError)


class SpecMismatch(ValueError):
    """A body (HTTP answer or stream frame) that is not what the spec describes; the message says where."""


def _mismatch(exc: BaseException, where: str = "$", content: bytes | str = b"") -> SpecMismatch:
    if isinstance(exc, RecursionError | TooDeepError):  # find the field that holds the deep nesting
        return SpecMismatch(f"nested too deeply to decode - at `{_deep_field(content, where)}`")
    if isinstance(exc, msgspec.ValidationError):  # "Expected `int`, got `str` - at `$.result[0].id`"
        return SpecMismatch(str(exc).replace("`$", f"`{where}", 1) if where != "$" else str(exc))
    if isinstance(exc, msgspec.DecodeError):
        return SpecMismatch(f"not JSON: {exc}")
    return SpecMismatch(f"{type(exc).__name__}: {exc} - at `{where}`")


_DEEP = 64  # containers nested deeper than this are what a RecursionError points at


def _deep_field(content: bytes | str, where: str) -> str:
    """The path of the outermost container whose nesting exceeds `_DEEP` (only after a RecursionError: a small
    scanner over the raw bytes, which tracks object keys and array indexes outside strings)."""
    text = content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")
    path: list[str] = []  # one step per open container: ".key" or "[i]" that led into it
    steps: list[Any] = []  # per open container: the current key (object) or element index (array)
    key, in_string, escaped, start = None, False, False, 0
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                key = text[start:i]
        elif char == '"':
            in_string, start = True, i + 1
        elif char in "[{":
            if steps:
                path.append(f"[{steps[-1]}]" if isinstance(steps[-1], int) else f".{steps[-1]}")
            if len(path) > _DEEP:
                break
            steps.append(0 if char == "[" else None)
        elif char in "]}":
            if steps:
                steps.pop()
            if path:
                path.pop()
        elif char == ":" and steps and not isinstance(steps[-1], int):
            steps[-1] = key
        elif char == "," and steps and isinstance(steps[-1], int):
            steps[-1] += 1
    # The field is where the run of nesting starts: the last named or indexed step before it turns anonymous.
    depth = next((n for n in range(len(path)) if all(step.startswith("[0]") for step in path[n + 1 :])), len(path))
    return where + "".join(path[: depth + 1])


def _renamed(type_: Any) -> list[str]:
    """The models in a type whose JSON names differ from their field names (`__wire_names__`, generated)."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(info: Any) -> None:
        if id(info) in seen:
            return
        seen.add(id(info))
        cls = getattr(info, "cls", None)
        if cls is not None and getattr(cls, "__wire_names__", None):
            found.append(cls.__name__)
        for name in ("fields", "types", "item_type", "key_type", "value_type"):
            value = getattr(info, name, None)
            for item in value if isinstance(value, tuple) else [value] if value is not None else []:
                walk(getattr(item, "type", item))  # a Field carries its type

    walk(msgspec.inspect.type_info(type_))
    return found


def json_decoder(type_: Any, where: str = "$") -> Decoder[Any]:
    """bytes -> `type_` (a model, a list of models, a union msgspec can tell apart, or a plain type).

    msgspec matches JSON keys to field names; a model whose JSON names differ (`__wire_names__`) is built with its
    from_dict instead, so no field is ever missed. The generated endpoint modules route such types to
    `dict_decoder` themselves; this guard keeps every other caller (the streams) as safe."""
    renamed = _renamed(type_)
    if renamed:
        from_dict = getattr(type_, "from_dict", None)
        if from_dict is None:
            raise TypeError(f"{type_!r}: {', '.join(renamed)} renamed on the wire; decode it with dict_decoder")
        return dict_decoder(from_dict, where)
    decode = msgspec.json.Decoder(type_, float_hook=Decimal).decode

    def parse(content: bytes | str) -> Any:
        try:
            check_depth(content)
            return decode(content)
        except _FAILURES as exc:
            raise _mismatch(exc, where, content) from None

    return parse


_decode_any = msgspec.json.Decoder(float_hook=Decimal).decode  # untyped, with exact numbers


def dict_decoder(build: Callable[[Any], T], where: str = "$") -> Decoder[T]:
    """bytes -> JSON -> `build` (a generated from_dict), for the types msgspec cannot tell apart by itself (a union
    of several models: the generated parser tries each in turn)."""

    def parse(content: bytes | str) -> T:
        try:
            check_depth(content)
            return build(_decode_any(content))
        except _FAILURES as exc:
            raise _mismatch(exc, where, content) from None

    return parse


def _same(data: T) -> T:
    return data


untyped: Decoder[Any] = dict_decoder(_same)
"""bytes -> plain JSON values with exact decimals, for an answer the client inspects itself."""


def text_decoder() -> Decoder[str]:
    """bytes -> str, for a `text/plain` answer (health)."""

    def parse(content: bytes | str) -> str:
        if isinstance(content, str):
            return content
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SpecMismatch(f"expected UTF-8 text: {exc}") from None

    return parse


class _Code(msgspec.Struct):
    code: int | None = None


_decode_code = msgspec.json.Decoder(_Code).decode


def error_code(content: bytes | str) -> int | None:
    """The `code` of a JSON object body, if it has an integer one (StandX reports some errors with HTTP 200)."""
    try:
        check_depth(content)
        return _decode_code(content).code
    except _FAILURES:
        return None


# --- Stream frames -------------------------------------------------------------------------------------------------


class Frame(msgspec.Struct):
    """A market-stream frame. Each channel of `x-standx-streams` has its own subclass (`PriceFrame`, ...), whose
    `data` is the channel's typed model; a channel the spec lacks (and `error`, `{code, msg}`) is an
    `UntypedFrame` whose `data` is the JSON object."""

    seq: int
    data: Any
    symbol: str | None = None
    channel: ClassVar[str] = ""


class UntypedFrame(Frame, kw_only=True):
    """A frame of a channel the spec does not describe (or `error`): `data` is the decoded JSON object."""

    channel: str  # type: ignore[misc]  # an instance field here, a class constant on the typed frames


class _RawFrame(msgspec.Struct):
    seq: int
    channel: str
    data: msgspec.Raw  # the payload's bytes, decoded by what its channel needs
    symbol: str | None = None


@cache
def _typed_frames() -> Decoder[Frame]:
    """One decoder for every channel the spec describes: msgspec picks the frame class by its `channel` value (a
    tagged union) and builds the payload model in the same pass."""
    frames = []
    for name, spec in CHANNELS.items():
        model = getattr(import_module(spec.module, __package__), spec.model)
        if _renamed(model):  # msgspec would miss a renamed field: such a channel takes the path below
            continue
        title = "".join(part.title() for part in name.split("_"))
        frames.append(
            msgspec.defstruct(
                f"{title}Frame", [("data", model)], bases=(Frame,), tag_field="channel", tag=name,
                namespace={"channel": name, "__module__": __name__},
            )
        )  # fmt: skip
    return msgspec.json.Decoder(Union[tuple(frames)], float_hook=Decimal).decode  # noqa: UP007


_decode_raw_frame = msgspec.json.Decoder(_RawFrame).decode


@cache
def _payload(channel: str) -> Decoder[Any]:
    spec = CHANNELS.get(channel)
    if spec is None:
        return dict_decoder(_object, "$.data")
    return json_decoder(getattr(import_module(spec.module, __package__), spec.model), "$.data")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def market_frame(raw: bytes | str) -> Frame:
    """One market-stream (ws-stream) frame -> a `Frame` whose `data` is its channel's typed model.

    Raises SpecMismatch for a frame without seq, channel or data, or whose payload is not its channel's."""
    try:
        check_depth(raw)
    except TooDeepError as exc:
        raise _mismatch(exc, "$", raw) from None
    try:
        return _typed_frames()(raw)
    except _FAILURES:
        pass  # a channel the spec lacks, or a frame that does not match: decoded in two steps, to say where
    try:
        frame = _decode_raw_frame(raw)  # the depth was checked above
    except _FAILURES as exc:
        raise _mismatch(exc, "$", raw) from None
    data = _payload(frame.channel)(bytes(frame.data))
    if frame.channel in CHANNELS and not _renamed(type(data)):
        raise SpecMismatch("frame does not match its channel")  # the payload decoded alone; the envelope did not
    return UntypedFrame(seq=frame.seq, data=data, symbol=frame.symbol, channel=frame.channel)


@cache
def _order_decoder() -> Decoder[Any]:
    if ORDER_RESPONSE is None:
        raise LookupError("the spec's x-standx-streams table has no order response")
    module, name = ORDER_RESPONSE
    return json_decoder(getattr(import_module(module, __package__), name))


def order_frame(raw: bytes | str) -> Any:
    """One order-response-stream (ws-api) frame -> the spec's order-stream response model."""
    return _order_decoder()(raw)
