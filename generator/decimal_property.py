"""A `Decimal` property for openapi-python-client 0.29.1 (which maps `format: decimal` to `str`).

Shaped like `openapi_python_client.parser.properties.datetime.DateTimeProperty`; rendered by
`templates/property_templates/decimal_property.py.jinja`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from attr import define, field
from openapi_python_client import schema as oai
from openapi_python_client.parser.errors import PropertyError
from openapi_python_client.parser.properties.protocol import PropertyProtocol, Value, convert_example
from openapi_python_client.strings import PythonCode, PythonIdentifier


@define
class DecimalProperty(PropertyProtocol):
    """A property of type decimal.Decimal: a JSON string (or, from the live API, a JSON number)."""

    name: oai.UntrustedString
    required: bool
    default: Value | None
    python_name: PythonIdentifier
    description: oai.UntrustedString | None
    example: oai.UntrustedString | None = field(converter=convert_example)

    _type_string: ClassVar[str] = "Decimal"
    _json_type_string: ClassVar[str] = "str"
    template: ClassVar[str] = "decimal_property.py.jinja"

    @classmethod
    def build(
        cls,
        name: oai.UntrustedString,
        required: bool,
        default: Any,
        python_name: PythonIdentifier,
        description: oai.UntrustedString | None,
        example: Any,
    ) -> DecimalProperty | PropertyError:
        checked_default = cls.convert_value(default)
        if isinstance(checked_default, PropertyError):
            return checked_default
        return cls(
            name=name,
            required=required,
            default=checked_default,
            python_name=python_name,
            description=description,
            example=example,
        )

    @classmethod
    def convert_value(cls, value: Any) -> Value | PropertyError | None:
        if value is None or isinstance(value, Value):
            return value
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                Decimal(value)
            except InvalidOperation:
                return PropertyError(f"Invalid decimal: {value!r}")
            return Value(python_code=PythonCode(f"Decimal({str(value)!r})"), raw_value=value)
        return PropertyError(f"Cannot convert {value!r} to a Decimal")

    def get_imports(self, *, prefix: str) -> set[str]:
        imports = super().get_imports(prefix=prefix)
        parsers = "parse_decimal, parse_nullable_decimal"
        imports.update({"from decimal import Decimal", f"from {prefix}types import {parsers}"})
        return imports


@define
class NullableDecimalProperty(DecimalProperty):
    """`Decimal | None`: a decimal the spec marks nullable (e.g. last_price with no trades)."""

    _type_string: ClassVar[str] = "Decimal | None"
    _json_type_string: ClassVar[str] = "str | None"
    template: ClassVar[str] = "nullable_decimal_property.py.jinja"
