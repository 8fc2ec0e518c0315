"""A task class's declared parameters, and checking a job's values against them.

Every missing, unknown and mistyped value is reported at once, each with its place; the
conversion rules for single values are in ``_convert``. Defaults are never refused (pydantic does
not check them either): ``x: int = None`` means "None unless given". A class written with
pydantic's own constructs is checked by pydantic (``_pydantic``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ._convert import convert, describe, hints, type_name
from ._errors import ParameterError, Problem, unknown_parameter
from ._pydantic import model_of, uses_pydantic
from ._pydantic import validate as validate_with_pydantic

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
    annotations = _annotations(cls, reserved)
    if uses_pydantic(cls):
        model = model_of(cls, annotations, reserved)
        return {
            name: Parameter(name, annotations[name], _pydantic_default(field))
            for name, field in model.model_fields.items()
        }
    return {
        name: Parameter(name, annotation, getattr(cls, name, _NOTHING))
        for name, annotation in annotations.items()
    }


def _annotations(cls: type, reserved: AbstractSet[str]) -> dict[str, Any]:
    """The annotations that are parameters, resolved, base class first."""
    problems: list[Problem] = []
    hints_of = hints(cls, type_name(cls), problems)
    if hints_of is None:
        raise ParameterError(problems)
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name in getattr(klass, "__annotations__", {}):
            if name in reserved or name.startswith("_") or name not in hints_of:
                continue
            annotation = hints_of[name]
            if typing.get_origin(annotation) is typing.ClassVar or annotation is typing.ClassVar:
                continue
            found[name] = annotation
    return found


def _pydantic_default(field: Any) -> Any:
    if not field.is_required():
        factory = field.default_factory
        if factory is None:
            return field.default
        try:
            return factory()
        except TypeError:  # a factory of the validated data: nothing to show before it
            return ...
    return _NOTHING


def _default(parameter: Parameter, place: str) -> Any:
    """A parameter's default: converted when it can be (``x: Path = "data"`` is a Path), else
    as written, never an error (pydantic does not check defaults: ``x: int = None`` is None).
    A fresh copy each time: a mutable default must not be shared between tasks."""
    import copy

    default = copy.deepcopy(parameter.default)
    scratch: list[Problem] = []
    converted = convert(default, parameter.annotation, place, scratch)
    return default if scratch else converted


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
    try:
        declared = parameters_of(cls, reserved)
    except ParameterError as error:
        raise ParameterError(
            [Problem(p.place or place, p.message) for p in error.problems]
        ) from None
    if uses_pydantic(cls):
        annotations = {name: p.annotation for name, p in declared.items()}
        return validate_with_pydantic(cls, values, place, annotations, reserved)
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
            out[name] = _default(parameter, f"{place}.{name}")
    for name in values:
        if name not in declared:
            problems.append(Problem(f"{place}.{name}", unknown_parameter(cls, name, declared)))
    if problems:
        raise ParameterError(problems)
    return out
