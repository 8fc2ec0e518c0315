"""Converting one value to an annotated type, as pydantic v2's lax mode does, recording every
mismatch with its place.

Scalars, enums, literals, paths and unions are here; containers, dataclasses, TypedDicts and
models in ``_shapes`` (handed ``convert`` for their items); the words and modes both use in
``_described``; the scalar rules themselves in ``_scalars`` and ``_temporal``.

Every conversion runs in a mode: ``LAX`` (the default: pydantic's lax conversions), ``STRICT``
(what pydantic's strict mode accepts) or ``EXACT`` (the value already is of the type). A union
picks its member as pydantic's smart mode does (see ``_union``): an exact match, else a strict
one, else a lax one, leftmost first, with the record that takes most of a mapping's keys
first.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Union

from . import _shapes
from ._described import EXACT, LAX, STRICT, describe, fail, hints, shown, type_name
from ._errors import Problem
from ._scalars import BAD as _BAD
from ._scalars import SIMPLE as _SIMPLE
from ._scalars import lazy as _lazy

__all__ = [
    "EXACT",
    "LAX",
    "STRICT",
    "convert",
    "describe",
    "fail",
    "hints",
    "shown",
    "type_name",
]


def convert(value: Any, tp: Any, place: str, problems: list[Problem], mode: int = LAX) -> Any:
    """``value`` converted to ``tp``; on mismatch a problem is added and a sentinel returned."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return value
    if origin is typing.Annotated:
        return convert(value, typing.get_args(tp)[0], place, problems, mode)
    if origin is Union or origin is types.UnionType:
        return _union(value, typing.get_args(tp), tp, place, problems, mode)
    if origin is typing.Literal:
        return _literal(value, typing.get_args(tp), tp, place, problems, mode)
    if origin is not None:
        return _shapes.generic(
            value, origin, typing.get_args(tp), tp, place, problems, mode, convert
        )
    if tp is None or tp is type(None):
        return None if value is None else fail(tp, value, place, problems)
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return convert(value, supertype, place, problems, mode)
    if not isinstance(tp, type):
        return value  # an annotation we cannot check (a string that did not resolve, ...)
    if tp in _shapes.BARE:  # list, dict, tuple, ... without item types
        return _shapes.generic(value, tp, (), tp, place, problems, mode, convert)
    simple = _SIMPLE.get(tp) or _lazy(tp)
    if simple is not None:
        if type(value) is tp:
            return value
        result = _BAD if mode == EXACT else simple(value, mode == STRICT)
        return fail(tp, value, place, problems) if result is _BAD else result
    if issubclass(tp, enum.Enum):
        return _enum(value, tp, place, problems, mode)
    if issubclass(tp, PurePath):
        if isinstance(value, tp) and (mode != EXACT or type(value) is tp):
            return value
        if mode == LAX and isinstance(value, (str, PurePath)):
            return tp(value)
        return fail(tp, value, place, problems)
    return _shapes.other(value, tp, place, problems, mode, convert)


def _enum(value: Any, tp: Any, place: str, problems: list[Problem], mode: int) -> Any:
    if isinstance(value, tp):
        return value
    if mode != LAX:
        return fail(tp, value, place, problems)
    # An enum of ints (IntEnum) takes what an int takes ("1"); of text, what text takes (b"x").
    for base in (int, str, float):
        if issubclass(tp, base):
            value = _SIMPLE[base](value, False)
            break
    try:
        return tp(value)
    except (ValueError, TypeError):
        return fail(tp, value, place, problems)


def _literal(
    value: Any, allowed: tuple[Any, ...], tp: Any, place: str, problems: list[Problem], mode: int
) -> Any:
    for option in allowed:
        if type(value) is type(option) and value == option:
            return value
    if mode == LAX:  # as pydantic: an equal value is the option (1.0 and True are 1)
        for option in allowed:
            if value == option:
                return option
    return fail(tp, value, place, problems)


def _union(
    value: Any, arms: tuple[Any, ...], tp: Any, place: str, problems: list[Problem], mode: int
) -> Any:
    # pydantic's smart mode: every member is tried strictly first, then (if none took the
    # value) laxly; of those that take it, the one taking the most of a mapping's keys as its
    # fields (a dataclass, TypedDict or model) wins, then an exact match over a strict one,
    # then the leftmost. An exact match of a member without fields ends the search at once.
    for level in (STRICT, LAX) if mode != EXACT else (EXACT,):
        if level > mode:
            break
        best: tuple[int, bool] | None = None
        chosen: Any = _BAD
        for arm in arms:
            attempt: list[Problem] = []
            result = convert(value, arm, place, attempt, level)
            if attempt:
                continue
            names = _shapes.field_names(arm) if isinstance(value, Mapping) else frozenset()
            exact = level == EXACT or (level == STRICT and _takes(value, arm, place, EXACT))
            if exact and not names:
                return result
            score = (sum(1 for key in value if key in names) if names else -1, exact)
            if best is None or score > best:
                best, chosen = score, result
        if best is not None:
            return chosen
    others = [a for a in arms if a is not type(None)]
    if value is not None and len(others) == 1:
        scratch: list[Problem] = []
        convert(value, others[0], place, scratch, mode)
        if any(p.place != place for p in scratch):  # Optional[X] with X's own, deeper problems
            problems.extend(scratch)
            return _BAD
    return fail(tp, value, place, problems)


def _takes(value: Any, tp: Any, place: str, mode: int) -> bool:
    attempt: list[Problem] = []
    convert(value, tp, place, attempt, mode)
    return not attempt
