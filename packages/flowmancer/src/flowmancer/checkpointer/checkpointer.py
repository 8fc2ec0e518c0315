"""``flowmancer.checkpointer.checkpointer``: 0.12's checkpointer base class and decorator.

Subclass ``Checkpointer``, implement ``async write_checkpoint(name, content)``,
``async read_checkpoint(name)`` (raise ``NoCheckpointAvailableError`` when there is none) and
``async clear_checkpoint(name)``, and decorate with ``@checkpointer``.
"""

from __future__ import annotations

from .._compat import CheckpointContents, NoCheckpointAvailableError
from .._compat import LegacyCheckpointer as Checkpointer
from .._plugins import registrar

__all__ = ["CheckpointContents", "Checkpointer", "NoCheckpointAvailableError", "checkpointer"]

checkpointer = registrar("checkpointer", Checkpointer, "Checkpointer")
