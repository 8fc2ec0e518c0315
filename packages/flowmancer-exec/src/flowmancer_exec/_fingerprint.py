"""A stable fingerprint of a task's definition: its class, the class's code and its parameters.

A resumed run keeps a COMPLETED task only when its fingerprint is unchanged, so the same
definition must give the same text in every process and under every ``PYTHONHASHSEED``, and
any change a user would call "different" must change it: another class, other parameter
values, or an edit of the class's source.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import linecache
import math
import pathlib
import sys
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["code_digest", "fingerprint", "value_digest"]


def fingerprint(task_class: type | str, parameters: Mapping[str, Any]) -> str:
    """A short hex digest of a task's class name, the class's code and its parameter values.

    The class is identified by its name (as ``@task`` registers it), not its module, so moving a
    class to another module does not make finished tasks run again; its code by
    ``code_digest`` (a class given by name only has none). Values are reduced to plain JSON
    first: dataclasses and pydantic models by their fields, enums by value, sets sorted.
    """
    if isinstance(task_class, str):
        name, code = task_class, None
    else:
        name, code = task_class.__name__, code_digest(task_class)
    definition: dict[str, Any] = {"class": name, "parameters": _plain(dict(parameters))}
    if code is not None:
        definition["code"] = code
    return _digest(definition)


def value_digest(value: Any) -> str:
    """A short hex digest of one parameter value (what ``fingerprint`` sees of it), to tell
    which parameter of a task changed without keeping its value."""
    return _digest(_plain(value))


def code_digest(task_class: type) -> str:
    """A short hex digest of the source of a task class and of its own base classes.

    Every class of its MRO up to (not including) flowmancer's ``Task`` counts, so an edit of a
    base class that the task inherits ``run()`` from changes it too. Where there is no source
    to read (a class made in ``exec`` or at the prompt), its functions' compiled code counts.
    Computed once per class and process.
    """
    found = _CODE.get(task_class)
    if found is None:
        parts = [_class_text(klass) for klass in task_class.__mro__ if _is_users(klass)]
        found = _CODE[task_class] = _digest(parts)
    return found


_CODE: dict[type, str] = {}


def _is_users(klass: type) -> bool:
    module = klass.__module__
    return klass is not object and not module.startswith(
        ("flowmancer_exec", "abc", "builtins", "typing")
    )


def _class_text(klass: type) -> str:
    # The class's block in its module's source, found with ast (inspect.getsource works out
    # every loaded module's file first, and tokenize compiles its patterns: ~50 ms a run).
    module = sys.modules.get(klass.__module__)
    file = getattr(module, "__file__", None)
    lines = linecache.getlines(file, vars(module)) if file and module is not None else []
    node = _class_node("".join(lines), klass.__qualname__) if lines else None
    if node is not None:
        return "".join(lines[node.lineno - 1 : node.end_lineno])
    # No source to read: the compiled code of its functions, without addresses or file names.
    functions = []
    for name, value in sorted(vars(klass).items()):
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if isinstance(code, types.CodeType):
            functions.append(f"{name}:{_code_text(code)}")
    return f"{klass.__qualname__}({';'.join(functions)})"


def _class_node(source: str, qualname: str) -> ast.ClassDef | None:
    """The definition of the class ``qualname`` (``Outer.Inner``) in a module's source."""
    tree = _TREES.get(source)
    if tree is None:
        try:
            tree = _TREES[source] = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
    body: list[ast.stmt] = tree.body
    found = None
    for part in qualname.split("."):
        found = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if found is None:
            return None  # defined in a function (<locals>) or made at run time
        body = found.body
    return found


_TREES: dict[str, ast.Module] = {}


def _code_text(code: types.CodeType) -> str:
    consts = [_code_text(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{consts}"


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
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
