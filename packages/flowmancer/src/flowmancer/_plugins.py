"""Loggers and checkpointers named in a job file, built with their parameters.

The built-in ones are looked up by name here; classes users register (``@logger``,
``@checkpointer``) are added with ``register``. Parameters are checked against each class's
``__init__`` before anything runs, so a misspelt one is reported with its place.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from ._jobfile._problems import Problems
from ._jobfile._schema import PluginDefinition

__all__ = [
    "build_checkpointer",
    "build_extensions",
    "build_loggers",
    "register",
    "registrar",
]

_LOGGERS: dict[str, Callable[..., Any]] = {}
_EXTENSIONS: dict[str, Callable[..., Any]] = {}
_CHECKPOINTERS: dict[str, Callable[..., Any]] = {}
_NOTIFIERS = (
    "SlackNotification",
    "SlackWebhookNotification",
    "WebhookNotification",
    "EmailNotification",
    "PushoverNotification",
)
_PATH_PARAMETERS = ("base_log_dir", "path", "checkpoint_dir", "checkpoint_database")


def _builtin_loggers() -> dict[str, Callable[..., Any]]:
    from flowmancer_log import ConsoleLogger, FileLogger, JSONLinesLogger, StructlogLogger

    return {
        "FileLogger": FileLogger,
        "JSONLinesLogger": JSONLinesLogger,
        "ConsoleLogger": ConsoleLogger,
        "StructlogLogger": StructlogLogger,
        **_LOGGERS,
    }


def _builtin_checkpointers(wanted: str) -> dict[str, Callable[..., Any]]:
    from flowmancer_checkpoint import FileCheckpointer

    # sqlite3 is 0.8 MB more in the process every attempt is forked from (and time to import):
    # only for a job that uses it; otherwise its name is known, and never built.
    if wanted == "SQLiteCheckpointer":
        from flowmancer_checkpoint import SQLiteCheckpointer

        sqlite: Callable[..., Any] = SQLiteCheckpointer
    else:
        sqlite = _not_used
    return {
        "FileCheckpointer": FileCheckpointer,
        "SQLiteCheckpointer": sqlite,
        **_CHECKPOINTERS,
    }


T = TypeVar("T", bound=type)


def registrar(kind: str, base: type, base_name: str) -> Callable[[T], T]:
    """0.12's class decorators (``@logger``, ``@extension``, ``@checkpointer``): check the
    base class, then register the class under its name for job files."""

    def decorate(cls: T) -> T:
        if not issubclass(cls, base):
            raise TypeError(f"Must extend `{base_name}` type: {getattr(cls, '__name__', cls)}")
        register(kind, cls.__name__, cls)
        return cls

    decorate.__doc__ = f"Register a ``{base_name}`` subclass under its class name."
    return decorate


def register(kind: str, name: str, factory: Callable[..., Any]) -> None:
    """Make a user's logger, extension or checkpointer class available to job files."""
    {"logger": _LOGGERS, "extension": _EXTENSIONS, "checkpointer": _CHECKPOINTERS}[kind][name] = (
        factory
    )


def build_loggers(
    definitions: Mapping[str, PluginDefinition], root: Path, problems: Problems
) -> list[Any]:
    """One logger per ``loggers`` entry; problems go to ``problems``."""
    if not definitions:  # flowmancer_log (and structlog) are not needed
        return []
    known = _builtin_loggers()
    out = []
    for name, definition in definitions.items():
        built = _build(known, definition, f"loggers.{name}", "logger", root, problems)
        compat = _compat_if_imported()
        if compat is not None and isinstance(built, compat.LegacyLogger):
            built = compat.PluginAdapter(built, name)
        if built is not None:
            out.append(built)
    return out


def build_extensions(
    definitions: Mapping[str, PluginDefinition], root: Path, problems: Problems
) -> list[Any]:
    """One observer per ``extensions`` entry (0.12 extensions through an adapter)."""
    if not definitions:
        return []
    from .extensions.progressbar import RichProgressBar

    # The notifiers bring smtplib, email and urllib.request (tens of milliseconds at every
    # start): imported only for a job that uses one. Otherwise their names are known, so a
    # misspelt one is still suggested, and never built.
    if any(d.variant in _NOTIFIERS for d in definitions.values()):
        from .extensions import notifications

        notifiers = {name: getattr(notifications, name) for name in _NOTIFIERS}
    else:
        notifiers = dict.fromkeys(_NOTIFIERS, _not_used)
    known: dict[str, Callable[..., Any]] = {
        "RichProgressBar": RichProgressBar,
        **notifiers,
        **_EXTENSIONS,
    }
    out = []
    for name, definition in definitions.items():
        place = f"extensions.{name}"
        built = _build(known, definition, place, "extension", root, problems)
        compat = _compat_if_imported()
        if compat is not None and isinstance(built, compat.LegacyExtension):
            built = compat.PluginAdapter(built, name)
        if built is not None:
            out.append(built)
    return out


