"""``flowmancer.task`` as in Flowmancer 0.12: ``Task``, ``task`` and ``TaskMetadata``.

``flowmancer.task`` is two things: this module (0.12's ``from flowmancer.task import Task,
task``) and the decorator (``from flowmancer import Task, task``). Python makes the package's
``task`` attribute the module as soon as the module is imported, so the module is also the
decorator: calling it registers a class, as ``flowmancer_exec.task`` does. Either import style
works in any module of a project, in any order.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmancer_exec import Task, TaskMetadata, task

__all__ = ["Task", "TaskMetadata", "task"]


class _Decorator(types.ModuleType):
    """This module's type: a module that is also the ``@task`` decorator."""

    def __call__(self, cls: Any) -> Any:
        """Register ``cls`` (a ``Task`` subclass) under its class name; see ``task``."""
        from flowmancer_exec import task

        return task(cls)


sys.modules[__name__].__class__ = _Decorator


if not TYPE_CHECKING:  # so that type checkers still see the names above, and only those

    def __getattr__(name: str) -> Any:
        # flowmancer_exec on first use, as for the package (see flowmancer/__init__.py).
        if name in __all__:
            import flowmancer_exec

            return getattr(flowmancer_exec, name)
        raise AttributeError(f"module 'flowmancer.task' has no attribute {name!r}", name=name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
