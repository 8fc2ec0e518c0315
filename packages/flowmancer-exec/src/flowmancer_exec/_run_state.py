"""One run in progress: the scheduling, the state changes, the abort, the event loop's body.

Everything happens on one asyncio event loop in one thread. When an attempt ends, its result
goes to the dag run and whatever became ready is started in the same callback; only then are
observers told and, once the loop is idle, the checkpoint saved. No polling interval sits
anywhere between a task's end and its dependents' start.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flowmancer_dag import Run, TaskState

from ._columns import Column
from ._errors import StartInterruptedError
from ._interface import Attempt, AttemptResult, CompletionRecorder
from ._job import TaskSpec
from ._lifecycle import error_text
from ._records import LogRecord, RunResult, RunSnapshot, RunStart, StateChange
from ._signals import install_signals, restore_signals

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = ["RunState"]

S = TaskState


class _Running:
    """An attempt in progress: ``future`` holds its result when it has ended (an asyncio task
    for executors that only have ``run_attempt``); ``stop`` asks it to stop (a second call: at
    once)."""

    __slots__ = ("future", "stop")

    def __init__(self, future: asyncio.Future[AttemptResult], stop: Callable[[], object]) -> None:
        self.future = future
        self.stop = stop


class RunState:
    """Everything about one run in progress."""

    def __init__(
        self,
        runner: Runner,
        run_id: str,
        completed: Iterable[str],
        skipped: Iterable[str],
        restarted: Iterable[str],
        shared_dict: Mapping[str, Any] | None,
    ) -> None:
        self.runner = runner
        self.job = runner.job
        self.run_id = run_id
        self.specs = runner.prepared.specs
        self.loop = asyncio.get_running_loop()
        completed = list(completed)
        skipped = list(skipped)
        self.run: Run[str] = runner.prepared.graph.run(completed=completed, skipped=skipped)
        self.restarted = set(restarted)
        self.resumed = bool(completed or self.restarted)
        self.shared: dict[str, Any] = dict(shared_dict or {})
        self.started = time.time()
        self.states: dict[str, TaskState] = dict.fromkeys(self.specs, S.INIT)
        self.attempts: dict[str, int] = dict.fromkeys(self.specs, 0)
        # The same two as columns by task position, which snapshots copy cheaply (see Column).
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.specs)}
        self.state_column: Column[TaskState] = Column(len(self.index), S.INIT)
        self.attempt_column: Column[int] = Column(len(self.index), 0)
        self.reasons: dict[str, str] = {}
        self.first_start: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self.queue: collections.deque[str] = collections.deque()
        self.running: dict[str, _Running] = {}
        # The executor's callback-style entry point, when it has one (see Executor).
        self.start_attempt = getattr(runner.executor, "start_attempt", None)
        self.timed_out: set[str] = set()
        self.ran: set[str] = set()  # FAILED after run() had completed (see settle_attempt)
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.pool_use: dict[str, int] = dict.fromkeys(runner.pools, 0)
        self.pending_changes: list[StateChange] = []
        self.aborts = 0
        self.abort_signal: int | None = None  # what asked for the first abort, if a signal
        self.dirty = False
        self.unsaved: set[str] = set()
        self.unsaved_keys: set[str] = set()
        self.saved_once = False
        self.recorder: CompletionRecorder | None = None
        self.prepare_recorder: Callable[[str, int], CompletionRecorder] | None = None
        self.save_failing = False  # the last save failed (and said so)
        self.wake = asyncio.Event()
        self.failed_observers: set[int] = set()
        for name in completed:
            self.change(name, S.COMPLETED, "completed in an earlier run")
        for name in skipped:
            self.change(name, S.SKIPPED, "left out of this run")
        for name, st in self.run.states.items():  # one_failed nodes settled at the start
            if st is S.SKIPPED and self.states[name] is S.INIT:
                self.change(name, S.SKIPPED, "nothing upstream failed")

    # -- reporting ----------------------------------------------------------------------------

    def change(self, name: str, to: TaskState, reason: str | None = None) -> None:
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

    def notify(self, method: str, *args: Any) -> None:
        for observer in self.runner.observers:
            callback = getattr(observer, method, None)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception as error:
                if id(observer) not in self.failed_observers:  # once per observer
                    self.failed_observers.add(id(observer))
                    _tell(
                        f"flowmancer: observer {type(observer).__name__}.{method} failed: "
                        f"{error!r}; the run goes on"
                    )

    def flush(self) -> None:
        changes, self.pending_changes = self.pending_changes, []
        for change in changes:
            self.notify("on_state_change", change)

    def emit(self, record: LogRecord) -> None:
        if self.pending_changes:
            self.flush()
        self.notify("on_log", record)

    def note(self, name: str, level: str, message: str) -> None:
        self.emit(
            LogRecord(
                self.job,
                self.run_id,
                name,
                self.attempts[name],
                level,
                message,
                time.time(),
                "runner",
            )
        )

    def snapshot(self, finished: bool = False) -> RunSnapshot:
        return RunSnapshot(
            self.job,
            self.run_id,
            self.started,
            self.state_column.view(self.index),
            self.attempt_column.view(self.index),
            dict(self.reasons),
            dict(self.shared),
            finished,
            self.runner.prepared.fingerprints,
            self.aborts > 0,
            frozenset(self.unsaved) if self.saved_once else None,
            frozenset(self.unsaved_keys) if self.saved_once else None,
            frozenset(self.ran),
        )

    def completion_recorder(self) -> CompletionRecorder | None:
        store = self.runner.checkpoint
        make = getattr(store, "completion_recorder", None)
        if make is None:
            return None
        try:
            recorder: CompletionRecorder | None = make(self.snapshot())
        except Exception as error:
            _tell(f"flowmancer: the checkpoint store failed: {_reason(error)}")
            return None
        return recorder

    def recorder_for(self, name: str, number: int) -> CompletionRecorder | None:
        if self.prepare_recorder is None:
            return self.recorder
        try:
            return self.prepare_recorder(name, number)
        except Exception:  # it can still record, only not prepared
            return self.recorder

    def save(self, finished: bool = False) -> None:
        store = self.runner.checkpoint
        self.dirty = False
        if store is None:
            return
        snapshot = self.snapshot(finished)
        self.unsaved.clear()
        self.unsaved_keys.clear()
        self.saved_once = True
        try:
            store.save(snapshot)
        except Exception as error:
            # Once per run: a full disk fails every save after the first, and a line per
            # finish would bury what the user needs to know.
            if not self.save_failing:
                _tell(
                    f"flowmancer: the checkpoint could not be saved: {_reason(error)}; it "
                    "keeps the last state saved before, so a resume (-r) runs again what "
                    "finished since (the run goes on; further failures to save are not reported)"
                )
            self.save_failing = True
        else:
            if self.save_failing:
                _tell("flowmancer: the checkpoint is saved again")
            self.save_failing = False

    # -- scheduling ---------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Queue what became ready and start what the limits allow."""
        for name in self.run.ready():
            self.queue.append(name)
            self.change(name, S.PENDING)
        if self.aborts:
            return
        limit = self.runner.max_concurrency
        blocked: list[str] = []
        while self.queue and not (limit and len(self.running) >= limit):
            name = self.queue.popleft()
            pool = self.specs[name].pool
            if pool is not None and self.pool_use[pool] >= self.runner.pools[pool]:
                blocked.append(name)
                continue
            self.start(name)
        self.queue.extendleft(reversed(blocked))

    def start(self, name: str) -> None:
        spec = self.specs[name]
        if self.attempts[name] == 0:
            self.run.start(name)
            self.first_start[name] = time.time()
        self.attempts[name] += 1
        number = self.attempts[name]
        self.attempt_column[self.index[name]] = number
        if spec.pool is not None:
            self.pool_use[spec.pool] += 1
        self.change(name, S.RUNNING)
        attempt = Attempt(
            self.job,
            self.run_id,
            name,
            self.runner.prepared.classes[name],
            # As the job gave them: the task converts them itself, and leaves defaults alone.
            spec.parameters,
            tuple(spec.depends_on),
            number,
            number == 1 and name in self.restarted,
            dict(self.shared),
            self.recorder_for(name, number),
        )
        if self.start_attempt is None:
            task = self.loop.create_task(self.runner.executor.run_attempt(attempt, self.emit))
            self.running[name] = _Running(task, task.cancel)
            task.add_done_callback(lambda t: self.attempt_ended(name, t))
        else:
            future: asyncio.Future[AttemptResult] = self.loop.create_future()

            def done(result: AttemptResult) -> None:
                future.set_result(result)
                self.attempt_ended(name, future)

            try:
                stop = self.start_attempt(attempt, self.emit, done)
            except Exception as error:  # settled like an executor failing in run_attempt
                future.set_exception(error)
                self.loop.call_soon(self.attempt_ended, name, future)
                stop = _nothing
            self.running[name] = _Running(future, stop)
        if spec.timeout:
            self.timers[name] = self.loop.call_later(spec.timeout, self.time_out, name)

    def time_out(self, name: str) -> None:
        self.timers.pop(name, None)
        running = self.running.get(name)
        if running is not None and not running.future.done():
            self.timed_out.add(name)
            running.stop()

    def attempt_ended(self, name: str, task: asyncio.Future[AttemptResult]) -> None:
        try:
            self.settle_attempt(name, task)
        except Exception as error:  # a bug of ours must fail the task, not hang the run
            if not self.states[name].is_finished and self.run.states[name] in (
                S.PENDING,
                S.RUNNING,
            ):
                self.finish(name, False, f"the runner failed: {error!r}")
            self.dispatch()
        self.dirty = True
        self.wake.set()

    def settle_attempt(self, name: str, task: asyncio.Future[AttemptResult]) -> None:
        self.running.pop(name, None)
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        spec = self.specs[name]
        if spec.pool is not None:
            self.pool_use[spec.pool] -= 1
        try:
            result = task.result()
        except BaseException as error:  # an executor bug, or cancelled before it started
            result = AttemptResult(False, f"the executor failed: {error!r}", (), task.cancelled())
        self.merge(result)
        timed_out = name in self.timed_out
        self.timed_out.discard(name)
        retry_note = None
        if result.ok and timed_out:
            # The timeout came once run() had returned (a stop then waits for the remaining
            # hooks, see Shield): the attempt overran it and fails, but run()'s work is done and
            # recorded, so it is not retried, and a resume does not run it again.
            self.ran.add(name)
            self.finish(
                name,
                False,
                f"timed out after {spec.timeout:g} s in a hook after run() had completed "
                "(a resume keeps what run() did)",
            )
        elif result.ok:
            self.finish(name, True, None)
        elif self.aborts and result.stopped and not timed_out:
            # Not run.abort(): that would DEFAULT its dependents, which were not let down by a
            # failure but stopped with the run; abort_all() marks them ABORTED at the end.
            self.ended(name)
            self.change(name, S.ABORTED, "the run was aborted")
        else:
            reason = (
                f"timed out after {spec.timeout:g} s" if timed_out else (result.reason or "failed")
            )
            if self.should_retry(spec, result, timed_out):
                retry_note = self.retry(name, spec, reason)
            else:
                self.finish(name, False, reason)
        self.dispatch()
        if retry_note is not None:  # observers hear of it after what was ready has started
            self.note(name, "WARNING", retry_note)

    def merge(self, result: AttemptResult) -> None:
        self.shared.update(result.updates)
        self.unsaved_keys.update(result.updates)
        for key in result.deleted:
            self.shared.pop(key, None)
            self.unsaved_keys.add(key)

    def should_retry(self, spec: TaskSpec, result: AttemptResult, timed_out: bool) -> bool:
        if self.aborts or self.attempts[spec.name] >= spec.max_attempts:
            return False
        if spec.retry_on and result.error_types and not timed_out:
            return bool(set(spec.retry_on) & set(result.error_types))
        return True

    def retry(self, name: str, spec: TaskSpec, reason: str) -> str:
        number = self.attempts[name]
        try:
            delay = spec.backoff * spec.backoff_factor ** (number - 1)
        except OverflowError:  # a thousand doublings: only the cap can still apply
            delay = math.inf
        if spec.max_backoff is not None:
            delay = min(delay, spec.max_backoff)
        if math.isinf(delay):
            delay = 365 * 24 * 3600.0
        if spec.jitter and delay > 0:
            delay = random.uniform(delay / 2, delay)
        self.change(
            name,
            S.PENDING,
            f"attempt {number} of {spec.max_attempts} failed ({reason}); next in {delay:.3g} s",
        )
        if delay > 0:
            self.timers[name] = self.loop.call_later(delay, self.requeue, name)
        else:
            self.queue.append(name)
        return f"attempt {number} failed: {reason}; retrying in {delay:.3g} s"

    def requeue(self, name: str) -> None:
        self.timers.pop(name, None)
        if not self.aborts:
            self.queue.append(name)
            self.dispatch()

    def ended(self, name: str) -> None:
        self.durations[name] = time.time() - self.first_start[name]

    def finish(self, name: str, ok: bool, reason: str | None) -> None:
        self.ended(name)
        self.change(name, S.COMPLETED if ok else S.FAILED, reason)
        self.settled(self.run.finish(name, ok))

    def settled(self, nodes: list[tuple[str, TaskState]]) -> None:
        for node, st in nodes:
            if st is S.DEFAULTED:
                upstream = [
                    d
                    for d in self.specs[node].depends_on
                    if not self.states[d].satisfies_dependents
                ]
                self.change(node, st, f"upstream did not complete: {', '.join(upstream)}")
            else:
                self.change(node, st, "nothing upstream failed")

    # -- abort --------------------------------------------------------------------------------

    def request_abort(self, signum: int | None = None) -> None:
        if self.aborts == 0:
            self.abort_signal = signum
        self.aborts += 1
        if self.aborts == 1:
            for name, timer in list(self.timers.items()):
                timer.cancel()
                if name not in self.running:  # waiting to retry: nothing to stop
                    self.timers.pop(name)
        for running in list(self.running.values()):
            running.stop()  # first: graceful (on_abort, grace period); second: at once
        self.wake.set()

    # -- the loop -----------------------------------------------------------------------------

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
        if not starting.done() or self.aborts:
            starting.cancel()
            # Bounded: an executor slow to give up must not hold the interruption back.
            await asyncio.wait({starting}, timeout=2)
            if starting.done() and not starting.cancelled():
                starting.exception()  # retrieved: its failure no longer matters
            raise StartInterruptedError(self.abort_signal)
        self.wake.clear()
        starting.result()

    async def main(self) -> RunResult:
        saved = install_signals(self.loop, self.request_abort) if self.runner.handle_signals else {}
        executor = self.runner.executor
        try:
            await self.start_executor(executor)
            start = RunStart(self.job, self.run_id, tuple(self.specs), self.started, self.resumed)
            self.notify("on_run_start", start)
            # Saved before the first start: attempts record their completion early in what
            # this first save began (see CheckpointStore.completion_recorder).
            self.save()
            self.recorder = self.completion_recorder()
            self.prepare_recorder = getattr(self.recorder, "prepare", None)
            self.dispatch()
            self.flush()
            while not self.run.is_finished:
                if self.aborts and not self.running:
                    for name in self.run.abort_all():
                        if self.states[name] is not S.ABORTED:
                            self.change(name, S.ABORTED, "the run was aborted before it started")
                    break
                await self.wake.wait()
                self.wake.clear()
                self.flush()
                if self.dirty:
                    self.save()
        finally:
            if self.running or self.timers:  # we were cancelled ourselves: leave nothing behind
                self.request_abort()  # no retries, no dependents started from here on
                await asyncio.gather(
                    *(r.future for r in self.running.values()), return_exceptions=True
                )
            self.flush()
            restore_signals(self.loop, saved)
            with contextlib.suppress(Exception):
                await executor.close()
        result = RunResult(
            self.job,
            self.run_id,
            self.started,
            time.time(),
            dict(self.states),
            dict(self.attempts),
            dict(self.durations),
            dict(self.reasons),
            dict(self.shared),
            aborted=self.aborts > 0,
        )
        self.save(finished=True)
        self.notify("on_run_end", result)
        return result


def _reason(error: BaseException) -> str:
    """What went wrong, in words: the error's text, or its kind when it has none (MemoryError)."""
    return error_text(error) or type(error).__name__


def _tell(text: str) -> None:
    """A line of the runner's own on standard error; one that cannot be written (a closed pipe,
    a hung-up terminal) is lost, never the run."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.__stderr__, flush=True)


def _nothing() -> None:
    """Stopping an attempt that could not start."""
