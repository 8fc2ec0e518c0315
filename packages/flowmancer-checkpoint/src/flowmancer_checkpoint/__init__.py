"""flowmancer_checkpoint: what a run remembers so that ``-r`` resumes it from the point of failure.

A ``Checkpointer`` (``FileCheckpointer``: atomic JSON files; ``SQLiteCheckpointer``: WAL-mode
SQLite with a run history; ``MemoryCheckpointer``) is given the run's state after task finishes
(it satisfies flowmancer-exec's ``CheckpointStore`` protocol). A later run loads the
``Checkpoint`` and ``plan_resume`` decides what is kept and what runs again. Checkpoints are
plain JSON: reading one never runs code.
"""

from typing import TYPE_CHECKING, Any

from ._errors import (
    CheckpointError,
    CheckpointLockedError,
    CheckpointWriteError,
    CorruptCheckpointError,
    NewerCheckpointError,
    UnsafeCheckpointError,
)
from ._file import FileCheckpointer
from ._lock import JobLock
from ._record import FORMAT_VERSION, Checkpoint, Definition, RunSnapshotLike, TaskEntry
from ._resume import ResumePlan, plan_resume
from ._store import Checkpointer, MemoryCheckpointer

if TYPE_CHECKING:
    from ._sqlite import RunRecord, SQLiteCheckpointer

__version__ = "0.13.0"

# Plainly sorted (not isort-style): the package tests check sorted(__all__).
__all__ = [  # noqa: RUF022
    "Checkpoint",
    "CheckpointError",
    "CheckpointLockedError",
    "CheckpointWriteError",
    "Checkpointer",
    "CorruptCheckpointError",
    "Definition",
    "FORMAT_VERSION",
    "FileCheckpointer",
    "JobLock",
    "MemoryCheckpointer",
    "NewerCheckpointError",
    "ResumePlan",
    "RunRecord",
    "RunSnapshotLike",
    "SQLiteCheckpointer",
    "TaskEntry",
    "UnsafeCheckpointError",
    "plan_resume",
]


if not TYPE_CHECKING:  # so that type checkers still see the names above, and only those

    def __getattr__(name: str) -> Any:
        # The SQLite store on first use: sqlite3 weighs 0.8 MB in every process that imports
        # this package, among them the runner every attempt is forked from.
        if name in ("RunRecord", "SQLiteCheckpointer"):
            from . import _sqlite

            return getattr(_sqlite, name)
        raise AttributeError(f"module 'flowmancer_checkpoint' has no attribute {name!r}", name=name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
