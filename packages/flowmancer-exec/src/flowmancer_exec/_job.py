"""``TaskSpec`` (one task of a job, as the runner needs it) and checking a whole job at once."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from flowmancer_dag import (
    CycleError,
    FinallyDependencyError,
    Graph,
    GraphError,
    MissingDependencyError,
    TriggerRule,
)

from ._errors import JobError, ParameterError, Problem, TaskNotFoundError
from ._fingerprint import fingerprint
from ._params import validate_parameters
from ._task import RESERVED, Task, get_task_class

__all__ = ["PreparedJob", "TaskSpec", "prepare"]


# Slots: one per task of the job, kept for the whole run (a __dict__ each was 100 bytes more).
@dataclasses.dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task of a job: which class runs with which parameters, after what, and how.

    Args:
        name: the task's name in the job.
        task: a ``Task`` subclass, or the name it was registered under with ``@task``.
        parameters: values for the class's annotated parameters.
        depends_on: names of the tasks that must finish first.
        max_attempts: attempts before the task is FAILED (1 = no retry).
        backoff: seconds to wait before the second attempt.
        backoff_factor: each further wait is this many times longer.
        max_backoff: no wait is longer than this many seconds.
        jitter: wait a random time between half the delay and the delay, so retries of many
            tasks do not stampede together.
        retry_on: exception class names worth retrying (any class in the exception's MRO);
            other exceptions fail at once. Empty: retry on any failure. Crashes and timeouts
            are always retried.
        timeout: seconds an attempt may run before it is stopped and FAILED.
        pool: the name of a pool in ``Runner(pools=...)`` that limits how many run at once.
        trigger_rule: ``all_success`` (default), ``all_done``, ``one_failed`` or ``finally``
            (after every other task of the job, whatever happened; also when the run is
            aborted, within ``Runner(finally_grace_period=...)``).
    """

    name: str
    task: type[Task] | str
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    depends_on: Sequence[str] = ()
    max_attempts: int = 1
    backoff: float = 0.0
    backoff_factor: float = 1.0
    max_backoff: float | None = None
    jitter: bool = False
    retry_on: Sequence[str] = ()
    timeout: float | None = None
    pool: str | None = None
    trigger_rule: TriggerRule | str = TriggerRule.ALL_SUCCESS


@dataclasses.dataclass(frozen=True)
class PreparedJob:
    """A job that passed every check: classes resolved, parameters converted, graph valid."""

    specs: Mapping[str, TaskSpec]
    classes: Mapping[str, type[Task]]
    parameters: Mapping[str, Mapping[str, Any]]
    graph: Graph[str]

    @functools.cached_property
    def fingerprints(self) -> Mapping[str, str]:
        """Each task's definition (class and parameters) as a short stable digest."""
        return {name: fingerprint(self.classes[name], self.parameters[name]) for name in self.specs}


_NO_PARAMETERS: Mapping[str, Any] = MappingProxyType({})

# The trigger rules' names, looked up twice per task (an enum's members are slow to list).
_RULES = frozenset(r.value for r in TriggerRule)


def _number(
    value: Any, place: str, problems: list[Problem], *, minimum: float, integer: bool = False
) -> None:
    if type(value) is int and value >= minimum:  # most are: said quickly, for big jobs
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int)
    if ok:
        ok = math.isfinite(value) and value >= minimum
    if not ok:
        kind = "an integer" if integer else "a number"
        problems.append(Problem(place, f"expected {kind} >= {minimum:g}, got {value!r}"))


