"""``ProcessExecutor``: every attempt in a fresh forked child, in its own process group.

An attempt passes through: start (``_attempt_fork``: pipes, fork, process group), watch
(``_attempt_output``: its pipes read as data comes; ``_attempt_exit``: its end), settle
(``_attempt_result``: its report or its end read as a result) and, when the runner asks, stop
(``_attempt_group``: SIGTERM, the grace period, SIGKILL to its group). ``_Watch`` below ties the
parts of one attempt together and settles it exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

from ._attempt_exit import ChildExit
from ._attempt_fork import Forked, fork_attempt
from ._attempt_group import GroupStop, end_group, group_alive
from ._attempt_output import AttemptOutput
from ._attempt_result import result_of
from ._child import Load
from ._fork_client import current_server
from ._interface import Attempt, AttemptResult, Emit
from ._started import run_started

__all__ = ["ProcessExecutor"]


class ProcessExecutor:
    """Run each attempt in a forked child process (the default executor).

    Args:
        grace_period: seconds an attempt told to stop (timeout, abort) has to run ``on_abort``
            and exit before its process group is killed.
        fork_server: have the fork server the driver started fork the attempts (one is
            started by ``Flowmancer.start()`` on Linux with ``FLOWMANCER_FORK_SERVER=1`` in the
            environment); False: always fork from this process. Attempts the server cannot
            start are forked here (see ``_fork_client``).
    """

    name = "process"

    def __init__(self, grace_period: float = 5.0, fork_server: bool = True) -> None:
        if not hasattr(os, "fork"):
            raise RuntimeError("ProcessExecutor needs os.fork(); use ThreadExecutor here")
        self.grace_period = grace_period
        self.fork_server = fork_server
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
        server = current_server()
        if server is not None:
            server.detach()

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
        server = current_server() if self.fork_server else None
        forked = None
        if server is not None and load is None:
            server.attach(loop)
            forked = server.fork(attempt)
        by_server = forked is not None
        if forked is None:
            # The driver's own fork path (see _fork_client for when the server cannot serve).
            keep = (server.sock.fileno(),) if server is not None and server.alive else ()
            forked = fork_attempt(attempt, load, keep)
        watch = _Watch(loop, attempt, emit, forked.pid, self.grace_period, done)
        try:
            watch.output = AttemptOutput(
                loop, attempt, emit, forked.channel, forked.out, forked.err, watch.reported
            )
            if server is not None and by_server:
                server.watch_exit(forked.pid, watch.exited)
            else:
                ChildExit(loop, forked.pid, watch.exited)
        except BaseException:
            _abandon(loop, forked)
            raise
        self._collecting.add(watch.gone)
        watch.gone.add_done_callback(self._collecting.discard)
        return watch.stop


def _abandon(loop: asyncio.AbstractEventLoop, forked: Forked) -> None:
    """Undo a start that could not be watched: kill and reap the child, close its pipes."""
    for fd in (forked.channel, forked.out, forked.err):
        loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        os.killpg(forked.pid, signal.SIGKILL)
        os.waitpid(forked.pid, 0)


class _Watch:
    """One attempt's parts together: its output, its stop, its end; settles it exactly once.

    The child's result (or its exit, whichever comes first) settles the attempt; its exit, which
    may come later, ends its process group and closes the pipes.
    """

    output: AttemptOutput

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        attempt: Attempt,
        emit: Emit,
        pid: int,
        grace: float,
        done: Callable[[AttemptResult], object],
    ) -> None:
        self.loop = loop
        self.pid = pid
        self.done = done
        self.group = GroupStop(loop, pid, grace)
        self.report: tuple[Any, ...] | None = None
        self.settled = False
        self.exited_ = False
        # Done when the child and its process group are gone; the executor's close() waits.
        self.gone: asyncio.Future[None] = loop.create_future()

    def reported(self, report: tuple[Any, ...]) -> None:
        """The child sent its result and is on its way out. Its teardown need not hold up its
        dependents: take the output it wrote before reporting and settle now; the process (and
        its group) is collected when it exits. Not while it is being stopped: then its exit is
        waited for, as the grace period promises."""
        self.report = report
        if self.settled or self.exited_ or self.group.stopped:
            return
        self.output.take_output()
        self._settle(result_of(report, 0, False))

    def exited(self, status: int) -> None:
        """The child has exited (and been reaped) with wait ``status``."""
        if self.exited_:
            return
        self.exited_ = True
        self.group.cancel()
        self.output.close()
        if not self.settled:
            self._settle(result_of(self.report, status, self.group.stopped))
        # What is left of the group (killed just now) is waited for in the background.
        if group_alive(self.pid):
            collector = self.loop.create_task(end_group(self.pid))
            collector.add_done_callback(lambda _: self.gone.set_result(None))
        else:
            self.gone.set_result(None)

    def _settle(self, result: AttemptResult) -> None:
        self.settled = True
        self.done(result)

    def stop(self) -> None:
        """First call: SIGTERM to the group, SIGKILL after the grace period; second: at once."""
        if self.settled or self.exited_:
            return
        self.group.stop()
