"""A stable fingerprint of a task's definition: its class and its parameters.

A resumed run keeps a COMPLETED task only when its fingerprint is unchanged, so the same
definition must give the same text in every process and under every ``PYTHONHASHSEED``, and
any change a user would call "different" must change it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import math
import pathlib
from collections.abc import Mapping
from typing import Any

__all__ = ["fingerprint"]


def fingerprint(task_class: type | str, parameters: Mapping[str, Any]) -> str:
    """A short hex digest of a task's class name and parameter values.

    The class is identified by its name (as ``@task`` registers it), not its module, so moving a
    class to another module does not make finished tasks run again. Values are reduced to plain
    JSON first: dataclasses and pydantic models by their fields, enums by value, sets sorted.
    """
    name = task_class if isinstance(task_class, str) else task_class.__name__
    text = json.dumps(
        {"class": name, "parameters": _plain(dict(parameters))},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # JSON has no nan or inf
    if isinstance(value, enum.Enum):
        return {"enum": type(value).__name__, "value": _plain(value.value)}
    if isinstance(value, Mapping):
        return {"map": sorted([_key(k), _plain(v)] for k, v in value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(json.dumps(_plain(v), sort_keys=True) for v in value)}
    if isinstance(value, (datetime.date, datetime.time)):
        return {"time": value.isoformat()}
    if isinstance(value, (pathlib.PurePath, decimal.Decimal)):
        return {type(value).__name__: str(value)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"dataclass": type(value).__name__, "fields": fields}
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # a pydantic model
        return {"model": type(value).__name__, "fields": _plain(dump(mode="json"))}
    # Anything else: its repr is the best stable description we have.
    return {"repr": repr(value)}


def _key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(_plain(key), sort_keys=True)
