"""``flowmancer.checkpointer.checkpointer``: 0.12's checkpointer base class and decorator.

Subclass ``Checkpointer``, implement ``async write_checkpoint(name, content)``,
``async read_checkpoint(name)`` (raise ``NoCheckpointAvailableError`` when there is none) and
``async clear_checkpoint(name)``, and decorate with ``@checkpointer``.
"""

from __future__ import annotations

from typing import TypeVar

from .._compat import CheckpointContents, NoCheckpointAvailableError
from .._compat import LegacyCheckpointer as Checkpointer
from .._plugins import register

__all__ = ["CheckpointContents", "Checkpointer", "NoCheckpointAvailableError", "checkpointer"]

T = TypeVar("T", bound=type)


def checkpointer(t: T) -> T:
    """Register a ``Checkpointer`` subclass under its class name."""
    if not issubclass(t, Checkpointer):
        raise TypeError(f"Must extend `Checkpointer` type: {getattr(t, '__name__', t)}")
    register("checkpointer", t.__name__, t)
    return t
