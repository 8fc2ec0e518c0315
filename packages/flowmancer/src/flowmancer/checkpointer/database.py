"""``flowmancer.checkpointer.database``: the SQLite checkpointer (now
``flowmancer_checkpoint``'s)."""

from flowmancer_checkpoint import SQLiteCheckpointer

__all__ = ["SQLiteCheckpointer"]
