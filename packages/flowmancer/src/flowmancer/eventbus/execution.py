"""Execution events of Flowmancer 0.12 (``flowmancer.eventbus.execution``)."""

from __future__ import annotations

import dataclasses
from enum import Enum

from . import SerializableEvent

__all__ = ["ExecutionState", "ExecutionStateTransition", "SerializableExecutionEvent"]


class ExecutionState(str, Enum):
    """A task's state, by 0.12's one-letter codes."""

    FAILED = "F"
    PENDING = "P"
    RUNNING = "R"
    DEFAULTED = "D"
    COMPLETED = "C"
    ABORTED = "A"
    SKIP = "S"
    INIT = "_"


@dataclasses.dataclass
class SerializableExecutionEvent(SerializableEvent):
    """An event about the run's tasks."""

    @classmethod
    def event_group(cls) -> str:
        """All execution events share one group."""
        return "SerializableExecutionEvent"


@dataclasses.dataclass
class ExecutionStateTransition(SerializableExecutionEvent):
    """Task ``name`` moved from ``from_state`` to ``to_state``."""

    name: str
    from_state: ExecutionState
    to_state: ExecutionState
