"""Helpers for testing loggers and tasks: capture what a run sends, or play a run by hand.

``CapturingLogger`` keeps everything it is given (records, state changes, the hooks called,
in order): hand it to a ``Runner`` beside your own loggers and assert on what a job printed.
``play_run`` drives loggers through a small, believable run without running anything, built
from the stand-in records below (the same fields as ``flowmancer_exec``'s), so a logger can be
tested with nothing but this package installed::

    from flowmancer_log.testing import CapturingLogger, play_run

    def test_my_logger_sees_the_failure() -> None:
        mine = MyLogger()
        play_run(mine, outputs={"load": ["reading", "oops"]}, failures={"load": "ValueError"})
        assert mine.failed
"""

from __future__ import annotations

import dataclasses
import time as _time
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import Logger
from .typing import LoggerProtocol, LogRecordLike, RunResultLike, StateChangeLike

__all__ = [
    "CapturingLogger",
    "LogRecord",
    "RunResult",
    "RunStart",
    "StateChange",
    "play_run",
]


@dataclasses.dataclass(frozen=True)
class LogRecord:
    """A stand-in for ``flowmancer_exec.LogRecord``: one line of output."""

    job: str
    run_id: str
    task: str
    attempt: int
    level: str
    message: str
    time: float
    stream: str


@dataclasses.dataclass(frozen=True)
class StateChange:
    """A stand-in for ``flowmancer_exec.StateChange``: a task moved from one state to another."""

    job: str
    run_id: str
    task: str
    before: str
    after: str
    time: float
    attempt: int = 0
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class RunStart:
    """A stand-in for ``flowmancer_exec.RunStart``: a run is about to start."""

    job: str
    run_id: str
    tasks: tuple[str, ...]
    started: float
    resumed: bool = False


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A stand-in for ``flowmancer_exec.RunResult``: how a run ended."""

    job: str
    run_id: str
    started: float
    ended: float
    states: Mapping[str, str]
    attempts: Mapping[str, int]
    durations: Mapping[str, float]
    reasons: Mapping[str, str]
    shared_dict: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    aborted: bool = False
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    conflicts: tuple[Any, ...] = ()

    @property
    def exit_code(self) -> int:
        """Tasks neither COMPLETED nor SKIPPED, capped at 255."""
        return min(sum(1 for s in self.states.values() if s not in ("COMPLETED", "SKIPPED")), 255)

    @property
    def ok(self) -> bool:
        """True when every task COMPLETED or was SKIPPED."""
        return self.exit_code == 0


class CapturingLogger(Logger):
    """A logger that keeps everything it is given, for assertions.

    ``records`` and ``changes`` in arrival order, ``events`` all of them interleaved as
    ``("log", record)`` / ``("state", change)`` pairs, ``calls`` the hooks in the order they
    were called (``["on_create", "on_failure", "on_destroy"]``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[LogRecordLike] = []
        self.changes: list[StateChangeLike] = []
        self.events: list[tuple[str, Any]] = []
        self.calls: list[str] = []

    def write(self, record: LogRecordLike) -> None:
        """Keep the record."""
        self.records.append(record)
        self.events.append(("log", record))

    def state_changed(self, change: StateChangeLike) -> None:
        """Keep the change."""
        self.changes.append(change)
        self.events.append(("state", change))

    def lines(self, task: str | None = None, stream: str | None = None) -> list[str]:
        """The messages of ``task`` (all tasks when None), from ``stream`` (all when None)."""
        return [
            r.message
            for r in self.records
            if (task is None or r.task == task) and (stream is None or r.stream == stream)
        ]

    def states(self, task: str) -> list[str]:
        """The states ``task`` went through, in order."""
        return [str(c.after) for c in self.changes if c.task == task]

    def on_create(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_create")

    def on_restart(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_restart")

    def on_success(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_success")

    def on_failure(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_failure")

    def on_abort(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_abort")

    def on_destroy(self) -> None:
        """Noted in ``calls``."""
        self.calls.append("on_destroy")


def play_run(
    *loggers: LoggerProtocol,
    outputs: Mapping[str, Sequence[str]],
    failures: Mapping[str, str] | None = None,
    job: str = "job",
    run_id: str = "run-1",
    started: float | None = None,
    resumed: bool = False,
    aborted: bool = False,
) -> RunResultLike:
    """Drive ``loggers`` through a run of the tasks in ``outputs``, one after another.

    Each task goes PENDING, RUNNING (attempt 1), prints its lines (INFO, ``stdout``), then ends
    COMPLETED, or FAILED with the reason given in ``failures`` (preceded by a traceback ending
    in that reason: an ERROR record of stream ``runner``, as the runner sends). With
    ``aborted`` every task not failed ends ABORTED.
    Times start at ``started`` (now by default) and advance a millisecond per event.

    Returns:
        the ``RunResult`` handed to ``on_run_end``.
    """
    failures = dict(failures or {})
    clock = _time.time() if started is None else started
    begin = clock
    tasks = tuple(outputs)

    def tick() -> float:
        nonlocal clock
        clock += 0.001
        return clock

    def each(method: str, value: object) -> None:
        for logger in loggers:
            getattr(logger, method)(value)

    each("on_run_start", RunStart(job, run_id, tasks, begin, resumed))
    states: dict[str, str] = {}
    durations: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for task in tasks:
        first = tick()
        each("on_state_change", StateChange(job, run_id, task, "INIT", "PENDING", first, 0))
        each("on_state_change", StateChange(job, run_id, task, "PENDING", "RUNNING", tick(), 1))
        for line in outputs[task]:
            each("on_log", LogRecord(job, run_id, task, 1, "INFO", line, tick(), "stdout"))
        reason = failures.get(task)
        if reason is not None:
            trace = f'Traceback (most recent call last):\n  File "{task}.py", line 1\n{reason}'
            each("on_log", LogRecord(job, run_id, task, 1, "ERROR", trace, tick(), "runner"))
            end = "FAILED"
        elif aborted:
            end, reason = "ABORTED", "the run was aborted"
        else:
            end = "COMPLETED"
        each("on_state_change", StateChange(job, run_id, task, "RUNNING", end, tick(), 1, reason))
        states[task] = end
        if reason is not None:
            reasons[task] = reason
        durations[task] = clock - first
    result = RunResult(
        job,
        run_id,
        begin,
        tick(),
        states,
        dict.fromkeys(tasks, 1),
        durations,
        reasons,
        {},
        aborted,
    )
    each("on_run_end", result)
    return result
