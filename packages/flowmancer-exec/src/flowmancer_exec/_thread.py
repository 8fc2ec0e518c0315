"""``ThreadExecutor``: attempts on threads of the runner's own process, for light I/O-bound work.

``print`` and ``self.logger`` are still attributed to the right task: while the executor runs,
``sys.stdout`` and ``sys.stderr`` are routed by thread. Output written straight to file
descriptors 1 and 2 (C extensions, child processes) and from threads a task starts itself is not
attributed (under ``--log-format json`` the driver still turns it into JSON lines); use the
process executor for such tasks.

A thread shares the runner's process: at the end of each attempt the child processes it started
are ended (SIGTERM, the grace period, SIGKILL) and process-wide limits it lowered are put back;
see ``_children``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from ._awaiting import Awaiter
from ._channel import LineWriter
from ._children import Limits, end_children, has_children
from ._interface import Attempt, AttemptResult, Emit
from ._lifecycle import (
    EarlyRecord,
    Outcome,
    Shield,
    StopRequested,
    describe_error,
    error_text,
    run_lifecycle,
    shared_changes,
    shared_fingerprints,
)
from ._started import run_started
from ._task import TaskLogger, TaskMetadata
from ._thread_raise import raise_in

__all__ = ["ThreadExecutor"]


class _Router:
    """Stands in for sys.stdout/sys.stderr: a thread running an attempt writes to that
    attempt's stream; every other thread writes where the stream went before."""

    def __init__(self, original: TextIO, local: threading.local, name: str) -> None:
        self._original = original
        self._local = local
        self._name = name

    def _target(self) -> Any:
        return getattr(self._local, self._name, None) or self._original

    def write(self, text: str) -> int:
        return int(self._target().write(text))

    def writelines(self, lines: Iterable[str]) -> None:
        target = self._target()
        for line in lines:
            target.write(line)

    @property
    def buffer(self) -> Any:
        """The routed stream's binary side, so bytes reach the task's log too."""
        return self._target().buffer

    def flush(self) -> None:
        self._target().flush()

    def close(self) -> None:
        """A task closing sys.stdout closes its own stream (which sends its last partial
        line), never the runner's: that would silence the driver for the rest of the run."""
        own = getattr(self._local, self._name, None)
        (own or self._original).close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def _no_body() -> None:
    """A job's body before it is given one, and after it ran."""


class _Job:
    """One attempt handed to a worker thread; the lock orders "stop it" against "it ended"."""

    __slots__ = (
        "awaiter",
        "body",
        "cancelled",
        "ended",
        "lock",
        "result",
        "shield",
        "stop_sent",
        "thread",
    )

    def __init__(self) -> None:
        self.body: Callable[[], None] = _no_body
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.ended = False
        self.stop_sent = False
        self.cancelled = False
        self.result: AttemptResult | None = None
        self.shield = Shield()  # up once run() has returned: a stop then waits for the hooks
        # The worker thread's event loop for async hooks, once the attempt is on a thread.
        self.awaiter: Awaiter | None = None

    def stop(self) -> str:
        """Stop the attempt: "cancelled" (it never started), "ended" (too late) or "signalled"."""
        with self.lock:
            if self.ended:
                return "ended"
            if self.thread is None:
                self.cancelled = True
                return "cancelled"
            self.stop_sent = True
            if not self.shield.up:
                raise_in(self.thread, StopRequested)
                if self.awaiter is not None:
                    # An async hook's thread waits in the loop's selector, in C code, where
                    # the exception is not seen until the loop wakes up.
                    self.awaiter.wake()
            return "signalled"


