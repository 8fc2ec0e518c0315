"""``flowmancer.loggers.logger``: 0.12's logger base class and registration decorator.

Subclass ``Logger``, declare settings as annotations, implement ``async update(event)``
(``LogStartEvent``, ``LogWriteEvent``, ``LogEndEvent`` from ``flowmancer.eventbus.log``) and
decorate with ``@logger``; a job file names it under ``loggers:``.
"""

from __future__ import annotations

from typing import TypeVar

from .._compat import LegacyLogger as Logger
from .._plugins import register

__all__ = ["Logger", "logger"]

T = TypeVar("T", bound=type)


def logger(t: T) -> T:
    """Register a ``Logger`` subclass under its class name."""
    if not issubclass(t, Logger):
        raise TypeError(f"Must extend `Logger` type: {getattr(t, '__name__', t)}")
    register("logger", t.__name__, t)
    return t
