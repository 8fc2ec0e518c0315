"""Task states and trigger rules: the vocabulary every other package speaks."""

from __future__ import annotations

from enum import Enum

__all__ = ["TaskState", "TriggerRule"]


class TaskState(str, Enum):
    """The state of one task (a node) in a run.

    ``INIT`` waits for its upstream; ``PENDING`` has been handed out and waits for a slot;
    ``RUNNING`` is executing; ``COMPLETED`` and ``FAILED`` are the outcomes of running;
    ``DEFAULTED`` never ran because something upstream did not complete; ``SKIPPED`` did not
    run and did not need to: it was left out of the run, or it is a ``one_failed`` node whose
    upstream all succeeded. A left-out node becomes SKIPPED only when it would have been ready
    to run, so the order through it is kept. ``ABORTED`` was interrupted.

    Members are strings, so ``TaskState.COMPLETED == "COMPLETED"`` and they serialise as-is.
    """

    INIT = "INIT"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    DEFAULTED = "DEFAULTED"
    SKIPPED = "SKIPPED"
    ABORTED = "ABORTED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_finished(self) -> bool:
        """True for the states a node never leaves within a run."""
        return self in _FINISHED

    @property
    def satisfies_dependents(self) -> bool:
        """True for ``COMPLETED`` and ``SKIPPED``: dependents may run once a node reached one.

        A left-out node reaches SKIPPED only after its own upstream is satisfied, so what
        follows it still waits for what precedes it.
        """
        return self is TaskState.COMPLETED or self is TaskState.SKIPPED


_FINISHED = frozenset(
    {
        TaskState.COMPLETED,
        TaskState.FAILED,
        TaskState.DEFAULTED,
        TaskState.SKIPPED,
        TaskState.ABORTED,
    }
)


class TriggerRule(str, Enum):
    """When a node runs, given how its upstream nodes ended.

    ``ALL_SUCCESS`` (the default) runs once every upstream node is COMPLETED or SKIPPED and is
    DEFAULTED as soon as one is not. ``ALL_DONE`` runs once every upstream node has finished,
    whatever the outcome. ``ONE_FAILED`` runs as soon as any upstream node failed, was
    defaulted or aborted, and is SKIPPED if they all succeeded (for alerts). ``FINALLY`` runs
    after every other node of the graph has finished, whatever the outcome, and after its own
    dependencies (for cleanup that is really last); only ``finally`` nodes may depend on it.
    """

    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    ONE_FAILED = "one_failed"
    FINALLY = "finally"

    def __str__(self) -> str:
        return self.value
