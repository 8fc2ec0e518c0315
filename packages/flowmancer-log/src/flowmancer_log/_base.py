"""``Logger``: the base class of every logger, built-in or written by a user."""

from __future__ import annotations

import threading

from .typing import LogRecordLike, RunResultLike, RunStartLike, StateChangeLike

__all__ = ["Logger"]


class Logger:
    """Base class for loggers: the runner's observer methods, turned into hooks to override.

    A ``Logger`` is handed to the runner as an observer (``Runner(observers=[...])``); it needs
    nothing from ``flowmancer_exec`` to do so. Override what you need:

    - ``write(record)`` for each line a task (or the runner) produced;
    - ``state_changed(change)`` for each state change of a task;
    - the job-level lifecycle hooks, as in Flowmancer 0.12: ``on_create()`` when the run starts,
      ``on_restart()`` right after it when the run resumes an earlier one; when it ends,
      ``on_abort()`` if it was aborted, then ``on_success()`` or ``on_failure()``, then always
      ``on_destroy()`` (also when a hook before it raised).

    ``self.run`` is the run's start (job, run id, tasks, start time) from ``on_create`` on, and
    ``self.result`` how it ended (states, reasons, durations) in the hooks at the end. Calls are
    serialised by a lock, so a logger may be fed from several threads. An exception in a hook
    reaches the runner, which reports it once and carries on with the run.
    """

    def __init__(self) -> None:
        self.run: RunStartLike | None = None
        self.result: RunResultLike | None = None
        self._lock = threading.RLock()

    # -- the observer side: what the runner calls ----------------------------------------------

    def on_run_start(self, start: RunStartLike) -> None:
        """Remember the run, then call ``on_create`` (and ``on_restart`` when resuming)."""
        with self._lock:
            self.run = start
            self.result = None
            self.on_create()
            if start.resumed:
                self.on_restart()

    def on_state_change(self, change: StateChangeLike) -> None:
        """Hand the change to ``state_changed``."""
        with self._lock:
            self.state_changed(change)

    def on_log(self, record: LogRecordLike) -> None:
        """Hand the record to ``write``."""
        with self._lock:
            self.write(record)

    def on_run_end(self, result: RunResultLike) -> None:
        """Call ``on_abort`` (if aborted), ``on_success`` or ``on_failure``, then ``on_destroy``."""
        with self._lock:
            self.result = result
            try:
                if result.aborted:
                    self.on_abort()
                if result.ok:
                    self.on_success()
                else:
                    self.on_failure()
            finally:
                self.on_destroy()

    # -- per record -----------------------------------------------------------------------------

    def write(self, record: LogRecordLike) -> None:
        """One line of output (``record.message`` may span several lines). Does nothing here."""

    def state_changed(self, change: StateChangeLike) -> None:
        """A task changed state (``change.before`` → ``change.after``). Does nothing here."""

    # -- job-level lifecycle hooks (0.12's, called synchronously) --------------------------------

    def on_create(self) -> None:
        """The run starts (``self.run`` is set)."""

    def on_restart(self) -> None:
        """The run resumes an earlier one; called right after ``on_create``."""

    def on_success(self) -> None:
        """The run ended with every task COMPLETED or SKIPPED (``self.result`` is set)."""

    def on_failure(self) -> None:
        """The run ended with a task FAILED, DEFAULTED or ABORTED (``self.result`` is set)."""

    def on_abort(self) -> None:
        """The run was aborted; called before ``on_failure``."""

    def on_destroy(self) -> None:
        """The last call of a run, whatever happened before it."""
