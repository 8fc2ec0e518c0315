"""Converting collections and records: lists, tuples, sets, deques, dicts (their items converted
in turn), dataclasses, TypedDicts, pydantic-style models and any other class.

As pydantic's lax mode: a list, tuple, set, frozenset or deque becomes any other of them (not
text, not a mapping); ``Sequence`` keeps a tuple a tuple; a mapping becomes a dict, a TypedDict
or a dataclass. In strict mode only the collection's own type is taken.
"""

from __future__ import annotations

import collections
import dataclasses
import typing
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from ._described import (
    EXACT,
    LAX,
    MAPPINGS,
    SEQUENCES,
    SETS,
    describe,
    fail,
    hints,
    is_typeddict,
    shown,
    type_name,
)
from ._errors import Problem
from ._scalars import BAD

__all__ = ["BARE", "Convert", "field_names", "generic", "other"]

#: ``_convert.convert``, handed in: the items of a collection and the fields of a record are
#: converted by it in turn (so this module does not import the one that imports it).
Convert = Callable[[Any, Any, str, list[Problem], int], Any]


_LISTS: tuple[type, ...] = (
    list,
    tuple,
    set,
    frozenset,
    collections.deque,
    type({}.keys()),
    type({}.values()),
)
#: Collection types written without their item types (``tuple``, ``dict``, ``Sequence``).
BARE = frozenset({*SEQUENCES, *SETS, *MAPPINGS, tuple, collections.deque})


def generic(
    value: Any,
    origin: Any,
    args: tuple[Any, ...],
    tp: Any,
    place: str,
    problems: list[Problem],
    mode: int,
    convert: Convert,
) -> Any:
    """``value`` as ``origin[args]`` (a collection, ``type[X]``, or a user's generic class)."""
    if origin in BARE:
        made = _made_as(value, origin, mode)
        if made is None:
            return fail(tp, value, place, problems)
        if origin in MAPPINGS:
            return _mapping(value, args, place, problems, mode, convert)
        return _items(value, made, origin is tuple, args, tp, place, problems, mode, convert)
    if origin is type:
        wanted = args[0] if args and isinstance(args[0], type) else object
        if isinstance(value, type) and issubclass(value, wanted):
            return value
        return fail(tp, value, place, problems)
    # Another generic class (a user's Generic[T], say): check the class, not the parameters.
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    return fail(tp, value, place, problems)


def _made_as(value: Any, origin: Any, mode: int) -> Callable[[list[Any]], Any] | None:
    """What to build the converted items into, or None when ``value`` cannot be one."""
    if origin in MAPPINGS:
        exact = type(value) is dict
        fits = exact if mode != LAX else isinstance(value, Mapping)
        return dict if fits else None
    if origin in (Sequence, MutableSequence):
        own = type(value) if type(value) in (list, tuple, collections.deque) else None
        if mode != LAX:
            return list if own is list else None
        return own
    own_type = {AbstractSet: set, MutableSequence: list}.get(origin, origin)
    if type(value) is own_type:
        return own_type
    if mode != LAX or not isinstance(value, _LISTS):
        return None
    return own_type  # type: ignore[no-any-return]


def _items(
    value: Any,
    made: Callable[[list[Any]], Any],
    is_tuple: bool,
    args: tuple[Any, ...],
    tp: Any,
    place: str,
    problems: list[Problem],
    mode: int,
    convert: Convert,
) -> Any:
    items = list(value)
    if is_tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if args == ((),):  # Tuple[()] on Python 3.10
            args = ()
        if len(items) != len(args):
            problems.append(
                Problem(
                    place,
                    f"expected {len(args)} items ({describe(tp)}), got {len(items)}",
                )
            )
            return BAD
        item_types = list(args)
    else:
        item_types = [args[0] if args else Any] * len(items)
    before = len(problems)
    converted = [
        convert(item, item_tp, f"{place}[{i}]", problems, mode)
        for i, (item, item_tp) in enumerate(zip(items, item_types, strict=True))
    ]
    return BAD if len(problems) > before else made(converted)


def _mapping(
    value: Mapping[Any, Any],
    args: tuple[Any, ...],
    place: str,
    problems: list[Problem],
    mode: int,
    convert: Convert,
) -> Any:
    key_tp, value_tp = args if len(args) == 2 else (Any, Any)
    before = len(problems)
    out = {}
    for key, item in value.items():
        new_key = convert(key, key_tp, f"{place} key {shown(key)}", problems, mode)
        out[new_key] = convert(item, value_tp, f"{place}.{key}", problems, mode)
    return BAD if len(problems) > before else out


