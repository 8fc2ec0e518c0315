"""The run's record of its tasks: each one's state, attempts, reason, start and duration, and the
state changes not yet told to the observers.

The lowest of the run's parts: every other one writes a state change here (``change``), and the
reporting (``_run_report``) and persistence (``_run_keep``) parts read it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flowmancer_dag import TaskState

from ._columns import Column
from ._records import StateChange

__all__ = ["Book"]

S = TaskState


class Book:
    """Each task's state and attempts (also as columns by task position, which snapshots copy
    cheaply, see ``Column``), reasons and timings; ``pending_changes`` are the changes made
    since the observers were last told."""

    __slots__ = (
        "attempt_column",
        "attempts",
        "durations",
        "first_start",
        "index",
        "job",
        "pending_changes",
        "reasons",
        "run_id",
        "state_column",
        "states",
        "unsaved",
    )

    def __init__(self, job: str, run_id: str, names: Iterable[str]) -> None:
        self.job = job
        self.run_id = run_id
        self.states: dict[str, TaskState] = dict.fromkeys(names, S.INIT)
        self.attempts: dict[str, int] = dict.fromkeys(self.states, 0)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.states)}
        self.state_column: Column[TaskState] = Column(len(self.index), S.INIT)
        self.attempt_column: Column[int] = Column(len(self.index), 0)
        self.reasons: dict[str, str] = {}
        self.first_start: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self.unsaved: set[str] = set()  # tasks changed since the last save
        self.pending_changes: list[StateChange] = []

    def change(self, name: str, to: TaskState, reason: str | None = None) -> None:
        """``name`` is now ``to`` (for ``reason``); the observers are told at the next flush."""
        before = self.states[name]
        self.states[name] = to
        self.state_column[self.index[name]] = to
        self.unsaved.add(name)
        if to is S.COMPLETED:
            self.reasons.pop(name, None)  # a retry that succeeded leaves no reason behind
        elif reason:
            self.reasons[name] = reason
        self.pending_changes.append(
            StateChange(
                self.job, self.run_id, name, before, to, time.time(), self.attempts[name], reason
            )
        )

    def ended(self, name: str) -> None:
        """``name`` ran its last attempt: its duration, from its first start."""
        self.durations[name] = time.time() - self.first_start[name]
