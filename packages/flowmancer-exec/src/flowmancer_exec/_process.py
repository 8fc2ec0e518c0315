"""``ProcessExecutor``: every attempt in a fresh forked child, in its own process group.

The child's file descriptors 1 and 2 are pipes, so output from C extensions and child processes
is caught; Python-level prints and ``self.logger`` go through a framed channel that keeps their
level, order and the time they were made. The runner reads all of it as it comes, line by line,
so memory stays flat however much a task prints. The child's end is read honestly (exception,
exit code, signal) and when an attempt ends its whole process group goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from ._channel import FrameReader, LineReader, read_available
from ._child import Load, c_sigmask, child_main
from ._children import live_processes
from ._interface import Attempt, AttemptResult, Emit
from ._signals import STOP_SIGNALS
from ._started import run_started

__all__ = ["ProcessExecutor"]

_STOP_SIGNALS = set(STOP_SIGNALS)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class ProcessExecutor:
    """Run each attempt in a forked child process (the default executor).

    Args:
        grace_period: seconds an attempt told to stop (timeout, abort) has to run ``on_abort``
            and exit before its process group is killed.
    """

    name = "process"

    def __init__(self, grace_period: float = 5.0) -> None:
        if not hasattr(os, "fork"):
            raise RuntimeError("ProcessExecutor needs os.fork(); use ThreadExecutor here")
        self.grace_period = grace_period
        self._collecting: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        """Nothing to prepare: each attempt forks on its own."""

    async def close(self) -> None:
        """Wait until every child and everything left of its process group is gone."""
        # Take the set and empty it first: awaiting tasks that are already done does not yield
        # to the loop, so their discard callbacks would never run and this would spin.
        while self._collecting:
            tasks = list(self._collecting)
            self._collecting.clear()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        """Fork, run the lifecycle in the child, stream its output, read how it ended."""
        return await run_started(self.start_attempt, attempt, emit)

    def start_attempt(
        self,
        attempt: Attempt,
        emit: Emit,
        done: Callable[[AttemptResult], object],
        load: Load | None = None,
    ) -> Callable[[], None]:
        """Fork the attempt's child and return at once; ``done(result)`` is called on the
        loop's thread when it has ended. Returns ``stop``: the first call sends SIGTERM to the
        attempt's process group and SIGKILL after the grace period, a second kills at once.

        The runner's fast path: the child's result is settled in the loop iteration that reads
        it, so the next attempt can be forked from there. ``load``: see ``child_main``.
        """
        loop = asyncio.get_running_loop()
        fds: list[int] = []
        pid = 0
        try:
            for _ in range(3):
                fds.extend(os.pipe())
            channel_r, channel_w, out_r, out_w, err_r, err_w = fds
            # Until the child has left the runner's signal handling behind, a stop signal
            # reaching it would be written to the runner's wakeup socket and read as the
            # runner's own: keep them pending in both until each side is ready.
            blocked = c_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            die_with = _death_signal_setter()
            runner_pid = os.getpid()
            try:
                pid = os.fork()
                if pid == 0:  # the child: never returns
                    for fd in (channel_r, out_r, err_r):
                        os.close(fd)
                    if die_with is not None:
                        # Die with the runner: a runner killed with kill -9 cannot stop its
                        # attempts, and one left running would run beside the resumed run.
                        die_with(signal.SIGKILL)
                        if os.getppid() != runner_pid:  # it died before we asked
                            os._exit(70)
                    child_main(attempt, channel_w, out_w, err_w, blocked, load)
                with contextlib.suppress(OSError):
                    os.setpgid(pid, pid)  # the child does it too; whoever is first wins the race
            finally:
                c_sigmask(signal.SIG_SETMASK, blocked)
            # Let the child have the CPU now: on a busy machine it would otherwise wait for
            # the runner's bookkeeping below, which is not on anyone's critical path.
            os.sched_yield()
            for fd in (channel_w, out_w, err_w):
                os.close(fd)
                fds.remove(fd)
            watch = _Watch(loop, attempt, emit, pid, channel_r, out_r, err_r, self, done)
        except BaseException:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if pid:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            raise
        return watch.stop


class _Watch:
    """The runner's side of one child: its pipes, its exit, its stop.

    Driven by the loop's callbacks: the child's result (or its exit, whichever comes first)
    settles the attempt; the child's exit, which may come later, ends its process group and
    closes the pipes.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        attempt: Attempt,
        emit: Emit,
        pid: int,
        channel: int,
        out: int,
        err: int,
        executor: ProcessExecutor,
        done: Callable[[AttemptResult], object],
    ) -> None:
        self.loop = loop
        self.out = out
        self.err = err
        self.attempt = attempt
        self.emit = emit
        self.pid = pid
        self.executor = executor
        self.done = done
        self.result: tuple[Any, ...] | None = None
        self.settled = False
        self.exited = False
        self.stopped = False
        self.kill_timer: asyncio.TimerHandle | None = None
        self.frames = FrameReader()
        record = attempt.record
        self.stdout = LineReader(lambda line, t: emit(record("INFO", line, t, "stdout")))
        self.stderr = LineReader(lambda line, t: emit(record("ERROR", line, t, "stderr")))
        self.fds: dict[int, Callable[[bytes], None]] = {
            channel: self._on_frames,
            out: self.stdout.feed,
            err: self.stderr.feed,
        }
        # Done when the child and its process group are gone; the executor's close() waits.
        self.gone: asyncio.Future[None] = loop.create_future()
        executor._collecting.add(self.gone)
        self.gone.add_done_callback(executor._collecting.discard)
        self.pidfd = -1
        for fd in self.fds:
            os.set_blocking(fd, False)
            loop.add_reader(fd, self._readable, fd)
        if hasattr(os, "pidfd_open"):
            self.pidfd = os.pidfd_open(pid)
            loop.add_reader(self.pidfd, self._on_exit)
        else:  # pragma: no cover - not Linux: SIGCHLD through the loop's child watcher
            loop.run_in_executor(None, self._wait_blocking)

    def _on_frames(self, data: bytes) -> None:
        for message in self.frames.feed(data):
            if message[0] == "unreadable":
                # A frame we cannot unpickle (a class that exists only in the child, say): the
                # attempt's result may be in it, so the attempt cannot count as a success.
                self.emit(self.attempt.record("ERROR", message[1], time.time(), "runner"))
                if message[2]:
                    self.result = ("result", False, message[1], (), False, {}, (), None, ())
                    self._reported()
            elif message[0] == "log":
                _, level, text, when, stream = message
                self.emit(self.attempt.record(level, text, when, stream))
            elif message[0] == "result":
                self.result = message
                self._reported()

    def _reported(self) -> None:
        # The child has reported and is on its way out. Its teardown need not hold up its
        # dependents: take the output it wrote before reporting and settle now; the process
        # (and its group) is collected when it exits. Not while it is being stopped: then
        # its exit is waited for, as the grace period promises.
        if self.settled or self.exited or self.stopped:
            return
        self._drain(self.out)
        self._drain(self.err)
        # The child wrote all it will before it reported: a last line without a newline is
        # part of this attempt's output, delivered before its end (not when the pipe closes).
        self.stdout.close()
        self.stderr.close()
        self._settle(self._result(0, False))

    def _settle(self, result: AttemptResult) -> None:
        self.settled = True
        self.done(result)

    def _readable(self, fd: int) -> None:
        chunks, eof = read_available(fd)
        feed = self.fds[fd]
        for chunk in chunks:
            feed(chunk)
        if eof:
            self.loop.remove_reader(fd)

    def _on_exit(self) -> None:
        if self.exited:
            return
        self.exited = True
        if self.kill_timer is not None:
            self.kill_timer.cancel()
            self.kill_timer = None
        status = self._finish()
        if not self.settled:
            self._settle(self._result(status, self.stopped))
        # What is left of the group (killed just now) is waited for in the background.
        if _group_alive(self.pid):
            collector = self.loop.create_task(_end_group(self.pid))
            collector.add_done_callback(lambda _: self.gone.set_result(None))
        else:
            self.gone.set_result(None)

    def _wait_blocking(self) -> None:  # pragma: no cover - not Linux
        while True:
            try:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT) is not None:
                    break
            except ChildProcessError:
                break
        self.loop.call_soon_threadsafe(self._on_exit)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self) -> None:
        """First call: SIGTERM to the group, SIGKILL after the grace period; second: at once."""
        if self.settled or self.exited:
            return
        if not self.stopped:
            self.stopped = True
            self._signal_group(signal.SIGTERM)
            self.kill_timer = self.loop.call_later(self.executor.grace_period, self._kill)
        else:
            self._kill()

    def _kill(self) -> None:
        if self.kill_timer is not None:
            self.kill_timer.cancel()
            self.kill_timer = None
        if not self.exited:
            self._signal_group(signal.SIGKILL)

    def _finish(self) -> int:
        """The child has exited: end its group, take the last output, reap it."""
        # The child is a zombie until reaped, which keeps its group id from being reused.
        self._signal_group(signal.SIGKILL)
        for fd in list(self.fds):
            self._drain(fd)
        _, status = os.waitpid(self.pid, 0)
        for fd in self.fds:
            self.loop.remove_reader(fd)
            os.close(fd)
        if self.pidfd >= 0:
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
        self.stdout.close()
        self.stderr.close()
        return status

    def _drain(self, fd: int) -> None:
        """Read what is in the pipe now (a bounded number of chunks: a process that escaped
        the group could otherwise keep us here forever)."""
        feed = self.fds[fd]
        for _ in range(64):
            chunks, eof = read_available(fd)
            for chunk in chunks:
                feed(chunk)
            if eof or not chunks:
                if eof:
                    self.loop.remove_reader(fd)
                return

    def _result(self, status: int, stopped: bool) -> AttemptResult:
        if self.result is not None:
            _, ok, reason, error_types, child_stopped, updates, deleted, value, unsaved = (
                self.result
            )
            # An attempt that reports success completed: a stop that came after its run()
            # returned waited for it (see Shield) and changes nothing.
            was_stopped = child_stopped or (stopped and not ok)
            return AttemptResult(
                ok,
                reason,
                tuple(error_types),
                was_stopped,
                updates,
                tuple(deleted),
                value,
                tuple(unsaved),
            )
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            reason = f"killed by signal {number} ({_signal_name(number)})"
            if number == signal.SIGKILL and not stopped:
                reason += "; out of memory, or killed from outside"
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
            reason = f"exited with code {os.WEXITSTATUS(status)} before reporting a result"
        else:
            reason = "exited (code 0) before reporting a result, as os._exit() does"
        return AttemptResult(False, reason, (), stopped)


async def _end_group(pgid: int) -> None:
    """Kill what is left of an attempt's process group and wait until it is gone (at most 2 s).

    Members are killed with SIGKILL and reaped by whoever is their parent now (init, once their
    own parent has died); a zombie among them counts as gone.
    """
    deadline = time.monotonic() + 2.0
    while _group_alive(pgid) and time.monotonic() < deadline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        await asyncio.sleep(0.005)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):  # pragma: no cover - not Linux: trust kill()
        return True
    return any(group == pgid for _, _, group in live_processes())


_PR_SET_PDEATHSIG = 1
_death_signal: list[Callable[[int], object] | None] = []


def _death_signal_setter() -> Callable[[int], object] | None:
    """Linux's ``prctl(PR_SET_PDEATHSIG, sig)``, looked up once in the runner (importing ctypes
    in every child would cost milliseconds); None where there is no such call."""
    if not _death_signal:
        setter: Callable[[int], object] | None = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                prctl = ctypes.CDLL(None, use_errno=True).prctl
                setter = lambda sig: prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)  # noqa: E731
            except (OSError, AttributeError):
                setter = None
        _death_signal.append(setter)
    return _death_signal[0]
