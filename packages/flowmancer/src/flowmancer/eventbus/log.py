"""Log events of Flowmancer 0.12 (``flowmancer.eventbus.log``)."""

from __future__ import annotations

import dataclasses
from enum import Enum

from . import SerializableEvent

__all__ = [
    "LogEndEvent",
    "LogStartEvent",
    "LogWriteEvent",
    "SerializableLogEvent",
    "Severity",
]


class Severity(str, Enum):
    """A log line's level."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@dataclasses.dataclass
class SerializableLogEvent(SerializableEvent):
    """A log event about the task called ``name``."""

    name: str

    @classmethod
    def event_group(cls) -> str:
        """All log events share one group."""
        return "SerializableLogEvent"


@dataclasses.dataclass
class LogStartEvent(SerializableLogEvent):
    """A task's attempt began: its log opens."""


@dataclasses.dataclass
class LogEndEvent(SerializableLogEvent):
    """A task finished: its log closes."""


@dataclasses.dataclass
class LogWriteEvent(SerializableLogEvent):
    """One line a task produced."""

    severity: Severity
    message: str
