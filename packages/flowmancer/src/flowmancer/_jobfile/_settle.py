"""What a substituted value and a typed key become, by where they end up in the job file.

Reading YAML marks two kinds of value whose meaning depends on their place:

- ``Substituted``: the text of a plain scalar once its ``$VAR{}``, ``$ENV{}`` and ``$SYS{}``
  were substituted. In parameters (``tasks.<t>.parameters``, matrix values, and the parameters
  of loggers, extensions and the checkpointer) it stays text, as Flowmancer 0.12 produced it,
  and the parameter's annotation converts it (``str`` gets ``'5'``, ``int`` gets 5, ``Any``
  gets ``'5'``). Elsewhere it is read as YAML reads the same plain text, limited to whole
  numbers, decimals, true/false and null (``max_attempts: $VAR{tries:3}`` is the number 3).
- ``TypedKey``: a mapping key that YAML reads as something other than text (``1:``, ``yes:``).
  Inside a parameter's value it keeps that type (``{1: a}`` is ``{1: 'a'}``, as pydantic got
  it in 0.12); elsewhere — task names, parameter names, every key of the schema — it is its
  text as written (a task called ``yes`` or ``0x10`` keeps that name).

Each file is settled on its own right after it is read: includes merge mappings key by key, so
a value's place in its file is its place in the merged job.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Substituted", "TypedKey", "settle"]

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]+([eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+")
_PLUGINS = ("loggers", "extensions")


class Substituted(str):
    """Text made by substituting variables into a plain scalar (see the module's docstring).

    ``whole`` is True when the scalar was one reference and nothing else (``$VAR{regions}``),
    False when the reference was part of the text (``$VAR{day}.csv``).
    """

    whole: bool

    def __new__(cls, text: str, whole: bool) -> Substituted:
        made = super().__new__(cls, text)
        made.whole = whole
        return made

    def __reduce__(self) -> tuple[Any, ...]:  # copies (aliases, includes) keep the mark
        return (Substituted, (str.__str__(self), self.whole))


class TypedKey(str):
    """A mapping key as written (its text), with ``value``, what YAML reads it as."""

    value: Any

    def __new__(cls, text: str, value: Any) -> TypedKey:
        made = super().__new__(cls, text)
        made.value = value
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (TypedKey, (str.__str__(self), self.value))


def settle(data: Any) -> Any:
    """``data`` (one job file) with every ``Substituted`` and ``TypedKey`` made plain."""
    if not isinstance(data, dict):
        return _elsewhere(data)
    out = {}
    for section, value in data.items():
        section = _text(section)
        if section == "tasks" and isinstance(value, dict):
            value = {_text(n): _entry(e, ("parameters", "matrix")) for n, e in value.items()}
        elif section in _PLUGINS and isinstance(value, dict):
            value = {_text(n): _entry(e, ("parameters",)) for n, e in value.items()}
        elif section == "checkpointer":
            value = _entry(value, ("parameters",))
        else:
            value = _elsewhere(value)
        out[section] = value
    return out


def _entry(entry: Any, holding: tuple[str, ...]) -> Any:
    """A task, logger, extension or checkpointer entry: its ``holding`` keys hold parameters."""
    if not isinstance(entry, dict):
        return _elsewhere(entry)
    out = {}
    for key, value in entry.items():
        key = _text(key)
        if key in holding and isinstance(value, dict):
            out[key] = {_text(name): _parameter(v) for name, v in value.items()}
        else:
            out[key] = _elsewhere(value)
    return out


def _parameter(value: Any) -> Any:
    if isinstance(value, Substituted):
        return str.__str__(value)
    if isinstance(value, dict):
        return {_typed(k): _parameter(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parameter(v) for v in value]
    return value


def _elsewhere(value: Any) -> Any:
    if isinstance(value, Substituted):
        return _retype(value)
    if isinstance(value, dict):
        return {_text(k): _elsewhere(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_elsewhere(v) for v in value]
    return value


def _text(key: Any) -> Any:
    return str.__str__(key) if isinstance(key, TypedKey) else key


def _typed(key: Any) -> Any:
    return key.value if isinstance(key, TypedKey) else key


def _retype(text: str) -> Any:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    return str.__str__(text)