def other(
    value: Any, tp: type, place: str, problems: list[Problem], mode: int, convert: Convert
) -> Any:
    """``value`` as a dataclass, TypedDict, model or any other class ``tp``."""
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return _dataclass(value, tp, place, problems, mode, convert)
    if is_typeddict(tp):
        return _typed_dict(value, tp, place, problems, mode, convert)
    model_validate = getattr(tp, "model_validate", None)
    if callable(model_validate):
        if isinstance(value, tp):
            return value
        if mode != LAX:
            return fail(tp, value, place, problems)
        return _model(value, tp, model_validate, place, problems)
    if isinstance(value, tp):
        return value
    return fail(tp, value, place, problems)


def field_names(tp: Any) -> frozenset[str]:
    """The fields of a dataclass, TypedDict or model (empty for any other type)."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return frozenset(f.name for f in dataclasses.fields(tp) if f.init)
    if is_typeddict(tp):
        return frozenset(getattr(tp, "__annotations__", {}))
    fields = getattr(tp, "model_fields", None) if isinstance(tp, type) else None
    return frozenset(fields) if isinstance(fields, Mapping) else frozenset()


def _fields(
    value: Any,
    fields: dict[str, tuple[Any, bool]],
    owner: str,
    place: str,
    problems: list[Problem],
    mode: int,
    convert: Convert,
) -> dict[str, Any] | None:
    """Convert a mapping field by field: ``fields`` maps name -> (type, required)."""
    if not isinstance(value, Mapping) or (mode != LAX and type(value) is not dict):
        problems.append(Problem(place, f"expected mapping for {owner}, got {shown(value)}"))
        return None
    before = len(problems)
    out: dict[str, Any] = {}
    for name, (tp, required) in fields.items():
        if name in value:
            out[name] = convert(value[name], tp, f"{place}.{name}", problems, mode)
        elif required:
            problems.append(Problem(f"{place}.{name}", f"missing required value ({describe(tp)})"))
    for name in value:
        if name not in fields:
            known = ", ".join(fields) or "none"
            problems.append(
                Problem(f"{place}.{name}", f"unknown field of {owner} (known: {known})")
            )
    return None if len(problems) > before else out


def _dataclass(
    value: Any, tp: Any, place: str, problems: list[Problem], mode: int, convert: Convert
) -> Any:
    if mode != LAX:
        return fail(tp, value, place, problems)
    found = hints(tp, place, problems)
    if found is None:
        return BAD
    fields = {
        f.name: (
            found.get(f.name, Any),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(tp)
        if f.init
    }
    converted = _fields(value, fields, type_name(tp), place, problems, mode, convert)
    if converted is None:
        return BAD
    try:
        return tp(**converted)
    except Exception as error:  # its __post_init__ refused the values
        problems.append(Problem(place, f"not a valid {type_name(tp)}: {error}"))
        return BAD


def _typed_dict(
    value: Any, tp: Any, place: str, problems: list[Problem], mode: int, convert: Convert
) -> Any:
    if mode == EXACT:  # a dict is only strictly a TypedDict, as in pydantic
        return fail(tp, value, place, problems)
    found = hints(tp, place, problems)
    if found is None:
        return BAD
    required = getattr(tp, "__required_keys__", frozenset(found))
    fields = {name: (_strip_required(h), name in required) for name, h in found.items()}
    converted = _fields(value, fields, type_name(tp), place, problems, mode, convert)
    return BAD if converted is None else converted


def _strip_required(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is not None and getattr(origin, "_name", None) in ("Required", "NotRequired"):
        return typing.get_args(tp)[0]
    return tp


def _model(
    value: Any, tp: Any, model_validate: Callable[[Any], Any], place: str, problems: list[Problem]
) -> Any:
    try:
        return model_validate(value)
    except Exception as error:
        errors = getattr(error, "errors", None)
        details = errors() if callable(errors) else None
        if isinstance(details, list) and details:  # pydantic's ValidationError
            for detail in details:
                loc = ".".join(str(part) for part in detail.get("loc", ()))
                got = f", got {shown(detail['input'])}" if "input" in detail else ""
                problems.append(
                    Problem(f"{place}.{loc}" if loc else place, f"{detail.get('msg', error)}{got}")
                )
        else:
            problems.append(Problem(place, f"not a valid {type_name(tp)}: {error}"))
        return BAD
