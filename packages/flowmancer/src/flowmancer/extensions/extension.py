"""``flowmancer.extensions.extension``: 0.12's extension base class and decorator.

Subclass ``Extension``, declare settings as annotations, implement ``async update(event)``
(``ExecutionStateTransition`` from ``flowmancer.eventbus.execution``), optionally the async
lifecycle hooks, and decorate with ``@extension``; a job file names it under ``extensions:``.
"""

from __future__ import annotations

from typing import TypeVar

from .._compat import LegacyExtension as Extension
from .._plugins import register

__all__ = ["Extension", "extension"]

T = TypeVar("T", bound=type)


def extension(t: T) -> T:
    """Register an ``Extension`` subclass under its class name."""
    if not issubclass(t, Extension):
        raise TypeError(f"Must extend `Extension` type: {getattr(t, '__name__', t)}")
    register("extension", t.__name__, t)
    return t