def build_checkpointer(definition: PluginDefinition, root: Path, problems: Problems) -> Any:
    """The ``checkpointer`` (None after a problem)."""
    known = _builtin_checkpointers(definition.variant)
    built = _build(known, definition, "checkpointer", "checkpointer", root, problems)
    compat = _compat_if_imported()
    if compat is not None and isinstance(built, compat.LegacyCheckpointer):
        from ._compat_store import CheckpointerAdapter

        return CheckpointerAdapter(built, root / ".flowmancer")
    return built


def _compat_if_imported() -> ModuleType | None:
    """``flowmancer._compat`` if anything has imported it, else None.

    A 0.12 plug-in is an instance of one of its classes (``Logger``, ``Extension``,
    ``Checkpointer`` of ``flowmancer.loggers``, ...), which cannot exist unless the module was
    imported, by the plug-in's own module, which ``_build`` has imported by now. So a job whose
    plug-ins are all ours does not import it, nor 0.12's event classes (a few milliseconds
    of every start; tests/test_lean_imports.py).
    """
    return sys.modules.get(f"{__package__}._compat")


def _not_used(**parameters: Any) -> None:  # pragma: no cover - never built
    raise AssertionError("a plug-in was built without its module")


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the known name closest to a mistyped one, or nothing."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build(
    known: Mapping[str, Callable[..., Any]],
    definition: PluginDefinition,
    place: str,
    kind: str,
    root: Path,
    problems: Problems,
) -> Any:
    factory = known.get(definition.variant)
    if factory is None:
        hint = _did_you_mean(definition.variant, known)
        problems.add(
            f"{place}.{kind}",
            f"no {kind} named {definition.variant!r}{hint}; known: {', '.join(sorted(known))}",
        )
        return None
    parameters = dict(definition.parameters)
    accepted = _parameters_of(factory)
    if accepted is not None:
        for key in parameters:
            if key not in accepted:
                problems.add(
                    f"{place}.parameters.{key}",
                    f"{definition.variant} has no parameter {key!r}"
                    f"{_did_you_mean(key, accepted)}; it takes: " + (", ".join(accepted) or "none"),
                )
        if any(key not in accepted for key in parameters):
            return None
        checked = _check_types(factory, parameters, f"{place}.parameters", problems)
        if checked is None:
            return None
        parameters = checked
    for key in _PATH_PARAMETERS:  # relative to the driver's folder, as in 0.12
        value = parameters.get(key)
        if isinstance(value, str) and not os.path.isabs(value):
            parameters[key] = str(root / value)
    try:
        return factory(**parameters)
    except (TypeError, ValueError) as error:
        problems.add(f"{place}.parameters", f"{definition.variant}: {error}")
        return None


def _initializers(factory: Callable[..., Any]) -> list[Any]:
    """The ``__init__`` of a class and of each base that defines one, nearest first (a plain
    callable: itself)."""
    if isinstance(factory, type):
        return [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
    return [factory]


def _check_types(
    factory: Callable[..., Any], values: dict[str, Any], place: str, problems: Problems
) -> dict[str, Any] | None:
    """``values`` checked (and converted, as task parameters are) against the annotations of
    the factory's ``__init__``s; None after a problem, which goes to ``problems``."""
    import typing

    from flowmancer_exec import ParameterError, validate_parameters

    hints: dict[str, Any] = {}
    for init in _initializers(factory):
        try:
            found = typing.get_type_hints(init)
        except Exception:  # an annotation we cannot resolve: leave that one unchecked
            continue
        for name, hint in found.items():
            if name in values and name not in hints and hint is not typing.Any:
                hints[name] = hint
    if not hints:
        return values
    # A stand-in class: its annotations are what validate_parameters reads.
    shape = type("Settings", (), {"__annotations__": hints})
    try:
        converted = validate_parameters(shape, {k: values[k] for k in hints}, place)
    except ParameterError as error:
        for problem in error.problems:
            problems.add(problem.place, problem.message)
        return None
    return {**values, **converted}


def _parameters_of(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword arguments ``factory`` takes (None: anything). A class whose ``__init__``
    passes ``**kwargs`` on to its base takes the base's as well."""
    names: list[str] = []
    for function in _initializers(factory):
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return None
        passes_on = False
        for parameter in signature.parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                passes_on = True
            elif (
                parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                and parameter.name != "self"
                and parameter.name not in names
            ):
                names.append(parameter.name)
        if not passes_on:
            return names
    return None  # **kwargs all the way up: takes anything
