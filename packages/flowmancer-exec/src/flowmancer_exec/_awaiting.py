"""Awaiting what an ``async def`` hook returns, on an event loop of the attempt's own thread.

A task's ``run()`` and hooks may be coroutine functions. Whatever a hook hands back that can be
awaited is run to its end here, so an attempt never completes with its work still undone in a
coroutine nobody awaited. The process executor makes a loop for the attempt (its child process
ends with it); the thread executor keeps one per worker thread. A stop (timeout, abort) is
raised in the thread as for synchronous code: the coroutine is cancelled, its ``finally``
blocks run, and the stop goes on to ``on_abort``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable
from typing import Any

__all__ = ["Awaiter", "NotAwaitedError", "is_awaitable"]


class NotAwaitedError(TypeError):
    """A hook's coroutine gave back another awaitable: something the task meant to run was
    never awaited, so the attempt cannot count as done."""


def is_awaitable(value: object) -> bool:
    """True for coroutines and anything else ``await`` accepts (futures, tasks, ...)."""
    return value is not None and inspect.isawaitable(value)


class Awaiter:
    """Runs awaitables to their end on an event loop made for this thread when first needed.

    Args:
        keep: leave the loop open between attempts (a worker thread's loop); otherwise
            ``close()`` closes it (an attempt's own loop).
    """

    __slots__ = ("keep", "loop")

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, awaitable: Awaitable[Any], hook: str) -> Any:
        """The value ``awaitable`` produces; a stop raised meanwhile cancels it first.

        Raises:
            NotAwaitedError: that value is itself awaitable.
        """
        loop = self.loop
        if loop is None or loop.is_closed():
            loop = self.loop = asyncio.new_event_loop()
        task = loop.create_task(_awaited(awaitable))
        try:
            value = loop.run_until_complete(task)
        except BaseException:
            # A stop (or Ctrl-C) raised in the loop's own code leaves the coroutine pending:
            # let it see the cancellation and clean up before on_abort runs.
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            raise
        if is_awaitable(value):
            close = getattr(value, "close", None)
            if inspect.iscoroutine(value) and close is not None:
                close()  # said here, not again as "coroutine was never awaited"
            raise NotAwaitedError(
                f"{hook}() gave back {type(value).__name__} {value!r} after being awaited: "
                "something it meant to run was never awaited (await it inside the task)"
            )
        return value

    def close(self) -> None:
        """End what the task's coroutines left running (cancelled, as ``asyncio.run`` does);
        close the loop unless it is kept for the thread's next attempt."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(BaseException):
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            if not self.keep:
                loop.run_until_complete(loop.shutdown_asyncgens())
        if not self.keep:
            self.loop = None
            loop.close()

    def wake(self) -> None:
        """Make the loop look up from waiting (from another thread), so that an exception
        raised in its thread is seen now rather than when its next timer is due."""
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(_nothing)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _nothing() -> None:
    """A no-op callback that only wakes the loop."""
