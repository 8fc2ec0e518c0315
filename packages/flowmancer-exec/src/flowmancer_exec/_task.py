"""``Task``: what users write: parameters as annotations, ``run()`` for the work, optional hooks.

Written so task code for Flowmancer 0.12 (where ``Task`` was a pydantic model) works unchanged:
the same annotations, defaults, hooks, ``self.shared_dict``, ``self.logger`` and
``self.metadata``, the same ``@task`` decorator; without pydantic.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import TaskNotFoundError, TaskRegistrationError
from ._params import Parameter, parameters_of, validate_parameters
from ._pydantic import model_of, uses_pydantic
from ._records import UpstreamState

__all__ = [
    "Task",
    "TaskLogger",
    "TaskMetadata",
    "get_task_class",
    "registered_tasks",
    "task",
]

RESERVED = frozenset({"shared_dict", "logger", "metadata", "upstream_states"})
_NOTHING_UPSTREAM: Mapping[str, UpstreamState] = MappingProxyType({})
T = TypeVar("T", bound="type[Task]")
NO_RESULTS: Mapping[str, Any] = MappingProxyType({})

# (level, message, time) -> None
LogSink = Callable[[str, str, float], None]


@dataclasses.dataclass(frozen=True)
class TaskMetadata:
    """Who this task is in the job: its ``name``, class name (``variant``), the tasks it
    depends on, and which ``attempt`` this is (1 for the first)."""

    name: str
    variant: str
    depends_on: list[str] = dataclasses.field(default_factory=list)
    attempt: int = 1


def _stderr_sink(level: str, message: str, when: float) -> None:
    # Outside a run (a task built by hand in a unit test) records go to stderr as plain lines.
    sys.stderr.write(f"{level} - {message}\n")


class TaskLogger:
    """``self.logger``: records with a level, attributed to the task and timed when made.

    ``logger.info("loaded %d rows", n)`` formats like the standard library's logging.
    """

    __slots__ = ("_sink",)

    def __init__(self, sink: LogSink = _stderr_sink) -> None:
        self._sink = sink

    def _emit(self, level: str, message: object, args: tuple[object, ...]) -> None:
        text = str(message)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError):
                text = " ".join([text, *map(str, args)])
        self._sink(level, text, time.time())

    def debug(self, message: object, *args: object) -> None:
        """A DEBUG record."""
        self._emit("DEBUG", message, args)

    def info(self, message: object, *args: object) -> None:
        """An INFO record."""
        self._emit("INFO", message, args)

    def warning(self, message: object, *args: object) -> None:
        """A WARNING record."""
        self._emit("WARNING", message, args)

    warn = warning

    def error(self, message: object, *args: object) -> None:
        """An ERROR record."""
        self._emit("ERROR", message, args)

    def critical(self, message: object, *args: object) -> None:
        """A CRITICAL record."""
        self._emit("CRITICAL", message, args)

    def exception(self, message: object, *args: object) -> None:
        """An ERROR record followed by the traceback of the exception being handled."""
        trace = traceback.format_exc()
        self._emit("ERROR", f"{message}\n{trace.rstrip()}" if trace.strip() else message, args)


class _PydanticOnly:
    """``model_fields`` and ``model_dump()``, which a task class written with pydantic's own
    constructs offers as 0.12's pydantic tasks did; other classes do not have them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> Any:
        if not uses_pydantic(owner):
            raise AttributeError(
                f"{owner.__name__!r} has no attribute {self.name!r} (only task classes written"
                " with pydantic's Field, validators or model_config have it)"
            )
        model = model_of(
            owner, {n: p.annotation for n, p in parameters_of(owner, RESERVED).items()}, RESERVED
        )
        if self.name == "model_fields":
            return model.model_fields

        def model_dump(**options: Any) -> dict[str, Any]:
            """The parameters as pydantic's ``model_dump`` gives them (same options)."""
            names = instance.__dict__.get("_flowmancer_parameters", model.model_fields)
            values = {name: getattr(instance, name) for name in names}
            return model.model_construct(**values).model_dump(**options)  # type: ignore[no-any-return]

        if instance is None:
            raise AttributeError(f"model_dump needs a {owner.__name__} instance")
        return model_dump


