"""``flowmancer.extensions.extension``: 0.12's extension base class and decorator.

Subclass ``Extension``, declare settings as annotations, implement ``async update(event)``
(``ExecutionStateTransition`` from ``flowmancer.eventbus.execution``), optionally the async
lifecycle hooks, and decorate with ``@extension``; a job file names it under ``extensions:``.
"""

from __future__ import annotations

from .._compat import LegacyExtension as Extension
from .._plugins import registrar

__all__ = ["Extension", "extension"]

extension = registrar("extension", Extension, "Extension")
