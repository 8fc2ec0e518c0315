"""``flowmancer.checkpointer.file``: the file checkpointer (now ``flowmancer_checkpoint``'s)."""

from flowmancer_checkpoint import FileCheckpointer

__all__ = ["FileCheckpointer"]
