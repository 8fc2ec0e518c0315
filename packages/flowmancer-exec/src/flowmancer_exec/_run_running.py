"""An attempt in progress, as the run's parts hold it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._interface import AttemptResult

__all__ = ["Running", "nothing"]


class Running:
    """An attempt in progress: ``future`` holds its result when it has ended (an asyncio task
    for executors that only have ``run_attempt``); ``stop`` asks it to stop (a second call: at
    once)."""

    __slots__ = ("future", "stop")

    def __init__(self, future: asyncio.Future[AttemptResult], stop: Callable[[], object]) -> None:
        self.future = future
        self.stop = stop


def nothing() -> None:
    """Stopping an attempt that could not start."""
