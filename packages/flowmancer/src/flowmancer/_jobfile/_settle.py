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
from collections.abc import Callable
from collections.abc import Set as AbstractSet
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


def settle(data: Any, typed_keys: bool = True, clean: AbstractSet[int] = frozenset()) -> Any:
    """``data`` (one job file, as just read: its collections are its own) with every
    ``Substituted`` and ``TypedKey`` made plain, in place. Without ``typed_keys`` (the file has
    no key of a YAML type) keys are not looked at; collections whose ids are in ``clean`` hold
    neither and are not looked into."""
    return _Settler(typed_keys, clean).file(data)


_TASK_PARAMETERS = ("parameters", "matrix")
_PLUGIN_PARAMETERS = ("parameters",)
_NESTED = (dict, list, Substituted)


class _Settler:
    def __init__(self, typed_keys: bool, clean: AbstractSet[int]) -> None:
        self.keys: Callable[[dict[Any, Any]], dict[Any, Any]] = (
            _keys_as_text if typed_keys else _as_is
        )
        self.typed_keys = typed_keys
        self.clean = clean

    def file(self, data: Any) -> Any:
        if type(data) is not dict:
            return self.walk(data, inside=False)
        data = self.keys(data)
        for section, value in data.items():
            if section == "tasks" and type(value) is dict:
                data[section] = self.entries(value, _TASK_PARAMETERS)
            elif section in _PLUGINS and type(value) is dict:
                data[section] = self.entries(value, _PLUGIN_PARAMETERS)
            elif section == "checkpointer":
                data[section] = self.entry(value, _PLUGIN_PARAMETERS)
            else:
                data[section] = self.walk(value, inside=False)
        return data

    def entries(self, entries: dict[Any, Any], holding: tuple[str, ...]) -> dict[Any, Any]:
        if id(entries) in self.clean:
            return entries
        entries = self.keys(entries)
        for name, entry in entries.items():
            entries[name] = self.entry(entry, holding)
        return entries

    def entry(self, entry: Any, holding: tuple[str, ...]) -> Any:
        """A task, logger, extension or checkpointer entry: ``holding`` keys hold parameters."""
        if type(entry) is not dict or id(entry) in self.clean:
            return self.walk(entry, inside=False)
        entry = self.keys(entry)
        for key, value in entry.items():
            if key in holding and type(value) is dict and id(value) not in self.clean:
                parameters = self.keys(value)  # parameter (and matrix axis) names are text
                for name, given in parameters.items():
                    if type(given) in _NESTED:
                        parameters[name] = self.walk(given, inside=True)
                entry[key] = parameters
            elif type(value) in _NESTED:
                entry[key] = self.walk(value, inside=False)
        return entry

    def walk(self, value: Any, inside: bool) -> Any:
        """``value`` settled: ``inside`` a parameter's value text stays text and keys keep
        their YAML type; elsewhere text is read as YAML reads it and keys are their text."""
        kind = type(value)
        if kind is Substituted:
            return str.__str__(value) if inside else _retype(value)
        if id(value) in self.clean:
            return value
        if kind is dict:
            value = (_keys_as_typed if inside and self.typed_keys else self.keys)(value)
            for key, item in value.items():
                if type(item) in _NESTED:
                    value[key] = self.walk(item, inside)
        elif kind is list:
            for i, item in enumerate(value):
                if type(item) in _NESTED:
                    value[i] = self.walk(item, inside)
        return value


def _as_is(mapping: dict[Any, Any]) -> dict[Any, Any]:
    return mapping


def _keys_as_text(mapping: dict[Any, Any]) -> dict[Any, Any]:
    if any(type(k) is TypedKey for k in mapping):
        return {str.__str__(k) if type(k) is TypedKey else k: v for k, v in mapping.items()}
    return mapping


def _keys_as_typed(mapping: dict[Any, Any]) -> dict[Any, Any]:
    if any(type(k) is TypedKey for k in mapping):
        return {k.value if type(k) is TypedKey else k: v for k, v in mapping.items()}
    return mapping


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
