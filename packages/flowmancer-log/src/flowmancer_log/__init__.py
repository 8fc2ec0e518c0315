"""flowmancer_log: where a run's log records and state changes go.

Loggers are observers of a ``flowmancer_exec`` run (``Runner(observers=[...])``) that satisfy
its protocol structurally, without importing it. ``FileLogger`` writes one file per task per
run, ``JSONLinesLogger`` one JSON object per line for machines, ``ConsoleLogger`` a readable
view of the run; ``StructlogLogger`` and ``configure_structlog`` send records through
structlog's processors. Write your own by subclassing ``Logger`` (per-record ``write`` and
``state_changed``, and the 0.12 lifecycle hooks ``on_create``, ``on_restart``, ``on_success``,
``on_failure``, ``on_abort``, ``on_destroy``). ``RunRecorder`` keeps a compact record of each run
(``run.jsonl`` in its log folder), which ``read_record`` and ``find_records`` read back.
``flowmancer_log.typing`` holds the protocols records satisfy; ``flowmancer_log.testing`` helps
test loggers.
"""

from typing import TYPE_CHECKING, Any

from ._base import Logger
from ._console import ConsoleLogger
from ._file import FileLogger
from ._jsonl import JSONLinesLogger
from ._record import RunRecorder
from ._structlog import StructlogLogger, configure_structlog
from .typing import (
    LoggerProtocol,
    LogRecordLike,
    RunResultLike,
    RunStartLike,
    StateChangeLike,
)

if TYPE_CHECKING:
    from ._history import (
        RecordedAttempt,
        RecordedRun,
        RecordedTask,
        RecordError,
        find_records,
        read_record,
    )

__version__ = "0.13.0"

# Reading run records back (``flowmancer runs``, the report) is imported when first asked for:
# a run writes its record but never reads one, and the reader's classes cost every start.
_HISTORY = frozenset(
    {"RecordError", "RecordedAttempt", "RecordedRun", "RecordedTask", "find_records", "read_record"}
)


def __getattr__(name: str) -> Any:
    if name not in _HISTORY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}", name=name)
    from . import _history

    value = getattr(_history, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ConsoleLogger",
    "FileLogger",
    "JSONLinesLogger",
    "LogRecordLike",
    "Logger",
    "LoggerProtocol",
    "RecordError",
    "RecordedAttempt",
    "RecordedRun",
    "RecordedTask",
    "RunRecorder",
    "RunResultLike",
    "RunStartLike",
    "StateChangeLike",
    "StructlogLogger",
    "configure_structlog",
    "find_records",
    "read_record",
]
