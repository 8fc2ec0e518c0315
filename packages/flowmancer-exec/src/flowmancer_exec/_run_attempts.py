"""Attempts: each one started (with what its task may see), timed out, and settled when it ends,
as a finish, a retry after its backoff, or (aborted) a stop; what it wrote to ``shared_dict``
and its result merged into the run's.

A task's attempt ends in a callback of the event loop; the result goes to the dag run, and what
became ready is started in that same callback (``dispatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Collection, Mapping

from flowmancer_dag import Graph, Run, TaskState, TriggerRule

from ._interface import Attempt, AttemptResult, Executor
from ._job import TaskSpec
from ._records import SharedDictConflict, UpstreamState
from ._run_abort import Abort
from ._run_book import Book
from ._run_keep import Keeper
from ._run_report import Reporter
from ._run_running import Running, nothing
from ._run_schedule import Scheduler
from ._shared import SharedState, refusal, warning
from ._task import Task

__all__ = ["Attempts"]

S = TaskState
_NOT_SUCCEEDED = (S.FAILED, S.DEFAULTED, S.ABORTED)


class Attempts:
    """The attempts of one run: ``running`` (by task), ``timers`` (a timeout, or a retry's
    backoff, by task)."""

    def __init__(
        self,
        job: str,
        run_id: str,
        specs: Mapping[str, TaskSpec],
        classes: Mapping[str, type[Task]],
        graph: Graph[str],
        run: Run[str],
        executor: Executor,
        finals: Collection[str],
        left_out: Collection[str],
        restarted: Collection[str],
        grace: float,
        book: Book,
        reporter: Reporter,
        keeper: Keeper,
        data: SharedState,
        abort: Abort,
        scheduler: Scheduler,
        wake: asyncio.Event,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.specs = specs
        self.classes = classes
        self.graph = graph
        self.run = run
        self.executor = executor
        self.finals = finals
        self.left_out = left_out
        self.restarted = restarted
        self.grace = grace
        self.book = book
        self.keeper = keeper
        self.data = data
        self.abort = abort
        self.wake = wake
        self.loop = asyncio.get_running_loop()
        # Bound once: these run for every attempt.
        self.states = book.states
        self.attempts = book.attempts
        self.reasons = book.reasons
        self.first_start = book.first_start
        self.index = book.index
        self.attempt_column = book.attempt_column
        self.change = book.change
        self.ended = book.ended
        self.emit = reporter.emit
        self.note = reporter.note
        self.dispatch = scheduler.dispatch
        self.free = scheduler.free
        self.queue = scheduler.queue
        self.running: dict[str, Running] = abort.running
        self.timers: dict[str, asyncio.TimerHandle] = abort.timers
        self.told_to_stop = abort.told_to_stop
        self.ran = keeper.ran
        self.recorder_for = keeper.recorder_for
        self.upstream_names: dict[str, list[str]] = {}
        self.timed_out: set[str] = set()
        # The executor's callback-style entry point, when it has one (see Executor).
        self.start_attempt: Callable[..., Callable[[], object]] | None = getattr(
            executor, "start_attempt", None
        )

    def start(self, name: str) -> None:
        """``name``'s next attempt (the scheduler has counted it in its pool)."""
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
        self.change(name, S.RUNNING)
        attempt = Attempt(
            self.job,
            self.run_id,
            name,
            self.classes[name],
            # As the job gave them: the task converts them itself, and leaves defaults alone.
            spec.parameters,
            tuple(spec.depends_on),
            number,
            number == 1 and name in self.restarted,
            dict(data.values),
            self.recorder_for(name, number),
            self.upstream_states(name),
            results,
        )
        if self.start_attempt is None:
            task = self.loop.create_task(self.executor.run_attempt(attempt, self.emit))
            self.running[name] = Running(task, task.cancel)
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
                stop = nothing
            self.running[name] = Running(future, stop)
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
                names = self.graph.ancestors(name)
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
        self.keeper.dirty = True
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
            self.free(spec.pool)
        try:
            result = task.result()
        except BaseException as error:  # an executor bug, or cancelled before it started
            result = AttemptResult(False, f"the executor failed: {error!r}", (), task.cancelled())
        clashes = self.merge(name, result)
        if clashes and self.data.error:
            result = self.conflict_failure(name, result, clashes)
        timed_out = name in self.timed_out or late
        self.timed_out.discard(name)
        abort = self.abort
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
        elif abort.aborts and result.stopped and not timed_out:
            # Not run.abort(): that would DEFAULT its dependents, which were not let down by a
            # failure but stopped with the run; abort_all() marks them ABORTED at the end.
            self.ended(name)
            why = "the run was aborted"
            if name in self.finals and abort.cleanup_over and abort.aborts == 1:
                why += f" and its finally tasks' grace period ({self.grace:g} s) ran out"
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
            self.keeper.unsaved_keys.update(self.data.changed_keys(result, clashes))
        if clashes and not self.data.error:
            for clash in clashes:
                self.note(name, "WARNING", warning(clash))
        return clashes

    def conflict_failure(
        self, name: str, result: AttemptResult, clashes: list[SharedDictConflict]
    ) -> AttemptResult:
        recorder = self.keeper.recorder
        if result.ok and recorder is not None:
            # Its completion may be recorded early, where it ran: take that back.
            with contextlib.suppress(Exception):
                recorder.revoked(name, self.attempts[name])
        return refusal(result, clashes)

    def should_retry(self, spec: TaskSpec, result: AttemptResult, timed_out: bool) -> bool:
        if self.attempts[spec.name] >= spec.max_attempts:
            return False
        abort = self.abort
        if abort.aborts and not (spec.name in self.finals and not abort.cleanup_over):
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
            import random  # only a retry with jitter needs it

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
        abort = self.abort
        if not abort.aborts or (name in self.finals and not abort.cleanup_over):
            self.queue.append(name)
            self.dispatch()

    def finish(self, name: str, ok: bool, reason: str | None) -> None:
        self.ended(name)
        self.change(name, S.COMPLETED if ok else S.FAILED, reason)
        self.settled(self.run.finish(name, ok))

    def settled(self, nodes: list[tuple[str, TaskState]]) -> None:
        """Tasks the dag run settled without running them (DEFAULTED, SKIPPED, ABORTED), each
        with its reason."""
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


_NO_CLASHES: list[SharedDictConflict] = []  # never changed
