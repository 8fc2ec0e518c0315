"""``run_attempt`` for executors whose real entry point is ``start_attempt``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._interface import Attempt, AttemptResult, Emit

__all__ = ["run_started"]

StartAttempt = Callable[[Attempt, Emit, Callable[[AttemptResult], object]], Callable[[], None]]


async def run_started(start: StartAttempt, attempt: Attempt, emit: Emit) -> AttemptResult:
    """Start ``attempt`` with ``start`` and wait for its result; a cancellation asks it to stop
    (a second one: at once) and the result still comes back, as ``Executor`` says."""
    future: asyncio.Future[AttemptResult] = asyncio.get_running_loop().create_future()
    stop = start(attempt, emit, future.set_result)
    while True:
        try:
            # Not the future itself: a cancellation must not cancel it, the result follows.
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The request is answered by stopping the attempt, so it is consumed here
            # (Python 3.11+ counts pending cancellations per task).
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            stop()