class _Workers:
    """Threads that stay for the whole run: starting a thread per attempt costs more than a
    no-op task. The runner enforces concurrency, so a job always finds an idle thread or a new
    one is made.

    Measured (2026-12-08, Python 3.11, 2 cores, loaded: load average 8-11; 5000 hand-offs, 3
    runs): a new thread started and seen to run, 278 us median (157-313); the same job handed to
    a waiting thread through a SimpleQueue, 17 us (17-24). The thread chain's whole attempt
    costs about 100 us (``hatch run bench:exec``)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.idle = 0
        self.threads: list[threading.Thread] = []
        self.tids: set[int] = set()  # of every worker thread there has been

    def submit(self, job: _Job) -> None:
        with self.lock:
            if self.idle:
                self.idle -= 1
            else:
                thread = threading.Thread(target=self._work, name="flowmancer-task", daemon=True)
                self.threads.append(thread)
                thread.start()
        self.jobs.put(job)

    def _work(self) -> None:
        me = threading.current_thread()
        awaiter = Awaiter(keep=True)  # this thread's loop for async hooks, made when needed
        self.tids.add(threading.get_native_id())
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                with job.lock:
                    skip = job.cancelled
                    job.thread = me
                    job.ended = skip
                    job.awaiter = awaiter
                if skip:  # stopped before any thread took it
                    job.body = _no_body
                    with self.lock:
                        self.idle += 1
                    continue
                try:
                    job.body()
                finally:
                    with job.lock:
                        job.ended = True
                        stopped = job.stop_sent
                    # The body holds the job: a cycle that only the collector would free, and
                    # with it the attempt, its closures and its result.
                    job.body = _no_body
                if stopped:
                    # The stop may still be pending for this thread and would land in the next
                    # attempt; a fresh thread takes over instead.
                    return
                with self.lock:
                    self.idle += 1
        except StopRequested:  # a stop that arrived after its attempt had ended
            return
        finally:
            awaiter.keep = False
            awaiter.close()

    def close(self, wait: float) -> None:
        # Threads retired after a stop are gone already: a sentinel left in the queue for one
        # of them would end the first worker of the next run.
        self.threads = [t for t in self.threads if t.is_alive()]
        for _ in self.threads:
            self.jobs.put(None)
        # Joined, not just told to go: a process that forks later (the process executor, a
        # task's subprocess) should not carry idle threads of ours along.
        deadline = time.monotonic() + wait
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.threads = [t for t in self.threads if t.is_alive()]
        self.idle = 0


class ThreadExecutor:
    """Run each attempt on a thread of the runner's process.

    Args:
        grace_period: seconds an attempt told to stop has to finish ``on_abort``. A thread
            cannot be killed: one that does not stop in time (blocked in C code) is left
            running as a daemon and its attempt ends as stopped.
    """

    name = "thread"

    def __init__(self, grace_period: float = 5.0) -> None:
        self.grace_period = grace_period
        self._local = threading.local()
        self._saved: tuple[TextIO, TextIO] | None = None
        self._workers = _Workers()
        self._limits: Limits | None = None

    async def start(self) -> None:
        """Route sys.stdout and sys.stderr by thread; note the process's limits."""
        self._limits = Limits()
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Router(sys.stdout, self._local, "stdout")
        sys.stderr = _Router(sys.stderr, self._local, "stderr")

    async def close(self) -> None:
        """End what attempts left running (see ``_left_behind``), let the worker threads go, put
        sys.stdout and sys.stderr back."""
        if has_children():  # of attempts whose threads were given up on, at the latest now
            end_children(self._workers.tids, self.grace_period)
        self._workers.close(self.grace_period)
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None

    def _left_behind(self, warn: Callable[[str, float], object]) -> None:
        """At the end of an attempt, on its thread: put back process-wide limits it lowered, and
        end the child processes it started (SIGTERM, the grace period, SIGKILL), as the process
        executor ends an attempt's process group. A child left running would hold the runner's
        output pipes open (``python main.py | cat`` would wait for it) and outlive the run."""
        lowered = self._limits.restore() if self._limits is not None else []
        if lowered:
            warn(
                f"the task lowered {', '.join(lowered)} for the whole process, the runner's "
                "too (on the thread executor); put back (use the process executor for limits of "
                "a task's own)",
                time.time(),
            )
        if has_children():
            ended = end_children([threading.get_native_id()], self.grace_period)
            if ended:
                warn(
                    f"ended {len(ended)} process(es) the attempt started and left running "
                    f"(pid {', '.join(map(str, ended))})",
                    time.time(),
                )

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        """Run the lifecycle on a worker thread; stop it with an exception when cancelled."""
        return await run_started(self.start_attempt, attempt, emit)

    def start_attempt(
        self, attempt: Attempt, emit: Emit, done: Callable[[AttemptResult], object]
    ) -> Callable[[], None]:
        """Start the lifecycle on a worker thread; ``done(result)`` is called on the loop's
        thread when it has ended. Returns ``stop``: the first call raises ``StopRequested`` in
        the thread and waits the grace period for it, a second gives up waiting at once.

        The runner's fast path: no task and no future of the loop's per attempt, and the
        result reaches the runner in the loop iteration that reads it.
        """
        loop = asyncio.get_running_loop()
        job = _Job()
        # The loop thread's view: settled once, with the first of the attempt's own result
        # and giving up on it.
        settled = False
        stops = 0
        timer: asyncio.TimerHandle | None = None

        def finish(result: AttemptResult) -> None:
            nonlocal settled
            if settled:
                return
            settled = True
            if timer is not None:
                timer.cancel()
            done(result)

        def give_up() -> None:
            result = job.result
            if result is None:
                result = AttemptResult(
                    False,
                    f"did not stop within {self.grace_period:g} s; its thread is left running",
                    (),
                    True,
                )
            finish(result)

        def stop() -> None:
            nonlocal stops, timer
            stops += 1
            if settled:
                return
            if stops > 1:  # a second request: stop waiting at once
                loop.call_soon(give_up)
                return
            how = job.stop()
            if how == "cancelled":
                loop.call_soon(finish, AttemptResult(False, "stopped before it started", (), True))
            elif how == "signalled":
                timer = loop.call_later(self.grace_period, give_up)
            # "ended": its result is already on its way to finish()

        def post(level: str, stream: str) -> Any:
            return lambda text, when: loop.call_soon_threadsafe(
                emit, attempt.record(level, text, when, stream)
            )

        def body() -> None:
            out = LineWriter(post("INFO", "stdout"))
            err = LineWriter(post("ERROR", "stderr"))
            self._local.stdout, self._local.stderr = out, err
            result = AttemptResult(False, "stopped", (), True)
            try:
                result = _run(attempt, post, job.shield, job.awaiter)
            except StopRequested:  # landed after the lifecycle, before its result was kept
                pass
            except BaseException as error:  # our own failure: fail the attempt, keep the worker
                reason = f"the attempt failed in the runner: {describe_error(error)}"
                result = AttemptResult(False, reason, (), False)
            finally:
                out.close()
                err.close()
                self._local.stdout = self._local.stderr = None
                self._left_behind(post("WARNING", "runner"))
                with job.lock:
                    job.result = result
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                    loop.call_soon_threadsafe(finish, result)

        job.body = body
        self._workers.submit(job)
        return stop


