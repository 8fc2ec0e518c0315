"""Converting collections and records: lists, tuples, sets, deques, dicts (their items converted
in turn), dataclasses, TypedDicts, pydantic-style models and any other class.

As pydantic's lax mode: a list, tuple, set, frozenset or deque becomes any other of them (not
text, not a mapping); ``Sequence`` keeps a tuple a tuple; a mapping becomes a dict, a TypedDict
or a dataclass. In strict mode only the collection's own type is taken.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
import typing
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from . import _convert
from ._errors import Problem
from ._scalars import BAD

__all__ = ["BARE", "describe", "field_names", "generic", "other"]


def is_typeddict(tp: Any) -> bool:
    """Whether ``tp`` is a TypedDict, made with ``typing``'s or ``typing_extensions``'s (whose
    own test is asked only when it is imported: a class made with it imported it first, and
    importing it took longer than the rest of a one-task job's parameter checks)."""
    if typing.is_typeddict(tp):
        return True
    extensions = sys.modules.get("typing_extensions")
    return extensions is not None and bool(extensions.is_typeddict(tp))


_LISTS: tuple[type, ...] = (
    list,
    tuple,
    set,
    frozenset,
    collections.deque,
    type({}.keys()),
    type({}.values()),
)
_SEQUENCES = (list, Sequence, MutableSequence)
_SETS = (set, frozenset, AbstractSet)
_MAPPINGS = (dict, Mapping, MutableMapping)
#: Collection types written without their item types (``tuple``, ``dict``, ``Sequence``).
BARE = frozenset({*_SEQUENCES, *_SETS, *_MAPPINGS, tuple, collections.deque})


def describe(tp: Any, origin: Any, args: tuple[Any, ...]) -> str | None:
    """The words for a collection or record type; None for other types."""
    if origin in (*_SEQUENCES, *_SETS, collections.deque) and args:
        return f"{_convert.type_name(origin)} of {_convert.describe(args[0])}"
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple of {_convert.describe(args[0])}"
        return "tuple of (" + ", ".join(_convert.describe(a) for a in args) + ")"
    if origin in _MAPPINGS and args:
        return f"mapping of {_convert.describe(args[0])} to {_convert.describe(args[1])}"
    if dataclasses.is_dataclass(tp) or is_typeddict(tp):
        return f"mapping for {_convert.type_name(tp)}"
    return None


def generic(
    value: Any,
    origin: Any,
    args: tuple[Any, ...],
    tp: Any,
    place: str,
    problems: list[Problem],
    mode: int,
) -> Any:
    """``value`` as ``origin[args]`` (a collection, ``type[X]``, or a user's generic class)."""
    if origin in BARE:
        made = _made_as(value, origin, mode)
        if made is None:
            return _convert.fail(tp, value, place, problems)
        if origin in _MAPPINGS:
            return _mapping(value, args, place, problems, mode)
        return _items(value, made, origin is tuple, args, tp, place, problems, mode)
    if origin is type:
        wanted = args[0] if args and isinstance(args[0], type) else object
        if isinstance(value, type) and issubclass(value, wanted):
            return value
        return _convert.fail(tp, value, place, problems)
    # Another generic class (a user's Generic[T], say): check the class, not the parameters.
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    return _convert.fail(tp, value, place, problems)


def _made_as(value: Any, origin: Any, mode: int) -> Callable[[list[Any]], Any] | None:
    """What to build the converted items into, or None when ``value`` cannot be one."""
    if origin in _MAPPINGS:
        exact = type(value) is dict
        fits = exact if mode != _convert.LAX else isinstance(value, Mapping)
        return dict if fits else None
    if origin in (Sequence, MutableSequence):
        own = type(value) if type(value) in (list, tuple, collections.deque) else None
        if mode != _convert.LAX:
            return list if own is list else None
        return own
    own_type = {AbstractSet: set, MutableSequence: list}.get(origin, origin)
    if type(value) is own_type:
        return own_type
    if mode != _convert.LAX or not isinstance(value, _LISTS):
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
) -> Any:
    items = list(value)
    if is_tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if args == ((),):  # Tuple[()] on Python 3.10
            args = ()
        if len(items) != len(args):
            problems.append(
                Problem(
                    place,
                    f"expected {len(args)} items ({_convert.describe(tp)}), got {len(items)}",
                )
            )
            return BAD
        item_types = list(args)
    else:
        item_types = [args[0] if args else Any] * len(items)
    before = len(problems)
    converted = [
        _convert.convert(item, item_tp, f"{place}[{i}]", problems, mode)
        for i, (item, item_tp) in enumerate(zip(items, item_types, strict=True))
    ]
    return BAD if len(problems) > before else made(converted)


