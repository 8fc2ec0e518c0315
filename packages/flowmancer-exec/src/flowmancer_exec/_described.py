"""The words and modes every conversion shares: how a type and a value are shown in a problem,
the modes (``EXACT``, ``STRICT``, ``LAX``), the "not converted" record (``fail``), and a class's
annotations read with the problem they may raise.

Below both ``_convert`` (scalars, enums, unions) and ``_shapes`` (collections, records): the
words for a collection or record type are here too, so neither of the two imports the other
for them.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import os
import sys
import types
import typing
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePath
from typing import Any, Union

from ._errors import Problem
from ._scalars import BAD as _BAD

__all__ = [
    "EXACT",
    "LAX",
    "MAPPINGS",
    "SEQUENCES",
    "SETS",
    "STRICT",
    "describe",
    "fail",
    "hints",
    "is_typeddict",
    "shown",
    "type_name",
]

EXACT, STRICT, LAX = 0, 1, 2
SEQUENCES = (list, Sequence, MutableSequence)
SETS = (set, frozenset, AbstractSet)
MAPPINGS = (dict, Mapping, MutableMapping)
_DESCRIBED = {
    ("datetime", "datetime"): "datetime (ISO 8601 or Unix time)",
    ("datetime", "date"): "date (YYYY-MM-DD)",
    ("datetime", "time"): "time (HH:MM[:SS])",
    ("datetime", "timedelta"): "duration (seconds, [D days,] HH:MM:SS or ISO 8601 like PT1H)",
    ("decimal", "Decimal"): "decimal number",
}


def is_typeddict(tp: Any) -> bool:
    """Whether ``tp`` is a TypedDict, made with ``typing``'s or ``typing_extensions``'s (whose
    own test is asked only when it is imported: a class made with it imported it first, and
    importing it took longer than the rest of a one-task job's parameter checks)."""
    if typing.is_typeddict(tp):
        return True
    extensions = sys.modules.get("typing_extensions")
    return extensions is not None and bool(extensions.is_typeddict(tp))


def shown(value: Any) -> str:
    """``repr(value)``, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(tp: Any) -> str:
    """A type's name as written in code."""
    return getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None) or str(tp)


def describe(tp: Any) -> str:
    """A type as a person reads it: ``list of int``, ``int or None``, ``one of 'a', 'b'``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return "anything"
    if tp is type(None) or tp is None:
        return "None"
    if origin is typing.Annotated:
        return describe(args[0])
    if origin is Union or origin is types.UnionType:
        return " or ".join(describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp) + f" ({tp.__name__})"
    if (isinstance(tp, type) and issubclass(tp, PurePath)) or (origin or tp) is os.PathLike:
        return "path"
    if isinstance(tp, type) and (tp.__module__, tp.__qualname__) in _DESCRIBED:
        return _DESCRIBED[tp.__module__, tp.__qualname__]
    return _shape_words(tp, origin, args) or type_name(origin or tp)


def _shape_words(tp: Any, origin: Any, args: tuple[Any, ...]) -> str | None:
    """The words for a collection or record type; None for other types."""
    if origin in (*SEQUENCES, *SETS, collections.deque) and args:
        return f"{type_name(origin)} of {describe(args[0])}"
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple of {describe(args[0])}"
        return "tuple of (" + ", ".join(describe(a) for a in args) + ")"
    if origin in MAPPINGS and args:
        return f"mapping of {describe(args[0])} to {describe(args[1])}"
    if dataclasses.is_dataclass(tp) or is_typeddict(tp):
        return f"mapping for {type_name(tp)}"
    return None


def fail(tp: Any, value: Any, place: str, problems: list[Problem]) -> Any:
    """Record that ``value`` is not a ``tp``; returns the sentinel for "not converted"."""
    problems.append(Problem(place, f"expected {describe(tp)}, got {shown(value)}"))
    return _BAD


def hints(owner: Any, place: str, problems: list[Problem]) -> dict[str, Any] | None:
    """``owner``'s resolved annotations, or None after recording why they cannot be read."""
    try:
        return typing.get_type_hints(owner, include_extras=True)
    except Exception as error:  # an annotation that names something not importable
        problems.append(
            Problem(place, f"cannot read the annotations of {type_name(owner)}: {error}")
        )
        return None
