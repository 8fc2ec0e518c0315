"""``flowmancer.checkpointer`` as in Flowmancer 0.12: the ``Checkpointer`` base, its contents,
``@checkpointer``, and the built-in file and SQLite checkpointers."""

from typing import TYPE_CHECKING, Any

from .checkpointer import (
    CheckpointContents,
    Checkpointer,
    NoCheckpointAvailableError,
    checkpointer,
)
from .file import FileCheckpointer

if TYPE_CHECKING:
    from .database import SQLiteCheckpointer

__all__ = [
    "CheckpointContents",
    "Checkpointer",
    "FileCheckpointer",
    "NoCheckpointAvailableError",
    "SQLiteCheckpointer",
    "checkpointer",
]


if not TYPE_CHECKING:  # so that type checkers still see the names above, and only those

    def __getattr__(name: str) -> Any:
        # sqlite3 only for a program that asks for the SQLite checkpointer (see
        # flowmancer_checkpoint): a job with a 0.12-style checkpointer imports this module.
        if name == "SQLiteCheckpointer":
            from .database import SQLiteCheckpointer

            return SQLiteCheckpointer
        raise AttributeError(
            f"module 'flowmancer.checkpointer' has no attribute {name!r}", name=name
        )


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
