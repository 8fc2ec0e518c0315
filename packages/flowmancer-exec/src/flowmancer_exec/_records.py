"""The data that flows out of a run: log records, state changes, snapshots and the result."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from flowmancer_dag import TaskState

__all__ = [
    "LogRecord",
    "RunResult",
    "RunSnapshot",
    "RunStart",
    "SharedDictConflict",
    "StateChange",
    "UpstreamState",
]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclasses.dataclass(frozen=True, slots=True)
class LogRecord:
    """One line of output from a task (or the runner), attributed and timed where it was made.

    ``stream`` is ``stdout`` or ``stderr`` for printed output (including C extensions and child
    processes), ``logger`` for ``self.logger`` calls, ``runner`` for the runner's own notes
    (a failure's traceback, a retry). ``time`` is seconds since the epoch.
    """

    job: str
    run_id: str
    task: str
    attempt: int
    level: str
    message: str
    time: float
    stream: str


@dataclasses.dataclass(frozen=True, slots=True)
class StateChange:
    """A task moved from ``before`` to ``after`` (with why, when it did not simply succeed)."""

    job: str
    run_id: str
    task: str
    before: TaskState
    after: TaskState
    time: float
    attempt: int = 0
    reason: str | None = None


_NOT_SUCCEEDED = frozenset({TaskState.FAILED, TaskState.DEFAULTED, TaskState.ABORTED})


@dataclasses.dataclass(frozen=True, slots=True)
class UpstreamState:
    """How a task upstream stood when an attempt started (``Task.upstream_states``): its
    ``state`` and, when it did not simply complete, the ``reason`` (``"ValueError: bad row"``,
    ``"upstream did not complete: extract"``)."""

    state: TaskState
    reason: str | None = None

    @property
    def failed(self) -> bool:
        """True when it FAILED, was DEFAULTED or ABORTED."""
        return self.state in _NOT_SUCCEEDED


@dataclasses.dataclass(frozen=True)
class RunStart:
    """A run is about to start: which job, which tasks, and whether it resumes an earlier run.

    ``resumed`` is True when the run was given tasks completed or failed in an earlier run
    (a restart from a checkpoint); ``tasks`` are all of the job's tasks, in the order given.
    """

    job: str
    run_id: str
    tasks: tuple[str, ...]
    started: float
    resumed: bool = False


@dataclasses.dataclass(frozen=True)
class RunSnapshot:
    """What a checkpoint store is given: everything needed to resume the run.

    ``fingerprints`` identify each task's definition (class and parameters), so a resume can
    tell a task that is unchanged from one that was edited since. ``finished`` is True for the
    last snapshot of a run, ``aborted`` when that run was aborted. ``changed`` names the tasks
    whose state, attempts or reason changed since the run's previous snapshot, and
    ``changed_keys`` the ``shared_dict`` keys set or deleted since then (None: this is the
    first snapshot), so a store can write only what changed. ``ran`` names FAILED tasks whose
    ``run()`` had completed when a later hook overran the timeout: a store keeps them as
    COMPLETED, so that a resume does not run that work again.

    ``results`` holds what tasks' ``run()`` returned (tasks that returned None have no entry);
    ``writers`` names, for each ``shared_dict`` key, the task that wrote it last, and
    ``unrestorable`` the tasks that produced something that could not reach the runner (with
    what): a store that cannot keep a value marks its writer so a resume runs it again.
    """

    job: str
    run_id: str
    started: float
    states: Mapping[str, TaskState]
    attempts: Mapping[str, int]
    reasons: Mapping[str, str]
    shared_dict: Mapping[str, Any]
    finished: bool = False
    fingerprints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    aborted: bool = False
    changed: AbstractSet[str] | None = None
    changed_keys: AbstractSet[str] | None = None
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    writers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unrestorable: Mapping[str, str] = dataclasses.field(default_factory=dict)
    ran: AbstractSet[str] = frozenset()

    @property
    def ok(self) -> bool:
        """True when every task COMPLETED or was SKIPPED."""
        return all(s.satisfies_dependents for s in self.states.values())


@dataclasses.dataclass(frozen=True, slots=True)
class SharedDictConflict:
    """``task``'s write to ``shared_dict[key]`` would replace a value ``earlier`` wrote after
    ``task``'s attempt had started (the two are not ordered by dependencies): one of the two
    writes is lost — or, when ``refused`` (``shared_dict_conflicts="error"``), ``task``'s
    attempt failed instead and its write was not merged."""

    key: str
    task: str
    earlier: str
    refused: bool = False

    def __str__(self) -> str:
        if self.refused:
            return (
                f"shared_dict[{self.key!r}]: {self.task} failed rather than replace what "
                f"{self.earlier} wrote after {self.task} had started"
            )
        return (
            f"shared_dict[{self.key!r}]: {self.task} replaced what {self.earlier} wrote after "
            f"{self.task} had started"
        )


@dataclasses.dataclass(frozen=True)
class RunResult:
    """How a run ended: every task's final state, attempts, duration and reason, the final
    ``shared_dict``, the tasks' ``results`` and the ``shared_dict`` write ``conflicts`` seen
    (``SharedDictConflict``: a task replaced a value it had not seen)."""

    job: str
    run_id: str
    started: float
    ended: float
    states: Mapping[str, TaskState]
    attempts: Mapping[str, int]
    durations: Mapping[str, float]
    reasons: Mapping[str, str]
    shared_dict: Mapping[str, Any]
    aborted: bool = False
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    conflicts: tuple[SharedDictConflict, ...] = ()

    @property
    def exit_code(self) -> int:
        """Tasks neither COMPLETED nor SKIPPED, capped at 255 (never 0 if one did not complete)."""
        bad = sum(1 for s in self.states.values() if not s.satisfies_dependents)
        return min(bad, 255)

    @property
    def ok(self) -> bool:
        """True when every task COMPLETED or was SKIPPED."""
        return self.exit_code == 0