def _mapping(
    value: Mapping[Any, Any], args: tuple[Any, ...], place: str, problems: list[Problem], mode: int
) -> Any:
    key_tp, value_tp = args if len(args) == 2 else (Any, Any)
    before = len(problems)
    out = {}
    for key, item in value.items():
        new_key = _convert.convert(
            key, key_tp, f"{place} key {_convert.shown(key)}", problems, mode
        )
        out[new_key] = _convert.convert(item, value_tp, f"{place}.{key}", problems, mode)
    return BAD if len(problems) > before else out


def other(value: Any, tp: type, place: str, problems: list[Problem], mode: int) -> Any:
    """``value`` as a dataclass, TypedDict, model or any other class ``tp``."""
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return _dataclass(value, tp, place, problems, mode)
    if is_typeddict(tp):
        return _typed_dict(value, tp, place, problems, mode)
    model_validate = getattr(tp, "model_validate", None)
    if callable(model_validate):
        if isinstance(value, tp):
            return value
        if mode != _convert.LAX:
            return _convert.fail(tp, value, place, problems)
        return _model(value, tp, model_validate, place, problems)
    if isinstance(value, tp):
        return value
    return _convert.fail(tp, value, place, problems)


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
) -> dict[str, Any] | None:
    """Convert a mapping field by field: ``fields`` maps name -> (type, required)."""
    if not isinstance(value, Mapping) or (mode != _convert.LAX and type(value) is not dict):
        problems.append(
            Problem(place, f"expected mapping for {owner}, got {_convert.shown(value)}")
        )
        return None
    before = len(problems)
    out: dict[str, Any] = {}
    for name, (tp, required) in fields.items():
        if name in value:
            out[name] = _convert.convert(value[name], tp, f"{place}.{name}", problems, mode)
        elif required:
            problems.append(
                Problem(f"{place}.{name}", f"missing required value ({_convert.describe(tp)})")
            )
    for name in value:
        if name not in fields:
            known = ", ".join(fields) or "none"
            problems.append(
                Problem(f"{place}.{name}", f"unknown field of {owner} (known: {known})")
            )
    return None if len(problems) > before else out


def _dataclass(value: Any, tp: Any, place: str, problems: list[Problem], mode: int) -> Any:
    if mode != _convert.LAX:
        return _convert.fail(tp, value, place, problems)
    found = _convert.hints(tp, place, problems)
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
    converted = _fields(value, fields, _convert.type_name(tp), place, problems, mode)
    if converted is None:
        return BAD
    try:
        return tp(**converted)
    except Exception as error:  # its __post_init__ refused the values
        problems.append(Problem(place, f"not a valid {_convert.type_name(tp)}: {error}"))
        return BAD


def _typed_dict(value: Any, tp: Any, place: str, problems: list[Problem], mode: int) -> Any:
    if mode == _convert.EXACT:  # a dict is only strictly a TypedDict, as in pydantic
        return _convert.fail(tp, value, place, problems)
    found = _convert.hints(tp, place, problems)
    if found is None:
        return BAD
    required = getattr(tp, "__required_keys__", frozenset(found))
    fields = {name: (_strip_required(h), name in required) for name, h in found.items()}
    converted = _fields(value, fields, _convert.type_name(tp), place, problems, mode)
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
                got = f", got {_convert.shown(detail['input'])}" if "input" in detail else ""
                problems.append(
                    Problem(f"{place}.{loc}" if loc else place, f"{detail.get('msg', error)}{got}")
                )
        else:
            problems.append(Problem(place, f"not a valid {_convert.type_name(tp)}: {error}"))
        return BAD
