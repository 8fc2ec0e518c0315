"""Scalar conversions for job values: lax where job files need it, strict where it matters.

"5" is an int, 5 is a float, "yes" is a bool, ISO strings are dates and datetimes; but 5 is not
a str and True is not an int (pydantic's lax mode, which Flowmancer 0.12 users had, agrees).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

__all__ = ["BAD", "SIMPLE"]

BAD: Any = object()  # returned by a converter that cannot convert its value
_TRUE = {"true", "yes", "on", "y", "t", "1"}
_FALSE = {"false", "no", "off", "n", "f", "0"}


def _to_str(value: Any) -> Any:
    return value if isinstance(value, str) else BAD


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return BAD
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:  # int() also takes "1_000" and non-ASCII digits; anything else it refuses
            return int(value.strip())
        except ValueError:
            return BAD
    return BAD


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return BAD
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return BAD
    return BAD


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return BAD


def _iso(text: str) -> str:
    # Python 3.10's fromisoformat does not take the common "Z" suffix.
    return text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text


def _to_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(_iso(value.strip()))
        except ValueError:
            return BAD
    return BAD


def _to_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else BAD
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return BAD
    return BAD


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return value
    seconds = _to_float(value)
    return BAD if seconds is BAD else dt.timedelta(seconds=seconds)


def _to_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else BAD


SIMPLE: dict[type, Callable[[Any], Any]] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    bytes: _to_bytes,
    dt.datetime: _to_datetime,
    dt.date: _to_date,
    dt.timedelta: _to_timedelta,
}
