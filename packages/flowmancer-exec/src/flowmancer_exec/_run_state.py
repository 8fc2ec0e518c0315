"""One run in progress: its parts put together, and the event loop's body.

Everything happens on one asyncio event loop in one thread. When an attempt ends, its result
goes to the dag run and whatever became ready is started in the same callback; only then are
observers told and, once the loop is idle, the checkpoint saved. No polling interval sits
anywhere between a task's end and its dependents' start.

The parts, each given only what it needs (the lower ones first):

- ``_run_book``: each task's state, attempts, reason and timings; every state change.
- ``_run_report``: telling the observers (state changes, log lines).
- ``_run_abort``: an abort's state, stopping what runs, the finally tasks' grace period.
- ``_run_keep``: the snapshot, the checkpoint saves, the completion recorders.
- ``_run_schedule``: the queue of ready tasks, the concurrency limit and the pools.
- ``_run_attempts``: starting an attempt, its timeout, settling it (finish, retry, stop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from flowmancer_dag import Run, TaskState, TriggerRule

from ._errors import StartInterruptedError
from ._records import RunResult, RunStart
from ._run_abort import Abort
from ._run_attempts import Attempts
from ._run_book import Book
from ._run_keep import Keeper
from ._run_report import Reporter
from ._run_running import Running
from ._run_schedule import Scheduler
from ._run_settings import RunSettings
from ._shared import SharedState
from ._signals import install_signals, restore_signals

__all__ = ["RunState"]

S = TaskState


class RunState:
    """Everything about one run in progress."""

    def __init__(
        self,
        settings: RunSettings,
        run_id: str,
        completed: Iterable[str],
        skipped: Iterable[str],
        restarted: Iterable[str],
        shared_dict: Mapping[str, Any] | None,
        results: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        job = settings.job
        prepared = settings.prepared
        self.job = job
        self.run_id = run_id
        self.specs = specs = prepared.specs
        self.loop = asyncio.get_running_loop()
        completed = list(completed)
        skipped = list(skipped)
        self.run: Run[str] = prepared.graph.run(completed=completed, skipped=skipped)
        left_out = set(skipped)
        restarted = set(restarted)
        # Tasks that run last, whatever happened (trigger rule finally); on an abort they still
        # run, within the grace period, once the attempts told to stop have ended.
        self.finals = {n for n, s in specs.items() if s.trigger_rule == TriggerRule.FINALLY}
        self.resumed = bool(completed or restarted)
        self.data = SharedState(
            shared_dict, results, settings.shared_dict_conflicts, self._depends_on
        )
        self.started = time.time()
        self.wake = asyncio.Event()
        self.running: dict[str, Running] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        queue: collections.deque[str] = collections.deque()
        grace = settings.finally_grace_period

        self.book = Book(job, run_id, specs)
        self.reporter = Reporter(job, run_id, settings.observers, self.book)
        self.abort = Abort(
            self.loop, self.run, self.finals, grace, self.running, self.timers, queue, self.wake
        )
        self.keeper = Keeper(
            job,
            run_id,
            self.started,
            settings.checkpoint,
            prepared,
            self.book,
            self.data,
            self.abort,
        )
        self.scheduler = Scheduler(
            self.run,
            specs,
            self.book.change,
            self.abort,
            settings.max_concurrency,
            settings.pools,
            self.running,
            queue,
            self.loop,
            self.wake,
        )
        self.attempts = Attempts(
            job,
            run_id,
            specs,
            prepared.classes,
            prepared.graph,
            self.run,
            settings.executor,
            self.finals,
            left_out,
            restarted,
            grace,
            self.book,
            self.reporter,
            self.keeper,
            self.data,
            self.abort,
            self.scheduler,
            self.wake,
        )
        # The two hand-ins that go the other way: the scheduler starts attempts, the abort
        # settles tasks and starts the finally ones.
        self.scheduler.start = self.attempts.start
        self.abort.settled = self.attempts.settled
        self.abort.dispatch = self.scheduler.dispatch
        self.request_abort = self.abort.request_abort  # Runner.abort() calls it

        for name in completed:
            self.book.change(name, S.COMPLETED, "completed in an earlier run")
        # Left out with nothing before them to wait for, and one_failed with nothing upstream
        # that could fail: settled at the start. Other left-out tasks settle as the run goes.
        states = self.book.states
        for name, st in self.run.states.items():
            if st is S.SKIPPED and states[name] is S.INIT:
                self.book.change(name, S.SKIPPED, self.attempts.skip_reason(name))

    def _depends_on(self, name: str) -> tuple[str, ...] | list[str]:
        spec = self.specs.get(name)
        return () if spec is None else list(spec.depends_on)

    async def start_executor(self, executor: Any) -> None:
        """``executor.start()``, given up on when the run is aborted meanwhile (a connection
        that hangs must not hold a Ctrl-C back).

        Raises:
            StartInterruptedError: aborted before the executor had started; nothing ran.
        """
        starting = asyncio.ensure_future(executor.start())
        aborted = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait({starting, aborted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            aborted.cancel()
        if not starting.done() or self.abort.aborts:
            starting.cancel()
            # Bounded: an executor slow to give up must not hold the interruption back.
            await asyncio.wait({starting}, timeout=2)
            if starting.done() and not starting.cancelled():
                starting.exception()  # retrieved: its failure no longer matters
            raise StartInterruptedError(self.abort.abort_signal)
        self.wake.clear()
        starting.result()

    async def main(self) -> RunResult:
        settings = self.settings
        abort, keeper, reporter, book = self.abort, self.keeper, self.reporter, self.book
        saved = install_signals(self.loop, abort.request_abort) if settings.handle_signals else {}
        executor = settings.executor
        try:
            await self.start_executor(executor)
            start = RunStart(self.job, self.run_id, tuple(self.specs), self.started, self.resumed)
            reporter.notify("on_run_start", start)
            # Saved before the first start: attempts record their completion early in what
            # this first save began (see CheckpointStore.completion_recorder).
            keeper.save()
            keeper.begin_recording()
            self.scheduler.dispatch()
            reporter.flush()
            while not self.run.is_finished:
                if abort.aborts and not abort.cleanup_started:
                    if all(n in self.finals for n in self.running):
                        abort.start_cleanup()
                        continue
                elif abort.aborts and not self.running and not self.timers:
                    self.attempts.settled([(n, S.ABORTED) for n in self.run.abort_all()])
                    break
                await self.wake.wait()
                self.wake.clear()
                reporter.flush()
                if keeper.dirty:
                    keeper.save()
        finally:
            if abort.cleanup_deadline is not None:
                abort.cleanup_deadline.cancel()
            if self.running or self.timers:  # we were cancelled ourselves: leave nothing behind
                abort.cleanup_over = True  # no finally tasks either: the caller wants out
                abort.request_abort()  # no retries, no dependents started from here on
                await asyncio.gather(
                    *(r.future for r in self.running.values()), return_exceptions=True
                )
            reporter.flush()
            restore_signals(self.loop, saved)
            with contextlib.suppress(Exception):
                await executor.close()
        result = RunResult(
            self.job,
            self.run_id,
            self.started,
            time.time(),
            dict(book.states),
            dict(book.attempts),
            dict(book.durations),
            dict(book.reasons),
            dict(self.data.values),
            aborted=abort.aborts > 0,
            results=dict(self.data.results),
            conflicts=tuple(self.data.conflicts),
        )
        keeper.save(finished=True)
        reporter.notify("on_run_end", result)
        return result
