"""The protocols flowmancer_exec talks through, and the data that crosses them.

Loggers, progress displays and checkpoint stores live in other packages and satisfy these
structurally; flowmancer_exec never imports them. Executors implement ``Executor``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._records import LogRecord, RunResult, RunSnapshot, RunStart, StateChange, UpstreamState

if TYPE_CHECKING:
    from ._task import Task

__all__ = [
    "Attempt",
    "AttemptResult",
    "CheckpointStore",
    "CompletionRecorder",
    "Emit",
    "Executor",
    "Observer",
]

Emit = Callable[[LogRecord], None]


class CompletionRecorder(Protocol):
    """A checkpoint store's early record of completions, called where attempts run."""

    def completed(
        self, task: str, attempt: int, updates: Mapping[str, Any], deleted: tuple[str, ...]
    ) -> None:
        """``run()`` of this attempt returned: keep it as done, with its ``shared_dict``
        changes so far (``updates`` added or changed, ``deleted`` removed).

        When ``run()`` returned something other than None, that result comes as a fifth
        argument: a recorder that cannot keep it must not record the completion (the runner's
        own save then decides)."""

    def revoked(self, task: str, attempt: int) -> None:
        """A hook after ``run()`` failed: the attempt did not complete after all."""

    # Optional: ``prepare(task, attempt) -> CompletionRecorder``, called by the runner just
    # before it starts that attempt; what it returns is the attempt's recorder. Work done there
    # (rendering the record) is not done again in each freshly forked child, where every object
    # touched costs a copied page.


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One attempt of one task: everything an executor needs to run its lifecycle."""

    job: str
    run_id: str
    task: str
    task_class: type[Task]
    #: The values the job gave, as given: building the task converts them (defaults are not
    #: converted; the job's values were already checked when the run was prepared).
    parameters: Mapping[str, Any]
    depends_on: tuple[str, ...]
    number: int
    restart: bool
    shared_dict: Mapping[str, Any]
    #: Told where the attempt runs, the moment its ``run()`` returns (and told again if a hook
    #: after it fails): the checkpoint store's early record (see ``CheckpointStore``). None
    #: when the store keeps none, and for executors that run attempts on other machines.
    completed: CompletionRecorder | None = None
    #: ``Task.upstream_states``: how the tasks upstream stood when the attempt started (for
    #: tasks whose trigger rule lets them run after a failure; empty for the others).
    upstream: Mapping[str, UpstreamState] = dataclasses.field(default_factory=dict)
    #: The results of the tasks upstream of this one (directly or not) that returned one:
    #: what the task reads as ``self.results``.
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def record(self, level: str, message: str, time: float, stream: str) -> LogRecord:
        """A log record attributed to this attempt."""
        return LogRecord(
            self.job, self.run_id, self.task, self.number, level, message, time, stream
        )


@dataclasses.dataclass(frozen=True)
class AttemptResult:
    """How an attempt ended.

    ``reason`` says why it did not succeed ("ValueError: bad input", "killed by signal 9
    (SIGKILL)"); ``error_types`` names the exception's classes (for ``retry_on``); ``stopped``
    is True when it ended because it was told to stop (timeout or abort). ``updates`` and
    ``deleted`` are the keys of ``shared_dict`` the attempt added or changed, and removed,
    worked out where it ran (``shared_changes``), so a key it only read is never written back.
    ``value`` is what ``run()`` returned (None when it failed). ``unsaved`` names what the
    attempt produced that could not reach the runner (``"shared_dict['lock']"``,
    ``"its result"``): its task cannot be restored from a checkpoint.
    """

    ok: bool
    reason: str | None = None
    error_types: tuple[str, ...] = ()
    stopped: bool = False
    updates: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    deleted: tuple[str, ...] = ()
    value: Any = None
    unsaved: tuple[str, ...] = ()


@runtime_checkable
class Executor(Protocol):
    """Runs attempts. ``ProcessExecutor`` and ``ThreadExecutor`` are the built-in ones.

    ``run_attempt`` runs the whole lifecycle of one attempt and returns how it ended; it sends
    output as it appears through ``emit`` (from the event loop's thread). When the coroutine is
    cancelled the attempt must be stopped: ``on_abort`` delivered, then after the grace period
    anything left killed; it then *returns* an ``AttemptResult`` with ``stopped=True`` instead of
    raising. A second cancellation means stop at once.

    An executor may also offer ``start_attempt(attempt, emit, done) -> stop``, which the runner
    then uses instead of ``run_attempt`` (no asyncio task per attempt): it starts the attempt
    and returns at once; ``done(result)`` is called exactly once, on the event loop's thread and
    never from inside ``start_attempt`` or ``stop``, when the attempt has ended; ``stop()``
    means what a cancellation of ``run_attempt`` means (a second call: stop at once).
    """

    async def start(self) -> None:
        """Prepare before the first attempt (connect, start workers)."""

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        """Run one attempt to its end."""
        ...

    async def close(self) -> None:
        """Release everything after the last attempt."""


@runtime_checkable
class Observer(Protocol):
    """Something that watches a run: a logger, a progress display, a notifier.

    The runner calls whichever of these methods an observer has, from its own thread; an
    observer that raises is reported once and the run goes on.
    """

    def on_run_start(self, start: RunStart) -> None:
        """The run is about to start (before the first attempt)."""

    def on_state_change(self, change: StateChange) -> None:
        """A task changed state."""

    def on_log(self, record: LogRecord) -> None:
        """A task (or the runner) produced a line."""

    def on_run_end(self, result: RunResult) -> None:
        """The run ended; after this nothing more is sent."""


@runtime_checkable
class CheckpointStore(Protocol):
    """Where the state of a run is kept so that it can be resumed.

    ``save`` is called after task finishes (coalesced: when several finish together, once, with
    the latest state), never between a finish and the start of what it made ready, and once
    more with ``finished=True`` before the run returns, also after an abort.

    A store may also offer ``completion_recorder(snapshot)``, called once after the run's first
    save: it returns a ``CompletionRecorder`` (or None) that executors call where each attempt
    ran, the moment ``run()`` returns, so that a runner killed before its next save does not lose
    that work (``Attempt.completed``). It must be safe to call from a forked child and from
    worker threads, and must write each record whole or not at all.
    """

    def save(self, snapshot: RunSnapshot) -> None:
        """Keep this snapshot, replacing the previous one."""
