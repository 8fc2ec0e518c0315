"""The shapes flowmancer_log works with, as ``Protocol``s.

Records arrive as ``flowmancer_exec``'s dataclasses (``LogRecord``, ``StateChange``,
``RunStart``, ``RunResult``), but this package never imports it: anything with these read-only
attributes will do (``flowmancer_log.testing`` has small stand-ins for tests). Task states are
plain strings here; ``flowmancer_dag.TaskState`` members are ``str`` and print as their name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "LogRecordLike",
    "LoggerProtocol",
    "RunResultLike",
    "RunStartLike",
    "StateChangeLike",
]


class LogRecordLike(Protocol):
    """One line of output from a task (or the runner), timed when it was produced.

    ``stream`` is ``"stdout"``, ``"stderr"``, ``"logger"`` (``self.logger`` in a task) or
    ``"runner"`` (the runner's own notes: a failure's traceback, a retry). ``time`` is seconds
    since the epoch. ``message`` may hold several lines (a traceback) and any character.
    """

    @property
    def job(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def level(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def time(self) -> float: ...
    @property
    def stream(self) -> str: ...


class StateChangeLike(Protocol):
    """A task moved from state ``before`` to ``after`` at ``time``, with why when it did not
    simply succeed (``"ValueError: bad input"``). ``attempt`` is the attempt it concerns."""

    @property
    def job(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def before(self) -> str: ...
    @property
    def after(self) -> str: ...
    @property
    def time(self) -> float: ...
    @property
    def attempt(self) -> int: ...
    @property
    def reason(self) -> str | None: ...


class RunStartLike(Protocol):
    """A run is about to start: the job, its tasks in the order given, when, and whether it
    resumes an earlier run."""

    @property
    def job(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def tasks(self) -> Sequence[str]: ...
    @property
    def started(self) -> float: ...
    @property
    def resumed(self) -> bool: ...


class RunResultLike(Protocol):
    """How a run ended: each task's final state, attempts, duration and reason.

    ``ok`` is True when every task COMPLETED or was SKIPPED; ``exit_code`` counts the others.
    """

    @property
    def job(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def ended(self) -> float: ...
    @property
    def states(self) -> Mapping[str, str]: ...
    @property
    def attempts(self) -> Mapping[str, int]: ...
    @property
    def durations(self) -> Mapping[str, float]: ...
    @property
    def reasons(self) -> Mapping[str, str]: ...
    @property
    def shared_dict(self) -> Mapping[str, Any]: ...
    @property
    def aborted(self) -> bool: ...
    @property
    def ok(self) -> bool: ...
    @property
    def exit_code(self) -> int: ...


@runtime_checkable
class LoggerProtocol(Protocol):
    """What a logger is: an observer of a run with the job-level lifecycle hooks.

    The runner calls the four ``on_run_*``/``on_state_change``/``on_log`` methods, all from its
    own thread. ``flowmancer_log.Logger`` implements them and calls the hooks: ``on_create`` at
    the start, ``on_restart`` right after it when the run resumes an earlier one; at the end
    ``on_abort`` if the run was aborted, then ``on_success`` or ``on_failure``, then always
    ``on_destroy``. Subclass ``Logger`` rather than implementing this from scratch.
    """

    def on_run_start(self, start: RunStartLike) -> None:
        """The run is about to start (before the first attempt)."""

    def on_state_change(self, change: StateChangeLike) -> None:
        """A task changed state."""

    def on_log(self, record: LogRecordLike) -> None:
        """A task (or the runner) produced a line."""

    def on_run_end(self, result: RunResultLike) -> None:
        """The run ended; nothing more follows."""

    def on_create(self) -> None:
        """The run starts."""

    def on_restart(self) -> None:
        """The run resumes an earlier one (called right after ``on_create``)."""

    def on_success(self) -> None:
        """The run ended with every task COMPLETED or SKIPPED."""

    def on_failure(self) -> None:
        """The run ended with a task FAILED, DEFAULTED or ABORTED."""

    def on_abort(self) -> None:
        """The run was aborted (SIGINT, SIGTERM or ``Runner.abort()``)."""

    def on_destroy(self) -> None:
        """Last call of a run, whatever happened."""
