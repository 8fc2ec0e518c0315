"""Scheduling: what became ready is queued, and started as far as the concurrency limit and the
pools allow, in the order it became ready.

``dispatch`` runs in the same callback as the attempt end that made tasks ready: no polling
interval sits between a task's end and its dependents' start.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping

from flowmancer_dag import Run, TaskState

from ._job import TaskSpec
from ._run_abort import Abort
from ._run_running import Running

__all__ = ["Scheduler"]

S = TaskState


class Scheduler:
    """The queue of ready tasks and the pools' use. ``start`` (the attempts' own, handed in once
    they exist) starts one task's next attempt."""

    __slots__ = (
        "abort",
        "change",
        "limit",
        "pool_use",
        "pools",
        "queue",
        "ready",
        "running",
        "specs",
        "start",
    )

    def __init__(
        self,
        run: Run[str],
        specs: Mapping[str, TaskSpec],
        change: Callable[[str, TaskState], None],
        abort: Abort,
        max_concurrency: int,
        pools: Mapping[str, int],
        running: Mapping[str, Running],
        queue: collections.deque[str],
    ) -> None:
        self.ready = run.ready
        self.specs = specs
        self.change = change
        self.abort = abort
        self.limit = max_concurrency
        self.pools = pools
        self.running = running
        self.queue = queue  # the abort's too (see Abort.start_cleanup)
        self.pool_use: dict[str, int] = dict.fromkeys(pools, 0)
        self.start: Callable[[str], None] = _unwired

    def dispatch(self) -> None:
        """Queue what became ready and start what the limits allow."""
        queue = self.queue
        for name in self.ready():
            queue.append(name)
            self.change(name, S.PENDING)
        abort = self.abort
        if abort.aborts and not (abort.cleanup_started and not abort.cleanup_over):
            return
        limit = self.limit
        running = self.running
        blocked: list[str] = []
        while queue and not (limit and len(running) >= limit):
            name = queue.popleft()
            pool = self.specs[name].pool
            if pool is not None:
                if self.pool_use[pool] >= self.pools[pool]:
                    blocked.append(name)
                    continue
                self.pool_use[pool] += 1  # given back by free() when the attempt ends
            self.start(name)
        queue.extendleft(reversed(blocked))

    def free(self, pool: str) -> None:
        """An attempt of a task in ``pool`` ended."""
        self.pool_use[pool] -= 1


def _unwired(*_: object) -> None:
    raise RuntimeError("the run's parts were not wired together")  # a bug of ours
