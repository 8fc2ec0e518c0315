"""When buffered output reaches the disk, without a thread of our own.

Writes are buffered, and flushed once the runner's event loop has handled everything that was
ready (``IdleFlush``): the output of one read from a task's pipe goes out in one ``write``, and
``tail -f`` still sees each line within one turn of the loop. Outside an event loop every
request flushes at once.

Files that loggers hold open are also flushed before any ``fork()`` (so that a forked child
never holds unwritten data of ours that it could write a second time) and closed at interpreter
exit, as a backstop for a run that never reached its end.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["IdleFlush", "Sink", "forget", "track"]


class IdleFlush:
    """Calls ``callback`` once the running event loop has done what is ready now."""

    __slots__ = ("_callback", "_reported", "_scheduled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._scheduled = False
        self._reported = False

    def request(self) -> None:
        """Make sure ``callback`` runs soon: on the loop's next turn, or now without a loop."""
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._callback()
            return
        self._scheduled = True
        loop.call_soon(self._run)

    def reset(self) -> None:
        """Forget a scheduled call (its loop may have closed before running it)."""
        self._scheduled = False

    def _run(self) -> None:
        self._scheduled = False
        try:
            self._callback()
        except Exception as error:  # a full disk: the next write fails too, and the runner
            if not self._reported:  # reports that; here there is no one to tell but stderr
                self._reported = True
                print(f"flowmancer_log: flushing failed: {error!r}", file=sys.__stderr__)


class Sink(Protocol):
    """Something holding buffered files open."""

    def flush_files(self) -> None:
        """Write out what is buffered."""

    def close_files(self) -> None:
        """Write out what is buffered and close every file."""


_live: weakref.WeakSet[Sink] = weakref.WeakSet()


def track(sink: Sink) -> None:
    """Flush ``sink`` before every fork and close it at exit, until ``forget``."""
    _live.add(sink)


def forget(sink: Sink) -> None:
    """Stop tracking ``sink`` (its run ended and its files are closed)."""
    _live.discard(sink)


def _each(action: str) -> None:
    for sink in list(_live):
        try:
            getattr(sink, action)()
        except Exception as error:  # a full disk must not stop a fork or the exit
            print(f"flowmancer_log: {action} failed: {error!r}", file=sys.__stderr__)


def _before_fork() -> None:
    _each("flush_files")


def _after_fork_in_child() -> None:
    # The child's copies of our files are the parent's business (and were flushed just
    # before the fork, so they hold nothing a child could write a second time).
    _live.clear()


def _at_exit() -> None:
    _each("close_files")


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
