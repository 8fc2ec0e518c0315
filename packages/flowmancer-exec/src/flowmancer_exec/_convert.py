"""Converting one value to an annotated type, recording every mismatch with its place.

Unions, literals, enums, containers, paths, dataclasses, TypedDicts and pydantic-style models;
the scalar rules (how lax "5" for an int may be) are in ``_scalars``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import os
import types
import typing
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePath
from typing import Any, Union

from ._errors import Problem
from ._scalars import BAD as _BAD
from ._scalars import SIMPLE as _SIMPLE

__all__ = ["convert", "describe", "hints", "type_name"]


def _shown(value: Any) -> str:
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
    if origin in (list, Sequence, MutableSequence, set, frozenset, AbstractSet) and args:
        return f"{type_name(origin)} of {describe(args[0])}"
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple of {describe(args[0])}"
        return "tuple of (" + ", ".join(describe(a) for a in args) + ")"
    if origin in (dict, Mapping, MutableMapping) and args:
        return f"mapping of {describe(args[0])} to {describe(args[1])}"
    if (isinstance(tp, type) and issubclass(tp, PurePath)) or (origin or tp) is os.PathLike:
        return "path"
    if tp is dt.datetime:
        return "datetime (ISO 8601)"
    if tp is dt.date:
        return "date (ISO 8601)"
    if tp is dt.timedelta:
        return "duration in seconds"
    if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        return f"mapping for {type_name(tp)}"
    return type_name(origin or tp)


def convert(value: Any, tp: Any, place: str, problems: list[Problem]) -> Any:
    """``value`` converted to ``tp``; on mismatch a problem is added and a sentinel returned."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return value
    if origin is typing.Annotated:
        return convert(value, typing.get_args(tp)[0], place, problems)
    if origin is Union or origin is types.UnionType:
        return _union(value, typing.get_args(tp), tp, place, problems)
    if origin is typing.Literal:
        for allowed in typing.get_args(tp):
            if type(value) is type(allowed) and value == allowed:
                return value
        return _fail(tp, value, place, problems)
    if origin is not None:
        return _generic(value, origin, typing.get_args(tp), tp, place, problems)
    if tp is None or tp is type(None):
        return None if value is None else _fail(tp, value, place, problems)
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return convert(value, supertype, place, problems)
    if not isinstance(tp, type):
        return value  # an annotation we cannot check (a string that did not resolve, ...)
    simple = _SIMPLE.get(tp)
    if simple is not None:
        result = simple(value)
        return _fail(tp, value, place, problems) if result is _BAD else result
    if issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        try:
            return tp(value)
        except (ValueError, TypeError):
            return _fail(tp, value, place, problems)
    if issubclass(tp, PurePath):
        if isinstance(value, (str, PurePath)):
            return tp(value)
        return _fail(tp, value, place, problems)
    if dataclasses.is_dataclass(tp):
        return _dataclass(value, tp, place, problems)
    if typing.is_typeddict(tp):
        return _typed_dict(value, tp, place, problems)
    model_validate = getattr(tp, "model_validate", None)
    if callable(model_validate):
        return _model(value, tp, model_validate, place, problems)
    if isinstance(value, tp):
        return value
    return _fail(tp, value, place, problems)


def _fail(tp: Any, value: Any, place: str, problems: list[Problem]) -> Any:
    problems.append(Problem(place, f"expected {describe(tp)}, got {_shown(value)}"))
    return _BAD


def _exact(value: Any, tp: Any) -> bool:
    """Whether ``value`` already is a ``tp`` with nothing to convert (for picking a Union arm)."""
    if tp is type(None) or tp is None:
        return value is None
    if tp in (int, float):
        return type(value) is tp
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return any(type(value) is type(a) and value == a for a in typing.get_args(tp))
    if isinstance(tp, type) and origin is None:
        try:
            return isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        except TypeError:  # TypedDict and the like refuse isinstance
            return False
    return False


def _union(value: Any, arms: tuple[Any, ...], tp: Any, place: str, problems: list[Problem]) -> Any:
    for arm in arms:
        if _exact(value, arm):
            return value
    others = [a for a in arms if a is not type(None)]
    if value is not None and len(others) == 1:
        scratch: list[Problem] = []
        result = convert(value, others[0], place, scratch)
        if any(p.place != place for p in scratch):  # Optional[X] with X's own, deeper problems
            problems.extend(scratch)
            return _BAD
        if not scratch:
            return result
    for arm in arms:
        attempt: list[Problem] = []
        result = convert(value, arm, place, attempt)
        if not attempt:
            return result
    return _fail(tp, value, place, problems)


