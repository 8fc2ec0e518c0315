"""Task classes written with pydantic's own constructs, validated by pydantic itself.

In Flowmancer 0.12 a ``Task`` was a pydantic model, so its subclasses could use ``Field(...)``,
``field_validator``/``model_validator``/``validator``, ``model_config`` or ``class Config``,
and pydantic models as parameter types. Such a class is recognised here without importing
pydantic; with pydantic installed (``pip install 'flowmancer-exec[pydantic]'``) a model with
the class's parameters, defaults, validators and configuration (over 0.12's own: unknown
parameters forbidden, any type allowed) is built once and validates its values; without it,
the class is refused with that one-line fix. Classes that use none of this never import
pydantic.
"""

from __future__ import annotations

import sys
import types
import typing
import warnings
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ._convert import describe, shown
from ._errors import ParameterError, Problem, unknown_parameter

__all__ = ["INSTALL", "model_of", "uses_pydantic", "validate"]

INSTALL = "pip install 'flowmancer[pydantic]'"
_OURS = ("flowmancer_exec", "flowmancer", "builtins", "abc")
_USES: dict[type, str | None] = {}
_MODELS: dict[tuple[type, frozenset[str]], Any] = {}


def _own_classes(cls: type) -> list[type]:
    """The user's classes in ``cls``'s MRO, base first (not ours, not ``object``)."""
    return [k for k in reversed(cls.__mro__) if k.__module__.partition(".")[0] not in _OURS]


def uses_pydantic(cls: type) -> str | None:
    """What of pydantic ``cls`` uses (to name it in messages), or None; pydantic not imported."""
    if cls in _USES:
        return _USES[cls]
    found = None
    for klass in _own_classes(cls):
        for key, value in vars(klass).items():
            if key == "model_config" or (key == "Config" and isinstance(value, type)):
                found = key if key == "model_config" else "class Config"
            elif type(value).__module__.partition(".")[0] == "pydantic":
                found = "Field(...)" if type(value).__name__ == "FieldInfo" else "validators"
    if found is None and "pydantic" in sys.modules:  # else no model type can be in there
        try:
            annotations = typing.get_type_hints(cls, include_extras=True).values()
        except Exception:  # unresolvable: said when the parameters are read
            annotations = {}.values()
        if any(_pydantic_in(tp) for tp in annotations):
            found = "pydantic types"
    _USES[cls] = found
    return found


def _pydantic_in(tp: Any) -> bool:
    """Whether an annotation holds a pydantic model or pydantic metadata (``Field(gt=0)``)."""
    base = sys.modules["pydantic"].BaseModel
    if isinstance(tp, type) and issubclass(tp, base):
        return True
    metadata = getattr(tp, "__metadata__", ())
    if any(
        type(m).__module__.partition(".")[0] in ("pydantic", "annotated_types") for m in metadata
    ):
        return True
    return any(_pydantic_in(arg) for arg in typing.get_args(tp))


def model_of(cls: type, names: Mapping[str, Any], reserved: AbstractSet[str]) -> Any:
    """The pydantic model standing for ``cls``'s parameters (``names``: name -> annotation).

    Raises:
        ParameterError: pydantic is not installed, or refuses to build the model (the problem
            has no place: the caller knows it).
    """
    key = (cls, frozenset(reserved))
    model = _MODELS.get(key)
    if model is not None:
        return model
    try:
        import pydantic
    except ImportError:
        uses = uses_pydantic(cls)
        message = f"{cls.__name__} uses pydantic ({uses}), which is not installed: {INSTALL}"
        raise ParameterError([Problem("", message)]) from None

    class Base(pydantic.BaseModel):  # what 0.12's Task model said
        model_config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    config: dict[str, Any] = {}
    for klass in _own_classes(cls):
        for key_name, value in vars(klass).items():
            if key_name == "model_config":
                config.update(value)
            elif key_name == "Config" and isinstance(value, type):
                namespace["Config"] = value  # pydantic reads (and translates) it itself
            elif _carried(key_name, value):
                namespace[key_name] = value  # validators, and the helpers they may call
    if config:
        namespace["model_config"] = pydantic.ConfigDict(**config)  # type: ignore[typeddict-item]
    namespace["__annotations__"] = dict(names)
    for name in names:
        if hasattr(cls, name):
            namespace[name] = getattr(cls, name)
    try:
        with warnings.catch_warnings():
            # pydantic warned when the class was written (class Config is deprecated); the
            # model made from it need not say so again.
            warnings.simplefilter("ignore", DeprecationWarning)
            model = type(cls.__name__, (Base,), namespace)
    except Exception as error:  # pydantic's own word on a definition it cannot use
        message = f"pydantic cannot make a model of {cls.__name__}: {error}"
        raise ParameterError([Problem("", message)]) from None
    _MODELS[key] = model
    return model


def _carried(name: str, value: Any) -> bool:
    if name.startswith("__") or name in ("model_post_init", "model_config", "Config"):
        return False
    if type(value).__module__.partition(".")[0] == "pydantic":
        return type(value).__name__ != "FieldInfo"  # validators, private attributes, ...
    return isinstance(value, (classmethod, staticmethod, property, types.FunctionType))


def validate(
    cls: type,
    values: Mapping[str, Any],
    place: str,
    names: Mapping[str, Any],
    reserved: AbstractSet[str],
) -> dict[str, Any]:
    """``values`` validated by the model for ``cls``: every parameter, with pydantic's defaults.

    Raises:
        ParameterError: pydantic's errors, each at its place (``tasks.t.parameters.n``).
    """
    import pydantic

    model = model_of(cls, names, reserved)
    try:
        instance = model.model_validate(dict(values))
    except pydantic.ValidationError as error:
        raise ParameterError(_problems(error, model, cls, place)) from None
    out = {name: getattr(instance, name) for name in model.model_fields}
    out.update(instance.model_extra or {})
    return out


def _problems(error: Any, model: Any, cls: type, place: str) -> list[Problem]:
    fields = model.model_fields
    given_as = {(field.alias or name): name for name, field in fields.items()}
    problems = []
    for detail in error.errors(include_url=False):
        loc = detail.get("loc", ())
        where = place + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        kind = detail.get("type")
        if kind == "missing" and len(loc) == 1 and loc[0] in given_as:
            annotation = fields[given_as[loc[0]]].annotation
            message = f"missing required value ({describe(annotation)})"
        elif kind == "extra_forbidden" and len(loc) == 1:
            message = unknown_parameter(cls, str(loc[0]), given_as)
        else:
            got = f", got {shown(detail['input'])}" if "input" in detail and loc else ""
            message = f"{detail.get('msg', error)}{got}"
        problems.append(Problem(where, message))
    return problems
