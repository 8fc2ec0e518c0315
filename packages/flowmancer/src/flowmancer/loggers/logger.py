"""``flowmancer.loggers.logger``: 0.12's logger base class and registration decorator.

Subclass ``Logger``, declare settings as annotations, implement ``async update(event)``
(``LogStartEvent``, ``LogWriteEvent``, ``LogEndEvent`` from ``flowmancer.eventbus.log``) and
decorate with ``@logger``; a job file names it under ``loggers:``.
"""

from __future__ import annotations

from .._compat import LegacyLogger as Logger
from .._plugins import registrar

__all__ = ["Logger", "logger"]

logger = registrar("logger", Logger, "Logger")
