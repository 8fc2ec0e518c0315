"""``flowmancer.checkpointer`` as in Flowmancer 0.12: the ``Checkpointer`` base, its contents,
``@checkpointer``, and the built-in file and SQLite checkpointers."""

from .checkpointer import (
    CheckpointContents,
    Checkpointer,
    NoCheckpointAvailableError,
    checkpointer,
)
from .database import SQLiteCheckpointer
from .file import FileCheckpointer

__all__ = [
    "CheckpointContents",
    "Checkpointer",
    "FileCheckpointer",
    "NoCheckpointAvailableError",
    "SQLiteCheckpointer",
    "checkpointer",
]