class Task(abc.ABC):
    """Subclass this, annotate parameters, implement ``run()``; decorate with ``@task``.

    Parameters are class annotations with optional defaults (``source: str``,
    ``retries: int = 5``) and are checked against the job's values before anything runs.
    Hooks run in this order, all in the same process as ``run()``: ``on_create``,
    ``on_restart`` (only when resuming a task that had failed), ``run``, then ``on_success`` or
    ``on_failure``, then always ``on_destroy``; ``on_abort`` when the run is interrupted. An
    exception in any hook fails the attempt. ``run()`` and the hooks may be ``async def``: they
    are awaited where the attempt runs.

    What ``run()`` returns is the task's result: tasks downstream of it read it as
    ``self.results[name]`` (only results of tasks they depend on, directly or not; a task that
    returned None has none). A parameter named ``results`` takes precedence (as in 0.12, where
    the name was free).

    ``Task(**parameters)`` builds one by hand (for unit tests); its logger then writes to stderr.
    As in 0.12, ``shared_dict=`` gives it the dict to read and write (``Put(shared_dict=d,
    key="k").run()``, then look in ``d``); it is not a parameter.
    """

    shared_dict: dict[str, Any]
    logger: TaskLogger
    metadata: TaskMetadata
    _upstream_states: Mapping[str, UpstreamState]
    if TYPE_CHECKING:  # not an annotation at run time: it would be taken for a parameter
        results: Mapping[str, Any]

    def __init__(self, **parameters: Any) -> None:
        cls = type(self)
        if "shared_dict" in parameters:
            parameters = dict(parameters)
            self.shared_dict = parameters.pop("shared_dict")
        values = validate_parameters(cls, parameters, cls.__name__, RESERVED)
        self.__dict__.update(values)
        if uses_pydantic(cls):  # model_dump() gives these, pydantic's extra values included
            self.__dict__["_flowmancer_parameters"] = tuple(values)
        # Set by the executor before __init__ when run in a job; defaults for a hand-built task.
        if "shared_dict" not in self.__dict__:
            self.shared_dict = {}
        if "logger" not in self.__dict__:
            self.logger = TaskLogger()
        if "metadata" not in self.__dict__:
            self.metadata = TaskMetadata(name=cls.__name__, variant=cls.__name__)
        if "_upstream_states" not in self.__dict__:
            self._upstream_states = _NOTHING_UPSTREAM
        if "results" not in self.__dict__:
            self.results = NO_RESULTS
        post_init = getattr(self, "model_post_init", None)
        if post_init is not None:  # pydantic's hook, which 0.12 tasks (pydantic models) had
            post_init(None)

    @property
    def upstream_states(self) -> Mapping[str, UpstreamState]:
        """How each task upstream stood when this attempt started: name -> ``UpstreamState``.

        Filled for tasks whose trigger rule lets them run after a failure: ``one_failed`` and
        ``all_done`` see every task upstream of them (direct or not), a ``finally`` task sees
        every other task of the job. Empty for ``all_success`` tasks, which only run when
        everything upstream completed. Assignable, for unit tests of a task built by hand.
        """
        return self._upstream_states

    @upstream_states.setter
    def upstream_states(self, value: Mapping[str, UpstreamState]) -> None:
        self._upstream_states = value

    model_fields = _PydanticOnly("model_fields")
    model_dump = _PydanticOnly("model_dump")

    @classmethod
    def parameters(cls) -> dict[str, Parameter]:
        """The parameters this class declares, in declaration order."""
        return parameters_of(cls, RESERVED)

    @classmethod
    def _build(
        cls,
        parameters: Mapping[str, Any],
        shared_dict: dict[str, Any],
        logger: TaskLogger,
        metadata: TaskMetadata,
        upstream_states: Mapping[str, UpstreamState] = _NOTHING_UPSTREAM,
        results: Mapping[str, Any] = NO_RESULTS,
    ) -> Task:
        instance = cls.__new__(cls)
        instance.shared_dict = shared_dict
        instance.logger = logger
        instance.metadata = metadata
        instance._upstream_states = upstream_states
        instance.results = MappingProxyType(dict(results)) if results else NO_RESULTS
        instance.__init__(**parameters)  # type: ignore[misc]  # the user's own __init__ too
        return instance

    # Hooks return ``Any``/``object`` so that ``async def`` overrides type-check too.

    @abc.abstractmethod
    def run(self) -> Any:
        """The work; what it returns (awaited, for ``async def``) is the task's result. Raise
        to fail the attempt."""

    def on_create(self) -> object:
        """Before ``run()`` (optional)."""
        return None

    def on_restart(self) -> object:
        """Before ``run()`` when resuming a task that had failed (optional)."""
        return None

    def on_success(self) -> object:
        """After ``run()`` succeeded (optional)."""
        return None

    def on_failure(self) -> object:
        """After ``run()`` (or an earlier hook) failed (optional)."""
        return None

    def on_destroy(self) -> object:
        """Last, whatever happened (optional)."""
        return None

    def on_abort(self) -> object:
        """When the run is interrupted or the attempt times out (optional)."""
        return None

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={getattr(self, k, None)!r}" for k in type(self).parameters())
        return f"{type(self).__name__}({values})"


_registry: dict[str, type[Task]] = {}


def _origin(cls: type) -> tuple[str, str]:
    """Where a class was defined: the same file and name is the same class, even when the
    module was imported twice under different names (as extension folders can be)."""
    # The file comes from the class's own functions: a module being executed may not be in
    # sys.modules yet (importlib.util.module_from_spec + exec_module).
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if code is not None:
            return (os.path.realpath(code.co_filename), cls.__qualname__)
    module = sys.modules.get(cls.__module__)
    where = getattr(module, "__file__", None)
    return (os.path.realpath(where) if where else cls.__module__, cls.__qualname__)


def task(cls: T) -> T:
    """Register a ``Task`` subclass under its class name, so a job can name it.

    Raises:
        TypeError: ``cls`` is not a ``Task`` subclass.
        TaskRegistrationError: a different class already holds the name.
    """
    # Typed as Task subclasses, but called at runtime on whatever a user decorates.
    if not (isinstance(cls, type) and issubclass(cls, Task)):  # type: ignore[redundant-expr]
        raise TypeError(f"@task needs a subclass of flowmancer Task, got {cls!r}")
    name = cls.__name__
    existing = _registry.get(name)
    if existing is not None and existing is not cls and _origin(existing) != _origin(cls):
        raise TaskRegistrationError(
            name,
            f"{existing.__module__}.{existing.__qualname__}",
            f"{cls.__module__}.{cls.__qualname__}",
        )
    _registry[name] = cls
    return cls


def registered_tasks() -> Mapping[str, type[Task]]:
    """Every class registered with ``@task``, by name (read-only)."""
    return MappingProxyType(_registry)


def get_task_class(name: str) -> type[Task]:
    """The class registered under ``name``.

    Raises:
        TaskNotFoundError: nothing is registered under it (with a "did you mean").
    """
    try:
        return _registry[name]
    except KeyError:
        raise TaskNotFoundError(name, list(_registry)) from None
