"""``Runner``: checks a job, then runs it; the run itself is driven by ``_run_state``."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowmancer_dag import TaskState

from ._errors import JobError, Problem
from ._interface import CheckpointStore, Executor, Observer
from ._job import PreparedJob, TaskSpec, prepare
from ._records import RunResult
from ._run_settings import RunSettings
from ._run_state import RunState
from ._shared import CONFLICT_MODES

__all__ = ["Runner"]

S = TaskState


def new_run_id() -> str:
    """A run id that sorts by start time: ``20261126T140307Z-1a2b3c4d``."""
    # Eight random hex digits, as uuid4().hex[:8] gave (all random there too), without
    # importing uuid (and platform, which it imports) into every run.
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + os.urandom(4).hex()


class Runner:
    """Runs a job: the tasks in dependency order, with retries, timeouts, limits and abort.

    Args:
        tasks: the job's tasks. Everything is checked here, before anything runs.
        job: the job's name (in records, snapshots and the result).
        executor: where attempts run; a ``ProcessExecutor`` when not given.
        max_concurrency: attempts running at once (0 = unlimited).
        pools: name -> size; a task with ``pool=name`` runs only while fewer than ``size``
            tasks of that pool are running.
        observers: told of every state change and log record: objects with any of the
            ``Observer`` methods (``on_run_start``, ``on_state_change``, ``on_log``,
            ``on_run_end``); the ones they lack are skipped.
        checkpoint: told the run's state after task finishes (see ``CheckpointStore``).
        handle_signals: on SIGINT/SIGTERM abort the run (a second SIGINT stops at once).
            Only when ``run()`` is called from the main thread, and not for a signal the
            application's event loop already handles (that handler can call ``abort()``);
            other handlers are put back when the run ends.
        finally_grace_period: seconds the ``finally`` tasks may take when the run is aborted,
            counted from when the attempts told to stop have ended; then they are stopped too.
        shared_dict_conflicts: what to do when a task's ``shared_dict`` write replaces a value
            another task, not ordered with it, wrote after it started: ``warn`` (a warning in
            its log, counted in ``RunResult.conflicts``) or ``error`` (it fails instead).

    Raises:
        JobError: every problem with the job, each with its place.
    """

    def __init__(
        self,
        tasks: Sequence[TaskSpec],
        *,
        job: str = "flowmancer",
        executor: Executor | None = None,
        max_concurrency: int = 0,
        pools: Mapping[str, int] | None = None,
        observers: Sequence[Observer | object] = (),
        checkpoint: CheckpointStore | None = None,
        handle_signals: bool = True,
        finally_grace_period: float = 30.0,
        shared_dict_conflicts: str = "warn",
    ) -> None:
        self.job = job
        if shared_dict_conflicts not in CONFLICT_MODES:
            problem = Problem(
                "config.shared_dict_conflicts",
                f"expected one of {', '.join(CONFLICT_MODES)}, got {shared_dict_conflicts!r}",
            )
            raise JobError([problem])
        self.shared_dict_conflicts = shared_dict_conflicts
        self.prepared: PreparedJob = prepare(tasks, pools=pools, max_concurrency=max_concurrency)
        if executor is None:
            from ._process import ProcessExecutor

            executor = ProcessExecutor()
        self.executor: Executor = executor
        self.max_concurrency = max_concurrency
        self.pools = dict(pools or {})
        self.observers = list(observers)
        self.checkpoint = checkpoint
        self.handle_signals = handle_signals
        grace = finally_grace_period
        if not (grace >= 0 and math.isfinite(grace)):
            raise ValueError(f"finally_grace_period must be seconds >= 0, got {grace!r}")
        self.finally_grace_period = float(grace)
        self._state: RunState | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        """The job's task names, in the order given."""
        return tuple(self.prepared.specs)

    def run(
        self,
        *,
        completed: Iterable[str] = (),
        skipped: Iterable[str] = (),
        restarted: Iterable[str] = (),
        shared_dict: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        results: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run the job to its end and return how it went.

        Args:
            completed: tasks already COMPLETED (from a checkpoint): not run again.
            skipped: tasks left out: never run, each SKIPPED where it would have become ready
                (DEFAULTED where it would have been), so what follows waits for what precedes.
            restarted: tasks that had failed before; their first attempt calls ``on_restart``.
            shared_dict: the initial contents of ``shared_dict`` (from a checkpoint).
            run_id: an id for this run; a new sortable one when not given.
            results: the results of tasks completed before (from a checkpoint), by task.
        """
        return asyncio.run(
            self.run_async(
                completed=completed,
                skipped=skipped,
                restarted=restarted,
                shared_dict=shared_dict,
                run_id=run_id,
                results=results,
            )
        )

    async def run_async(
        self,
        *,
        completed: Iterable[str] = (),
        skipped: Iterable[str] = (),
        restarted: Iterable[str] = (),
        shared_dict: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        results: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """``run()`` for callers already inside an event loop."""
        settings = RunSettings(
            self.job,
            self.prepared,
            self.executor,
            self.max_concurrency,
            self.pools,
            self.observers,
            self.checkpoint,
            self.handle_signals,
            self.finally_grace_period,
            self.shared_dict_conflicts,
        )
        state = RunState(
            settings, run_id or new_run_id(), completed, skipped, restarted, shared_dict, results
        )
        self._state = state
        try:
            return await state.main()
        finally:
            self._state = None

    def abort(self) -> None:
        """Abort the current run from any thread, as SIGINT would: running attempts are
        stopped, then the ``finally`` tasks run (within ``finally_grace_period``). Twice: stop
        at once, ``finally`` tasks too."""
        state = self._state
        if state is not None:
            state.loop.call_soon_threadsafe(state.request_abort)
