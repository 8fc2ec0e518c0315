"""``shared_dict`` values as JSON: plain values as they are, the rest tagged.

JSON has strings, numbers, booleans, null, lists and string-keyed objects. Values beyond those
that users commonly keep between tasks (datetime, date, time, timedelta, Decimal, set,
frozenset, tuple, bytes, Path, non-finite floats, dicts with other keys) become a one-key object
``{"$type": [value]}``; reading them back builds the same value again. Nothing is ever
evaluated or unpickled: each tag maps to one fixed constructor.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import pathlib
from collections.abc import Callable
from typing import Any

__all__ = ["UnencodableError", "decode", "encode"]

TAG = "$"


class UnencodableError(ValueError):
    """A value has no JSON form; ``where`` says where inside the value it is."""

    def __init__(self, value: object, where: str) -> None:
        self.type_name = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix(
            "builtins."
        )
        self.where = where
        super().__init__(
            f"{self.type_name} cannot be saved as JSON" + (f" (at {where})" if where else "")
        )


def encode(value: Any, where: str = "") -> Any:
    """``value`` as plain JSON data.

    Raises:
        UnencodableError: for a value (or an item inside it) of any other type.
    """
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {TAG + "float": repr(value)}
    if kind is list:
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is dict:
        if all(type(k) is str for k in value) and not any(k.startswith(TAG) for k in value):
            return {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {
            TAG + "dict": [
                [encode(k, f"{where} key {k!r}"), encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]
        }
    for cls, tag, to_json, _ in _TYPES:
        if kind is cls:
            return {TAG + tag: to_json(value, where)}
    raise UnencodableError(value, where)


def decode(data: Any) -> Any:
    """The value ``encode`` turned into ``data``.

    Raises:
        ValueError: ``data`` is not something ``encode`` writes (an unknown tag, a bad value).
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if len(data) == 1:
            ((key, inner),) = data.items()
            if key.startswith(TAG):
                build = _DECODERS.get(key[len(TAG) :])
                if build is None:
                    raise ValueError(f"unknown tag {key!r}")
                try:
                    return build(inner)
                except (TypeError, ValueError, ArithmeticError) as error:
                    raise ValueError(f"bad {key!r} value {inner!r}: {error}") from None
        return {k: decode(v) for k, v in data.items()}
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    raise ValueError(f"unexpected {type(data).__name__}")


def _items(value: Any, where: str) -> list[Any]:
    return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _sorted_items(value: Any, where: str) -> list[Any]:
    items = _items(value, where)
    # A set has no order; sorting its JSON text keeps checkpoints identical across runs.
    import json

    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _pairs(data: Any) -> dict[Any, Any]:
    out = {}
    for pair in data:
        key, value = pair
        key = decode(key)
        hash(key)
        out[key] = decode(value)
    return out


def _float(data: Any) -> float:
    if data not in ("nan", "inf", "-inf"):
        raise ValueError("expected 'nan', 'inf' or '-inf'")
    return float(data)


def _str(data: Any) -> str:
    if not isinstance(data, str):
        raise TypeError(f"expected a string, got {type(data).__name__}")
    return data


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeError(f"expected a list, got {type(data).__name__}")
    return [decode(v) for v in data]


_Encoder = Callable[[Any, str], Any]
_TYPES: list[tuple[type, str, _Encoder, Callable[[Any], Any]]] = [
    (tuple, "tuple", _items, lambda d: tuple(_list(d))),
    (set, "set", _sorted_items, lambda d: set(_list(d))),
    (frozenset, "frozenset", _sorted_items, lambda d: frozenset(_list(d))),
    (
        bytes,
        "bytes",
        lambda v, _: base64.b64encode(v).decode(),
        lambda d: base64.b64decode(_str(d), validate=True),
    ),
    (
        datetime.datetime,
        "datetime",
        lambda v, _: v.isoformat(),
        lambda d: datetime.datetime.fromisoformat(_str(d)),
    ),
    (
        datetime.date,
        "date",
        lambda v, _: v.isoformat(),
        lambda d: datetime.date.fromisoformat(_str(d)),
    ),
    (
        datetime.time,
        "time",
        lambda v, _: v.isoformat(),
        lambda d: datetime.time.fromisoformat(_str(d)),
    ),
    (
        datetime.timedelta,
        "timedelta",
        lambda v, _: [v.days, v.seconds, v.microseconds],
        lambda d: datetime.timedelta(*_ints(d, 3)),
    ),
    (decimal.Decimal, "decimal", lambda v, _: str(v), lambda d: decimal.Decimal(_str(d))),
    (pathlib.PosixPath, "path", lambda v, _: str(v), lambda d: pathlib.Path(_str(d))),
    (
        pathlib.PurePosixPath,
        "purepath",
        lambda v, _: str(v),
        lambda d: pathlib.PurePosixPath(_str(d)),
    ),
]


def _ints(data: Any, n: int) -> list[int]:
    if not (isinstance(data, list) and len(data) == n and all(type(i) is int for i in data)):
        raise TypeError(f"expected {n} integers")
    return data


_DECODERS: dict[str, Callable[[Any], Any]] = {tag: build for _, tag, _, build in _TYPES}
_DECODERS["float"] = _float
_DECODERS["dict"] = lambda d: _pairs(_list_raw(d))


def _list_raw(data: Any) -> list[Any]:
    if not isinstance(data, list) or not all(isinstance(p, list) and len(p) == 2 for p in data):
        raise TypeError("expected a list of [key, value] pairs")
    return data
