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
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowmancer_dag import Run, TaskState, TriggerRule

from ._columns import Column
from ._errors import StartInterruptedError
from ._interface import Attempt, AttemptResult, CompletionRecorder
from ._job import TaskSpec
from ._lifecycle import error_text
from ._records import (
    LogRecord,
    RunResult,
    RunSnapshot,
    RunStart,
    SharedDictConflict,
    StateChange,
    UpstreamState,
)
from ._shared import SharedState, refusal, warning
from ._signals import install_signals, restore_signals

if TYPE_CHECKING:
    from ._runner import Runner

__all__ = ["RunState"]

S = TaskState
_NOT_SUCCEEDED = (S.FAILED, S.DEFAULTED, S.ABORTED)


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
        results: Mapping[str, Any] | None = None,
    ) -> None:
        self.runner = runner
        self.job = runner.job
        self.run_id = run_id
        self.specs = runner.prepared.specs
        self.loop = asyncio.get_running_loop()
        completed = list(completed)
        skipped = list(skipped)
        self.run: Run[str] = runner.prepared.graph.run(completed=completed, skipped=skipped)
        self.left_out = set(skipped)
        self.restarted = set(restarted)
        # Tasks that run last, whatever happened (trigger rule finally); on an abort they still
        # run, within the grace period, once the attempts told to stop have ended.
        self.finals = {n for n, s in self.specs.items() if s.trigger_rule == TriggerRule.FINALLY}
        self.cleanup_started = False  # aborted, and the finally tasks were let go
        self.cleanup_over = False  # ... and may start no more (grace period over, 2nd signal)
        self.cleanup_deadline: asyncio.TimerHandle | None = None
        self.told_to_stop: set[str] = set()
        self.upstream_names: dict[str, list[str]] = {}
        self.resumed = bool(completed or self.restarted)
        self.data = SharedState(
            shared_dict, results, runner.shared_dict_conflicts, self._depends_on
        )
        self.shared: dict[str, Any] = self.data.values
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
        # Left out with nothing before them to wait for, and one_failed with nothing upstream
        # that could fail: settled at the start. Other left-out tasks settle as the run goes.
        for name, st in self.run.states.items():
            if st is S.SKIPPED and self.states[name] is S.INIT:
                self.change(name, S.SKIPPED, self.skip_reason(name))

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
        data = self.data
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
            # Copies, like shared_dict's; most runs have none of these.
            dict(data.results) if data.results else _NONE,
            dict(data.writer) if data.writer else _NONE,
            dict(data.unrestorable) if data.unrestorable else _NONE,
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
        if self.aborts and not (self.cleanup_started and not self.cleanup_over):
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

    def _depends_on(self, name: str) -> tuple[str, ...] | list[str]:
        spec = self.specs.get(name)
        return () if spec is None else list(spec.depends_on)

    def start(self, name: str) -> None:
        spec = self.specs[name]
        first = self.attempts[name] == 0
        if first:
            self.run.start(name)
            self.first_start[name] = time.time()
        data = self.data
        data.started[name] = data.seq
        results = data.begin(name, first) if data.results else data.results
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
            self.upstream_states(name),
            results,
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

    def upstream_states(self, name: str) -> dict[str, UpstreamState]:
        """What ``Task.upstream_states`` holds: for a task that may run after a failure, how
        each task upstream stood (a finally task: every other task); empty for the others,
        which only run when everything upstream succeeded."""
        rule = self.specs[name].trigger_rule
        if rule == TriggerRule.ALL_SUCCESS:
            return {}
        names = self.upstream_names.get(name)
        if names is None:
            if rule == TriggerRule.FINALLY:
                names = [n for n in self.specs if n != name]
            else:
                names = self.runner.prepared.graph.ancestors(name)
            self.upstream_names[name] = names
        states, reasons = self.states, self.reasons
        return {n: UpstreamState(states[n], reasons.get(n)) for n in names}

    def time_out(self, name: str) -> None:
        self.timers.pop(name, None)
        running = self.running.get(name)
        if running is not None and not running.future.done():
            self.timed_out.add(name)
            self.told_to_stop.add(name)
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
        self.told_to_stop.discard(name)
        timer = self.timers.pop(name, None)
        # Due but not yet fired: the loop was busy (starting many attempts on a loaded machine)
        # while the attempt overran and ended, and asyncio hands out what was read before the
        # timers that are due. It timed out all the same, as it would have on a quiet machine.
        late = timer is not None and timer.when() <= self.loop.time()
        if timer is not None:
            timer.cancel()
        spec = self.specs[name]
        if spec.pool is not None:
            self.pool_use[spec.pool] -= 1
        try:
            result = task.result()
        except BaseException as error:  # an executor bug, or cancelled before it started
            result = AttemptResult(False, f"the executor failed: {error!r}", (), task.cancelled())
        clashes = self.merge(name, result)
        if clashes and self.data.error:
            result = self.conflict_failure(name, result, clashes)
        timed_out = name in self.timed_out or late
        self.timed_out.discard(name)
        if result.ok and timed_out:
            # The timeout came once run() had returned (a stop then waits for the remaining
            # hooks, see Shield), or was due, never fired, when the attempt ended: the attempt
            # overran it and fails, but run()'s work is done and recorded, so it is not retried,
            # and a resume does not run it again.
            self.ran.add(name)
            where = (
                "(seen once the attempt had ended; "
                if late
                else "in a hook after run() had completed ("
            )
            keeps = "a resume keeps what run() did"
            self.finish(name, False, f"timed out after {spec.timeout:g} s {where}{keeps})")
        elif result.ok:
            self.finish(name, True, None)
        elif self.aborts and result.stopped and not timed_out:
            # Not run.abort(): that would DEFAULT its dependents, which were not let down by a
            # failure but stopped with the run; abort_all() marks them ABORTED at the end.
            self.ended(name)
            why = "the run was aborted"
            if name in self.finals and self.cleanup_over and self.aborts == 1:
                grace = self.runner.finally_grace_period
                why += f" and its finally tasks' grace period ({grace:g} s) ran out"
            self.change(name, S.ABORTED, why)
        else:
            reason = (
                f"timed out after {spec.timeout:g} s" if timed_out else (result.reason or "failed")
            )
            if self.should_retry(spec, result, timed_out):
                self.retry(name, spec, reason)
            else:
                self.finish(name, False, reason)
        self.dispatch()

    def merge(self, name: str, result: AttemptResult) -> list[SharedDictConflict]:
        if not (result.updates or result.deleted or result.unsaved or result.value is not None):
            return _NO_CLASHES  # most attempts: nothing to merge
        clashes = self.data.merge(name, result)
        if result.updates or result.deleted:
            self.unsaved_keys.update(self.data.changed_keys(result, clashes))
        if clashes and not self.data.error:
            for clash in clashes:
                self.note(name, "WARNING", warning(clash))
        return clashes

    def conflict_failure(
        self, name: str, result: AttemptResult, clashes: list[SharedDictConflict]
    ) -> AttemptResult:
        if result.ok and self.recorder is not None:
            # Its completion may be recorded early, where it ran: take that back.
            with contextlib.suppress(Exception):
                self.recorder.revoked(name, self.attempts[name])
        return refusal(result, clashes)

    def should_retry(self, spec: TaskSpec, result: AttemptResult, timed_out: bool) -> bool:
        if self.attempts[spec.name] >= spec.max_attempts:
            return False
        if self.aborts and not (spec.name in self.finals and not self.cleanup_over):
            return False
        if spec.retry_on and result.error_types and not timed_out:
            return bool(set(spec.retry_on) & set(result.error_types))
        return True

    def retry(self, name: str, spec: TaskSpec, reason: str) -> None:
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
        # Said while the attempt is still RUNNING: a line belongs to the attempt it is about
        # (0.12 loggers close a task's log when its attempt ends).
        self.note(name, "WARNING", f"attempt {number} failed: {reason}; retrying in {delay:.3g} s")
        self.change(
            name,
            S.PENDING,
            f"attempt {number} of {spec.max_attempts} failed ({reason}); next in {delay:.3g} s",
        )
        if delay > 0:
            self.timers[name] = self.loop.call_later(delay, self.requeue, name)
        else:
            self.queue.append(name)

    def requeue(self, name: str) -> None:
        self.timers.pop(name, None)
        if not self.aborts or (name in self.finals and not self.cleanup_over):
            self.queue.append(name)
            self.dispatch()

    def ended(self, name: str) -> None:
        self.durations[name] = time.time() - self.first_start[name]

    def finish(self, name: str, ok: bool, reason: str | None) -> None:
        self.ended(name)
        self.change(name, S.COMPLETED if ok else S.FAILED, reason)
        self.settled(self.run.finish(name, ok))

    def settled(self, nodes: list[tuple[str, TaskState]]) -> None:
        states = self.run.states
        for node, st in nodes:
            if st is S.DEFAULTED:
                # Only what let it down: others upstream may still be running, or not started.
                upstream = [d for d in self.specs[node].depends_on if states[d] in _NOT_SUCCEEDED]
                self.change(node, st, f"upstream did not complete: {', '.join(upstream)}")
            elif st is S.ABORTED:
                if self.states[node] is not S.ABORTED:  # not already said by its attempt
                    why = "settled (it was left out)" if node in self.left_out else "started"
                    self.change(node, st, f"the run was aborted before it {why}")
            else:
                self.change(node, st, self.skip_reason(node))

    def skip_reason(self, name: str) -> str:
        return "left out of this run" if name in self.left_out else "nothing upstream failed"

    # -- abort --------------------------------------------------------------------------------

    def request_abort(self, signum: int | None = None) -> None:
        """An abort from any source (a signal, ``Runner.abort()``): the first stops what runs,
        gracefully, then lets the finally tasks run; the second stops everything at once.
        ``signum``: the signal that asked for it (the first one is kept)."""
        if self.aborts == 0:
            self.abort_signal = signum
        self.aborts += 1
        if self.aborts > 1:
            self.cleanup_over = True
        spare = () if self.cleanup_over else self.finals  # cleanup goes on, under its deadline
        for name, timer in list(self.timers.items()):
            if name in spare:
                continue
            timer.cancel()
            if name not in self.running:  # waiting to retry: nothing to stop
                self.timers.pop(name)
        for name, running in list(self.running.items()):
            if name in spare:
                continue
            if name in self.finals and name not in self.told_to_stop and self.aborts > 1:
                running.stop()  # never told before: this first call alone would be graceful
            self.told_to_stop.add(name)
            running.stop()  # first: graceful (on_abort, grace period); second: at once
        self.wake.set()

    def start_cleanup(self) -> None:
        """Aborted, and every attempt told to stop has ended: the rest is ABORTED, and the
        finally tasks run, within the grace period."""
        self.cleanup_started = True
        if self.cleanup_over or all(self.run.states[n].is_finished for n in self.finals):
            return
        self.settled(self.run.abort_all_but_finally())
        self.queue = collections.deque(n for n in self.queue if n in self.finals)
        self.cleanup_deadline = self.loop.call_later(
            self.runner.finally_grace_period, self.end_cleanup
        )
        self.dispatch()

    def end_cleanup(self) -> None:
        """The finally tasks' grace period after an abort ran out: stop them."""
        self.cleanup_deadline = None
        self.cleanup_over = True
        for name, timer in list(self.timers.items()):
            timer.cancel()
            if name not in self.running:
                self.timers.pop(name)
        for name, running in list(self.running.items()):
            self.told_to_stop.add(name)
            running.stop()
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
                if self.aborts and not self.cleanup_started:
                    if all(n in self.finals for n in self.running):
                        self.start_cleanup()
                        continue
                elif self.aborts and not self.running and not self.timers:
                    self.settled([(n, S.ABORTED) for n in self.run.abort_all()])
                    break
                await self.wake.wait()
                self.wake.clear()
                self.flush()
                if self.dirty:
                    self.save()
        finally:
            if self.cleanup_deadline is not None:
                self.cleanup_deadline.cancel()
            if self.running or self.timers:  # we were cancelled ourselves: leave nothing behind
                self.cleanup_over = True  # no finally tasks either: the caller wants out
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
            results=dict(self.data.results),
            conflicts=tuple(self.data.conflicts),
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


_NO_CLASHES: list[SharedDictConflict] = []  # never changed
_NONE: Mapping[str, Any] = MappingProxyType({})
