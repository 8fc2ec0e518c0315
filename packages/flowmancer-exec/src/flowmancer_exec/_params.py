"""A task class's declared parameters, and checking a job's values against them.

Every missing, unknown and mistyped value is reported at once, each with its place; the
conversion rules for single values are in ``_convert``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ._convert import convert, describe, hints, type_name
from ._errors import ParameterError, Problem

__all__ = ["Parameter", "parameters_of", "validate_parameters"]

_NOTHING: Any = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One declared parameter of a task class: its name, annotation and default (if any)."""

    name: str
    annotation: Any
    default: Any = _NOTHING

    @property
    def required(self) -> bool:
        """True when the job must give a value."""
        return self.default is _NOTHING

    @property
    def type_name(self) -> str:
        """The annotation as a user reads it (``list[int]``, ``Optional[Path]``)."""
        return describe(self.annotation)


def parameters_of(cls: type, reserved: AbstractSet[str] = frozenset()) -> dict[str, Parameter]:
    """The parameters a task class declares: its annotations (ClassVars and ``reserved`` left
    out), in declaration order from the base class down, with their defaults.

    Raises:
        ParameterError: an annotation cannot be resolved.
    """
    # Resolving annotations evaluates strings: done once per class, since a job checks each
    # class once per task and every attempt checks its task again.
    key = (cls, frozenset(reserved))
    found = _PARAMETERS.get(key)
    if found is None:
        found = _PARAMETERS[key] = _parameters_of(cls, reserved)
    return dict(found)


_PARAMETERS: dict[tuple[type, frozenset[str]], dict[str, Parameter]] = {}


def _parameters_of(cls: type, reserved: AbstractSet[str]) -> dict[str, Parameter]:
    problems: list[Problem] = []
    hints_of = hints(cls, type_name(cls), problems)
    if hints_of is None:
        raise ParameterError(problems)
    found: dict[str, Parameter] = {}
    for klass in reversed(cls.__mro__):
        for name in getattr(klass, "__annotations__", {}):
            if name in reserved or name.startswith("_") or name not in hints_of:
                continue
            annotation = hints_of[name]
            if typing.get_origin(annotation) is typing.ClassVar or annotation is typing.ClassVar:
                continue
            default = getattr(cls, name, _NOTHING)
            found[name] = Parameter(name, annotation, default)
    return found


def validate_parameters(
    cls: type,
    values: Mapping[str, Any],
    place: str = "parameters",
    reserved: AbstractSet[str] = frozenset(),
) -> dict[str, Any]:
    """Every declared parameter of ``cls`` with its checked value (defaults filled in).

    Raises:
        ParameterError: listing every missing, unknown and mistyped value, each with its place.
    """
    import copy

    declared = parameters_of(cls, reserved)
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for name, parameter in declared.items():
        if name in values:
            out[name] = convert(values[name], parameter.annotation, f"{place}.{name}", problems)
        elif parameter.required:
            problems.append(
                Problem(
                    f"{place}.{name}", f"missing required value ({describe(parameter.annotation)})"
                )
            )
        else:
            # A fresh copy each time: a mutable default must not be shared between tasks.
            out[name] = copy.deepcopy(parameter.default)
    for name in values:
        if name not in declared:
            known = ", ".join(declared) or "none"
            problems.append(
                Problem(f"{place}.{name}", f"unknown parameter of {cls.__name__} (known: {known})")
            )
    if problems:
        raise ParameterError(problems)
    return out