def _copy_shared(values: Any) -> dict[str, Any]:
    """A private copy of ``shared_dict`` for one attempt, key by key.

    A task mutating its copy must not change the runner's values under it (the runner reads
    them to save checkpoints). Only values that cannot be copied (locks, clients) are shared.
    """
    try:
        return copy.deepcopy(dict(values))
    except Exception:
        out = {}
        for key, value in values.items():
            try:
                out[key] = copy.deepcopy(value)
            except Exception:
                out[key] = value
        return out


def _run(attempt: Attempt, post: Any, shield: Shield, awaiter: Awaiter | None) -> AttemptResult:
    before = shared_fingerprints(attempt.shared_dict)
    shared = _copy_shared(attempt.shared_dict)
    # Copied like shared_dict: a task changing what it was given must not change the runner's.
    results = _copy_shared(attempt.results) if attempt.results else attempt.results
    # Recorded here, on the worker thread, the moment run() returns: a runner killed before
    # the result reaches its loop keeps the work.
    early = EarlyRecord(
        attempt, before, shared, lambda text: post("WARNING", "runner")(text, time.time())
    )
    shield.then = early.hook
    logger = TaskLogger(lambda level, text, when: post(level, "logger")(text, when))
    metadata = TaskMetadata(
        attempt.task, attempt.task_class.__name__, list(attempt.depends_on), attempt.number
    )
    try:
        instance = attempt.task_class._build(
            attempt.parameters, shared, logger, metadata, attempt.upstream, results
        )
    except BaseException as error:
        logger.exception("could not create the task")
        outcome = Outcome(False, f"could not create the task: {error_text(error)}", (), False)
    else:
        outcome = run_lifecycle(
            instance,
            attempt.restart,
            lambda text: post("ERROR", "runner")(text, time.time()),
            shield,
            awaiter,
        )
    early.settle(outcome)
    updates, deleted = shared_changes(before, shared)
    return AttemptResult(
        outcome.ok,
        outcome.reason,
        outcome.error_types,
        outcome.stopped,
        updates,
        deleted,
        outcome.value,
    )
