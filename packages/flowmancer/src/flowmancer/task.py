"""``flowmancer.task`` as in Flowmancer 0.12: ``Task``, ``task`` and ``TaskMetadata``."""

from flowmancer_exec import Task, TaskMetadata, task

__all__ = ["Task", "TaskMetadata", "task"]
