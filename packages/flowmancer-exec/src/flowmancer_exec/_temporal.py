"""Dates, times and durations from job values, in the forms pydantic v2 reads (its speedate).

- datetime: ``YYYY-MM-DD[T| |_|t]HH:MM[:SS[.ffffff]][Z|±HH[:]MM]``, a date alone (midnight), a
  ``date``, or Unix time as a number or numeric text: seconds, or milliseconds beyond 2e10 (UTC).
- date: ``YYYY-MM-DD``, a datetime of any of the forms above whose time is midnight, Unix time
  at a midnight (UTC).
- time: ``HH:MM[:SS[.ffffff]][Z|±HH[:]MM]``, or seconds into the day (0 to 86399, UTC).
- timedelta: seconds as a number; ISO 8601 ``[±]PnYnMnWnDTnHnMnS`` (a year is 365 days, a month
  30); ``[±][D days[,]] [H]H:MM[:SS[.ffffff]]`` (``1 day, 01:00:00``, ``1d 10:10``, ``2 days``).
  Numeric text is seconds too (pydantic refuses it; a substituted ``$VAR{}`` is text).

Only the first six digits of a fraction count (microseconds), as in pydantic.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from ._scalar_base import BAD, decimal_of, text_of

__all__ = ["to_date", "to_datetime", "to_time", "to_timedelta"]

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_TIME = (
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
)
_ZONE = r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<zh>[0-9]{2}):?(?P<zm>[0-9]{2}))?"
_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_DATETIME = re.compile(f"{_DATE}(?:[Tt _]{_TIME}{_ZONE})?")
_TIME_ONLY = re.compile(f"{_TIME}{_ZONE}")
_PART = r"(?:(?P<{}>[0-9]+(?:\.[0-9]+)?){})?"
_ISO_DURATION = re.compile(
    "P"
    + "".join(_PART.format(name, unit) for name, unit in (("y", "Y"), ("mo", "M"), ("w", "W")))
    + _PART.format("d", "D")
    + "(?:T"
    + "".join(_PART.format(name, unit) for name, unit in (("h", "H"), ("mi", "M"), ("s", "S")))
    + ")?"
)
_CLOCK = re.compile(
    r"(?:(?P<days>[0-9]+) *(?:days?|d) *,? *)?"
    r"(?:(?P<hours>[0-9]+):(?P<minutes>[0-9]{2})(?::(?P<seconds>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?)?",
    re.IGNORECASE,
)
_DAYS = {"y": 365.0, "mo": 30.0, "w": 7.0, "d": 1.0}
_SECONDS = {"h": 3600.0, "mi": 60.0, "s": 1.0}


def _micro(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def _zone(match: re.Match[str]) -> dt.tzinfo | None:
    if match["utc"]:
        return _UTC
    if match["sign"] is None:
        return None
    offset = dt.timedelta(hours=int(match["zh"]), minutes=int(match["zm"]))
    return dt.timezone(-offset if match["sign"] == "-" else offset)


def _number(value: Any) -> float | None:
    """A finite number of seconds from a number or numeric text (not a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or decimal_of(value) is not None:
        number = float(value)
    else:
        text = text_of(value)
        if text is None or not _NUMBER.fullmatch(text):
            return None
        number = float(text)
    return number if math.isfinite(number) else None


def _unix(seconds: float) -> dt.datetime | None:
    if abs(seconds) > 2e10:  # as pydantic: a number this large is milliseconds
        seconds /= 1000
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        return None


def _parse_datetime(text: str) -> dt.datetime | None:
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    try:
        if match["hour"] is None:
            return dt.datetime(int(match["year"]), int(match["month"]), int(match["day"]))
        return dt.datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            _micro(match["fraction"]),
            tzinfo=_zone(match),
        )
    except ValueError:  # 2026-02-30, 25:00
        return None


def to_datetime(value: Any, strict: bool) -> Any:
    """``value`` as a datetime (see the module's docstring), or BAD."""
    if isinstance(value, dt.datetime):
        return value
    if strict:
        return BAD
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    seconds = _number(value)
    if seconds is not None:
        return _unix(seconds) or BAD
    text = text_of(value)
    parsed = None if text is None else _parse_datetime(text)
    return BAD if parsed is None else parsed


def to_date(value: Any, strict: bool) -> Any:
    """``value`` as a date (see the module's docstring), or BAD."""
    if isinstance(value, dt.datetime):
        if strict or value.time() != dt.time():
            return BAD
        return value.date()
    if isinstance(value, dt.date):
        return value
    if strict:
        return BAD
    seconds = _number(value)
    if seconds is not None:
        moment = _unix(seconds)
    else:
        text = text_of(value)
        moment = None if text is None else _parse_datetime(text)
    if moment is None or moment.time() != dt.time():
        return BAD
    return moment.date()


def to_time(value: Any, strict: bool) -> Any:
    """``value`` as a time of day (see the module's docstring), or BAD."""
    if isinstance(value, dt.time):
        return value
    if strict or isinstance(value, bool):
        return BAD
    if isinstance(value, (int, float)) or decimal_of(value) is not None:
        seconds = float(value)
        if not (math.isfinite(seconds) and 0 <= seconds < 86400):
            return BAD
        return (dt.datetime.min + dt.timedelta(seconds=seconds)).time().replace(tzinfo=_UTC)
    text = text_of(value)
    match = None if text is None else _TIME_ONLY.fullmatch(text)
    if match is None:
        return BAD
    try:
        return dt.time(
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            _micro(match["fraction"]),
            tzinfo=_zone(match),
        )
    except ValueError:
        return BAD


def to_timedelta(value: Any, strict: bool) -> Any:
    """``value`` as a duration (see the module's docstring), or BAD."""
    if isinstance(value, dt.timedelta):
        return value
    if strict:
        return BAD
    if isinstance(value, bool):
        return dt.timedelta(seconds=int(value))  # lax: True is 1, so one second
    seconds = _number(value)
    if seconds is None:
        text = text_of(value)
        seconds = None if text is None else _duration(text)
    if seconds is None:
        return BAD
    try:
        return dt.timedelta(seconds=seconds)
    except OverflowError:
        return BAD


def _duration(text: str) -> float | None:
    sign = -1.0 if text[:1] == "-" else 1.0
    body = text[1:] if text[:1] in "+-" else text
    iso = _ISO_DURATION.fullmatch(body) if body[:1] == "P" else None
    if iso is not None:
        parts = iso.groupdict()
        if all(v is None for v in parts.values()) or body.endswith("T"):
            return None
        days = sum(float(parts[k] or 0) * n for k, n in _DAYS.items())
        return sign * (days * 86400 + sum(float(parts[k] or 0) * n for k, n in _SECONDS.items()))
    clock = _CLOCK.fullmatch(body)
    if clock is None or (clock["days"] is None and clock["hours"] is None):
        return None
    minutes, seconds = int(clock["minutes"] or 0), int(clock["seconds"] or 0)
    if minutes > 59 or seconds > 59:
        return None
    total = int(clock["days"] or 0) * 86400 + int(clock["hours"] or 0) * 3600
    return sign * (total + minutes * 60 + seconds + _micro(clock["fraction"]) / 1e6)