def _generic(
    value: Any,
    origin: Any,
    args: tuple[Any, ...],
    tp: Any,
    place: str,
    problems: list[Problem],
) -> Any:
    if origin in (list, Sequence, MutableSequence, set, frozenset, AbstractSet, tuple):
        accepted: tuple[type, ...] = (list, tuple)
        if origin in (set, frozenset, AbstractSet):
            accepted = (list, tuple, set, frozenset)
        if not isinstance(value, accepted):
            return _fail(tp, value, place, problems)
        value = list(value)  # type: ignore[call-overload]  # a list, tuple or set by now
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                problems.append(
                    Problem(place, f"expected {len(args)} items ({describe(tp)}), got {len(value)}")
                )
                return _BAD
            item_types = list(args)
        else:
            item_types = [args[0] if args else Any] * len(value)
        before = len(problems)
        items = [
            convert(item, item_tp, f"{place}[{i}]", problems)
            for i, (item, item_tp) in enumerate(zip(value, item_types, strict=True))
        ]
        if len(problems) > before:
            return _BAD
        if origin in (set, AbstractSet):
            return set(items)
        if origin is frozenset:
            return frozenset(items)
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping, MutableMapping):
        if not isinstance(value, Mapping):
            return _fail(tp, value, place, problems)
        key_tp, value_tp = args if len(args) == 2 else (Any, Any)
        before = len(problems)
        out = {}
        for key, item in value.items():
            new_key = convert(key, key_tp, f"{place} key {_shown(key)}", problems)
            out[new_key] = convert(item, value_tp, f"{place}.{key}", problems)
        return _BAD if len(problems) > before else out
    if origin is type:
        if isinstance(value, type):
            return value
        return _fail(tp, value, place, problems)
    # Another generic class (a user's Generic[T], say): check the class, not the parameters.
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    return _fail(tp, value, place, problems)


def _fields(
    value: Any,
    fields: dict[str, tuple[Any, bool]],
    owner: str,
    place: str,
    problems: list[Problem],
) -> dict[str, Any] | None:
    """Convert a mapping field by field: ``fields`` maps name -> (type, required)."""
    if not isinstance(value, Mapping):
        problems.append(Problem(place, f"expected mapping for {owner}, got {_shown(value)}"))
        return None
    before = len(problems)
    out: dict[str, Any] = {}
    for name, (tp, required) in fields.items():
        if name in value:
            out[name] = convert(value[name], tp, f"{place}.{name}", problems)
        elif required:
            problems.append(Problem(f"{place}.{name}", f"missing required value ({describe(tp)})"))
    for name in value:
        if name not in fields:
            known = ", ".join(fields) or "none"
            problems.append(
                Problem(f"{place}.{name}", f"unknown field of {owner} (known: {known})")
            )
    return None if len(problems) > before else out


def hints(owner: Any, place: str, problems: list[Problem]) -> dict[str, Any] | None:
    """``owner``'s resolved annotations, or None after recording why they cannot be read."""
    try:
        return typing.get_type_hints(owner, include_extras=True)
    except Exception as error:  # an annotation that names something not importable
        problems.append(
            Problem(place, f"cannot read the annotations of {type_name(owner)}: {error}")
        )
        return None


def _dataclass(value: Any, tp: Any, place: str, problems: list[Problem]) -> Any:
    if isinstance(value, tp):
        return value
    found = hints(tp, place, problems)
    if found is None:
        return _BAD
    fields = {
        f.name: (
            found.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(tp)
        if f.init
    }
    converted = _fields(value, fields, type_name(tp), place, problems)
    if converted is None:
        return _BAD
    try:
        return tp(**converted)
    except Exception as error:  # its __post_init__ refused the values
        problems.append(Problem(place, f"not a valid {type_name(tp)}: {error}"))
        return _BAD


def _typed_dict(value: Any, tp: Any, place: str, problems: list[Problem]) -> Any:
    found = hints(tp, place, problems)
    if found is None:
        return _BAD
    required = getattr(tp, "__required_keys__", frozenset(found))
    fields = {name: (_strip_required(h), name in required) for name, h in found.items()}
    converted = _fields(value, fields, type_name(tp), place, problems)
    return _BAD if converted is None else converted


def _strip_required(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is not None and getattr(origin, "_name", None) in ("Required", "NotRequired"):
        return typing.get_args(tp)[0]
    return tp


def _model(
    value: Any, tp: Any, model_validate: Callable[[Any], Any], place: str, problems: list[Problem]
) -> Any:
    if isinstance(value, tp):
        return value
    try:
        return model_validate(value)
    except Exception as error:
        errors = getattr(error, "errors", None)
        details = errors() if callable(errors) else None
        if isinstance(details, list) and details:  # pydantic's ValidationError
            for detail in details:
                loc = ".".join(str(part) for part in detail.get("loc", ()))
                got = f", got {_shown(detail['input'])}" if "input" in detail else ""
                problems.append(
                    Problem(f"{place}.{loc}" if loc else place, f"{detail.get('msg', error)}{got}")
                )
        else:
            problems.append(Problem(place, f"not a valid {type_name(tp)}: {error}"))
        return _BAD