def prepare(
    tasks: Sequence[TaskSpec],
    *,
    pools: Mapping[str, int] | None = None,
    max_concurrency: int = 0,
) -> PreparedJob:
    """Check everything about a job before anything runs.

    Raises:
        JobError: listing every problem, each with its place (``tasks.load.parameters.n``).
    """
    problems: list[Problem] = []
    pools = dict(pools or {})
    _number(max_concurrency, "config.max_concurrency", problems, minimum=0, integer=True)
    for pool, size in pools.items():
        _number(size, f"config.pools.{pool}", problems, minimum=1, integer=True)

    specs: dict[str, TaskSpec] = {}
    classes: dict[str, type[Task]] = {}
    parameters: dict[str, Mapping[str, Any]] = {}
    for spec in tasks:
        place = f"tasks.{spec.name}"
        if spec.name in specs:
            problems.append(Problem(place, "defined more than once"))
            continue
        specs[spec.name] = spec
        cls = _resolve(spec.task, f"{place}.task", problems)
        if cls is not None:
            classes[spec.name] = cls
            try:
                # A task without parameters shares one empty mapping (an own dict each was 64
                # bytes more per task, kept for the whole run).
                parameters[spec.name] = (
                    validate_parameters(cls, spec.parameters, f"{place}.parameters", RESERVED)
                    or _NO_PARAMETERS
                )
            except ParameterError as error:
                problems.extend(error.problems)
        _number(spec.max_attempts, f"{place}.max_attempts", problems, minimum=1, integer=True)
        _number(spec.backoff, f"{place}.backoff", problems, minimum=0)
        _number(spec.backoff_factor, f"{place}.backoff_factor", problems, minimum=1)
        if spec.max_backoff is not None:
            _number(spec.max_backoff, f"{place}.max_backoff", problems, minimum=0)
        if spec.timeout is not None:
            _number(spec.timeout, f"{place}.timeout", problems, minimum=0)
            if spec.timeout == 0:
                problems.append(Problem(f"{place}.timeout", "must be more than 0 seconds"))
        if spec.pool is not None and spec.pool not in pools:
            known = ", ".join(pools) or "none are defined"
            problems.append(
                Problem(f"{place}.pool", f"unknown pool {spec.pool!r} (pools: {known})")
            )
        if isinstance(spec.retry_on, str):
            problems.append(
                Problem(
                    f"{place}.retry_on",
                    f"expected a list of exception names, got {spec.retry_on!r}",
                )
            )
        if isinstance(spec.depends_on, str):
            problems.append(
                Problem(
                    f"{place}.dependencies",
                    f"expected a list of task names, got {spec.depends_on!r}",
                )
            )
        if str(spec.trigger_rule) not in _RULES:
            allowed = ", ".join(r.value for r in TriggerRule)
            problems.append(
                Problem(
                    f"{place}.trigger_rule", f"expected one of {allowed}, got {spec.trigger_rule!r}"
                )
            )

    graph: Graph[str] = Graph()
    for name, spec in specs.items():
        deps = () if isinstance(spec.depends_on, str) else spec.depends_on
        rule = spec.trigger_rule if str(spec.trigger_rule) in _RULES else None
        graph.add(name, deps, rule)
    try:
        graph.validate()
    except GraphError as error:
        problems.extend(_graph_problem(p) for p in error.problems)
    if problems:
        raise JobError(problems)
    return PreparedJob(specs, classes, parameters, graph)


def _resolve(task: type[Task] | str, place: str, problems: list[Problem]) -> type[Task] | None:
    if isinstance(task, str):
        try:
            return _runnable(get_task_class(task), place, problems)
        except TaskNotFoundError as error:
            problems.append(Problem(place, str(error)))
            return None
    if isinstance(task, type) and issubclass(task, Task):  # type: ignore[redundant-expr]
        return _runnable(task, place, problems)
    message = f"expected a Task subclass or a registered name, got {task!r}"  # type: ignore[unreachable]
    problems.append(Problem(place, message))
    return None


def _runnable(cls: type[Task], place: str, problems: list[Problem]) -> type[Task]:
    """``cls``; if it leaves an abstract method such as ``run()`` undefined, that is a problem of
    the job, said now rather than when its first attempt fails to build it (its parameters are
    still checked, so that every problem is said at once)."""
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if not missing:
        return cls
    methods = ", ".join(f"{name}()" for name in missing)
    where = f" ({cls.__module__}.{cls.__qualname__})" if cls.__module__ != "__main__" else ""
    problems.append(
        Problem(place, f"task class {cls.__name__}{where} does not define {methods}: it cannot run")
    )
    return cls


def _graph_problem(problem: GraphError) -> Problem:
    if isinstance(problem, MissingDependencyError):
        text = str(problem).split(" depends on ", 1)[1]
        return Problem(
            f"tasks.{problem.node}.dependencies",
            f"depends on {text.replace('the graph', 'the job')}",
        )
    if isinstance(problem, FinallyDependencyError):
        names = ", ".join(str(n) for n in problem.finally_nodes)
        which = "a finally task" if len(problem.finally_nodes) == 1 else "finally tasks"
        return Problem(
            f"tasks.{problem.node}.dependencies",
            f"depends on {names}, {which}: a finally task runs after every other task, so only "
            f"finally tasks may depend on it (give {problem.node} trigger_rule: finally too, "
            "or drop the dependency)",
        )
    if isinstance(problem, CycleError):  # at the dependencies of the cycle's first task
        return Problem(f"tasks.{problem.cycle[0]}.dependencies", str(problem))
    return Problem("tasks", str(problem))  # pragma: no cover - every problem is one of the above
