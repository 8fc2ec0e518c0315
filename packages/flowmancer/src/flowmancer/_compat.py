"""Loggers, extensions and checkpointers written for Flowmancer 0.12, kept working.

0.12's plug-ins are classes with annotated settings and coroutine methods: ``async
update(event)`` and async lifecycle hooks. Here they get the same settings (checked against
their annotations, as exec checks task parameters) and the same events, built from the run's
records. The coroutines run on the runner's event loop, one plug-in's calls in the order they
were made, and the driver waits for all of them before it returns.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import datetime
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .eventbus.execution import ExecutionState, ExecutionStateTransition
from .eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent, Severity
from .lifecycle import AsyncLifecycle

__all__ = [
    "AsyncPlugin",
    "CheckpointContents",
    "LegacyCheckpointer",
    "LegacyExtension",
    "LegacyLogger",
    "NoCheckpointAvailableError",
    "PluginAdapter",
]

_LETTER = {
    "FAILED": ExecutionState.FAILED,
    "PENDING": ExecutionState.PENDING,
    "RUNNING": ExecutionState.RUNNING,
    "DEFAULTED": ExecutionState.DEFAULTED,
    "COMPLETED": ExecutionState.COMPLETED,
    "ABORTED": ExecutionState.ABORTED,
    "SKIPPED": ExecutionState.SKIP,
    "INIT": ExecutionState.INIT,
}


class AsyncPlugin(AsyncLifecycle):
    """Settings as class annotations with defaults, given as keyword arguments (0.12 style).

    Raises:
        flowmancer_exec.ParameterError: a missing, unknown or mistyped setting.
    """

    def __init__(self, **settings: Any) -> None:
        from flowmancer_exec import validate_parameters

        for name, value in validate_parameters(type(self), settings, type(self).__name__).items():
            setattr(self, name, value)


class LegacyLogger(AsyncPlugin, abc.ABC):
    """A 0.12 logger: ``async update(event)`` receives LogStart/LogWrite/LogEnd events."""

    @abc.abstractmethod
    async def update(self, m: Any) -> None:
        """Handle one log event."""


class LegacyExtension(AsyncPlugin, abc.ABC):
    """A 0.12 extension: ``async update(event)`` receives ExecutionStateTransition events."""

    @abc.abstractmethod
    async def update(self, e: Any) -> None:
        """Handle one execution event."""


class NoCheckpointAvailableError(Exception):
    """A 0.12 checkpointer has no checkpoint for the job."""


@dataclasses.dataclass
class CheckpointContents:
    """What 0.12 checkpointers store: task names by state letter, and ``shared_dict``."""

    name: str
    states: dict[str, set[str]]
    shared_dict: dict[Any, Any]


class LegacyCheckpointer(AsyncPlugin, abc.ABC):
    """A 0.12 checkpointer: writes, reads and clears ``CheckpointContents`` by job name."""

    @abc.abstractmethod
    async def write_checkpoint(self, name: str, content: CheckpointContents) -> None:
        """Keep ``content`` as the job's checkpoint."""

    @abc.abstractmethod
    async def read_checkpoint(self, name: str) -> CheckpointContents:
        """The job's checkpoint (``NoCheckpointAvailableError`` when there is none)."""

    @abc.abstractmethod
    async def clear_checkpoint(self, name: str) -> None:
        """Forget the job's checkpoint."""


class PluginAdapter:
    """Feeds a 0.12 logger or extension from the runner's observer calls."""

    def __init__(self, plugin: LegacyLogger | LegacyExtension, name: str) -> None:
        self.plugin: Any = plugin
        self.name = name
        self.is_logger = isinstance(plugin, LegacyLogger)
        self._queue: list[Callable[[], Awaitable[None]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._job: str | None = None
        self._reported = False
        self._open: set[str] = set()  # tasks with an attempt running: their log is open

    # -- observer methods (called on the runner's loop) -----------------------------------------

    def on_run_start(self, start: Any) -> None:
        """``on_create`` (and ``on_restart`` when the run resumes)."""
        self._job = start.job
        self._call(self.plugin.on_create)
        if start.resumed:
            self._call(self.plugin.on_restart)

    def on_state_change(self, change: Any) -> None:
        """Log start/end events for loggers; state transitions for extensions."""
        after, before = str(change.after), str(change.before)
        when = _when(change.time)
        if self.is_logger:
            # One start and one end per attempt, as 0.12's attempts opened and closed their
            # log: its FileLogger refuses a second start while a file is open.
            if after == "RUNNING":
                self._open.add(change.task)
                event: Any = LogStartEvent(change.task, job_name=self._job, timestamp=when)
            elif before == "RUNNING":
                self._open.discard(change.task)
                event = LogEndEvent(change.task, job_name=self._job, timestamp=when)
            else:
                return
        else:
            event = ExecutionStateTransition(
                change.task, _LETTER[before], _LETTER[after], job_name=self._job, timestamp=when
            )
        self._call(lambda: self.plugin.update(event))

    def on_log(self, record: Any) -> None:
        """A LogWriteEvent, for loggers.

        A line that comes when no attempt of its task is running (from a process the task left
        behind, once its attempt ended) comes between a start and an end of its own: a 0.12
        logger writes only to a log it has opened."""
        if self.is_logger:
            level = record.level if record.level in Severity.__members__ else "INFO"
            when = _when(record.time)
            task, job = record.task, self._job
            event = LogWriteEvent(
                task, Severity(level), record.message, job_name=job, timestamp=when
            )
            if task in self._open:
                self._call(lambda: self.plugin.update(event))
                return

            async def alone() -> None:
                await self.plugin.update(LogStartEvent(task, job_name=job, timestamp=when))
                try:
                    await self.plugin.update(event)
                finally:
                    await self.plugin.update(LogEndEvent(task, job_name=job, timestamp=when))

            self._call(alone)

    def on_run_end(self, result: Any) -> None:
        """``on_abort`` if aborted, ``on_success`` or ``on_failure``, then ``on_destroy``."""
        if result.aborted:
            self._call(self.plugin.on_abort)
        self._call(self.plugin.on_success if result.ok else self.plugin.on_failure)
        self._call(self.plugin.on_destroy)

    async def drain(self) -> None:
        """Wait until every call made so far has run."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    # -- running the coroutines in order --------------------------------------------------------

    def _call(self, make: Callable[[], Awaitable[None]]) -> None:
        self._queue.append(make)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while self._queue:
            make = self._queue.pop(0)
            try:
                await make()
            except Exception as error:  # a plug-in's failure is reported once; the run goes on
                if not self._reported:
                    self._reported = True
                    print(
                        f"flowmancer: {type(self.plugin).__name__} ({self.name}) failed: "
                        f"{error!r}; the run goes on",
                        file=sys.__stderr__,
                    )


def _when(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).astimezone()
