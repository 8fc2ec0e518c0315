"""Aborting a run: the first request stops what runs, gracefully, then lets the finally tasks run
within their grace period; a second (or the grace period running out) stops everything at once.

Holds the abort's state, which the scheduling and the attempts read: ``aborts`` (requests so
far), ``cleanup_started`` (the finally tasks were let go), ``cleanup_over`` (and may start no
more).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Collection

from flowmancer_dag import Run, TaskState

from ._run_running import Running

__all__ = ["Abort"]


class Abort:
    """The abort of one run. ``running``, ``timers`` and ``queue`` are the attempts' and the
    scheduler's own (shared, never replaced); ``settled`` and ``dispatch`` are theirs too,
    handed in once they exist (see ``RunState``)."""

    __slots__ = (
        "abort_signal",
        "aborts",
        "cleanup_deadline",
        "cleanup_over",
        "cleanup_started",
        "dispatch",
        "finals",
        "grace",
        "loop",
        "queue",
        "run",
        "running",
        "settled",
        "timers",
        "told_to_stop",
        "wake",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        run: Run[str],
        finals: Collection[str],
        grace: float,
        running: dict[str, Running],
        timers: dict[str, asyncio.TimerHandle],
        queue: collections.deque[str],
        wake: asyncio.Event,
    ) -> None:
        self.loop = loop
        self.run = run
        self.finals = finals
        self.grace = grace
        self.running = running
        self.timers = timers
        self.queue = queue
        self.wake = wake
        self.aborts = 0
        self.abort_signal: int | None = None  # what asked for the first abort, if a signal
        self.cleanup_started = False  # aborted, and the finally tasks were let go
        self.cleanup_over = False  # ... and may start no more (grace period over, 2nd signal)
        self.cleanup_deadline: asyncio.TimerHandle | None = None
        self.told_to_stop: set[str] = set()
        self.settled: Callable[[list[tuple[str, TaskState]]], None] = _unwired
        self.dispatch: Callable[[], None] = _unwired

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
        kept = [n for n in self.queue if n in self.finals]
        self.queue.clear()  # in place: the scheduler and the attempts hold this deque
        self.queue.extend(kept)
        self.cleanup_deadline = self.loop.call_later(self.grace, self.end_cleanup)
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


def _unwired(*_: object) -> None:
    raise RuntimeError("the run's parts were not wired together")  # a bug of ours
