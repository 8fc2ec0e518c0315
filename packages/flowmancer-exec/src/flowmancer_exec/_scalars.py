"""Scalar conversions, as pydantic v2's lax mode (which Flowmancer 0.12 users had) makes them.

Each converter takes the value and ``strict``: strict accepts only what pydantic's strict mode
does (an int for a float, nothing else), lax adds its documented conversions ("5" is an int,
True is 1, "yes" is a bool, b"x" is a str). ``BAD`` means the value cannot be converted.
Decimal and UUID are imported only when a parameter is annotated with them (see ``lazy``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ._scalar_base import BAD, decimal_of, text_of

__all__ = ["BAD", "SIMPLE", "decimal_of", "lazy", "text_of"]

# Lowercased, as pydantic compares them; no surrounding spaces.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
# pydantic's whole-number text: digits (single underscores between them), optionally ".0".
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_INT64 = 2**63

Converter = Callable[[Any, bool], Any]


def _to_str(value: Any, strict: bool) -> Any:
    if isinstance(value, str):
        return value if type(value) is str else str.__str__(value)  # a str-valued Enum: its text
    if strict:
        return BAD
    text = text_of(value)
    return BAD if text is None else text


def _to_bytes(value: Any, strict: bool) -> Any:
    if isinstance(value, bytes):
        return value
    if strict:
        return BAD
    if isinstance(value, bytearray):
        return bytes(value)
    return value.encode() if isinstance(value, str) else BAD


def _to_int(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return BAD if strict else int(value)
    if isinstance(value, int):
        return value if type(value) is int else int(value)
    if strict:
        return BAD
    if isinstance(value, float) or decimal_of(value) is not None:
        # Exact whole numbers only; pydantic holds them in 64 bits.
        finite = math.isfinite(value) if isinstance(value, float) else value.is_finite()
        if finite and value == int(value) and abs(value) < _INT64:
            return int(value)
        return BAD
    text = text_of(value)
    if text is None:
        return BAD
    text = text.strip()
    if not _INT_TEXT.fullmatch(text):
        return BAD
    try:
        return int(text.partition(".")[0])
    except ValueError:  # more digits than Python converts
        return BAD


def _to_float(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return BAD if strict else float(value)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return BAD
    if strict:
        return BAD
    if decimal_of(value) is not None:
        return float(value)
    text = text_of(value)
    if text is None or not text.isascii():
        return BAD
    try:  # also "1_000", "1e3", ".5", "inf" and "nan", as pydantic takes them
        return float(text)
    except ValueError:
        return BAD


def _to_bool(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return value
    if strict:
        return BAD
    if isinstance(value, (int, float)) or decimal_of(value) is not None:
        return bool(value) if value in (0, 1) else BAD
    text = text_of(value)
    if text is None:
        return BAD
    text = text.lower()
    if text in _TRUE:
        return True
    return False if text in _FALSE else BAD


def _to_decimal(value: Any, strict: bool) -> Any:
    import decimal

    if isinstance(value, decimal.Decimal):
        return value
    if strict or isinstance(value, bool):
        return BAD
    if isinstance(value, float):
        value = repr(value)  # 1.1 is Decimal('1.1'), as pydantic makes it
    elif not isinstance(value, int):
        text = text_of(value)
        if text is None or not text.isascii():
            return BAD
        value = text.strip()
    try:
        result = decimal.Decimal(value)
    except (decimal.InvalidOperation, ValueError):
        return BAD
    return result if result.is_finite() else BAD


def _to_uuid(value: Any, strict: bool) -> Any:
    import uuid

    if isinstance(value, uuid.UUID):
        return value
    if strict:
        return BAD
    text = text_of(value)
    if text is not None:
        try:  # any form UUID() reads: hyphens or not, braces, urn:uuid:
            return uuid.UUID(text)
        except ValueError:
            pass
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    return BAD


def _temporal(name: str) -> Converter:
    def convert(value: Any, strict: bool) -> Any:
        from . import _temporal

        return getattr(_temporal, name)(value, strict)

    return convert


SIMPLE: dict[type, Converter] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    bytes: _to_bytes,
}

# Types of the standard library whose module a job may not need: recognised by name, so that
# neither they nor their parsing are imported before a parameter is annotated with one.
_LAZY: dict[tuple[str, str], Converter] = {
    ("decimal", "Decimal"): _to_decimal,
    ("uuid", "UUID"): _to_uuid,
    ("datetime", "datetime"): _temporal("to_datetime"),
    ("datetime", "date"): _temporal("to_date"),
    ("datetime", "time"): _temporal("to_time"),
    ("datetime", "timedelta"): _temporal("to_timedelta"),
}


def lazy(tp: type) -> Converter | None:
    """The converter for a standard library type known by module and name, if any."""
    return _LAZY.get((tp.__module__, tp.__qualname__))
