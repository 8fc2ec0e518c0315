"""How many attempts the scheduler starts before the run's loop settles the ones that ended."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from exec_tasks import Noop

from flowmancer_dag import TaskState
from flowmancer_exec import Attempt, AttemptResult, Emit, Runner, TaskSpec
from flowmancer_exec._run_schedule import BATCH


class Instant:
    """An executor whose attempts end as soon as the loop runs what waits on it: each end is
    queued on the loop by ``start_attempt`` itself. Counts the attempts in progress at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.started = 0

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        raise AssertionError("the runner uses start_attempt")  # pragma: no cover

    def start_attempt(
        self, attempt: Attempt, emit: Emit, done: Callable[[AttemptResult], object]
    ) -> Callable[[], None]:
        self.now += 1
        self.started += 1
        self.most = max(self.most, self.now)

        def end() -> None:
            self.now -= 1
            done(AttemptResult(True))

        asyncio.get_running_loop().call_soon(end)
        return lambda: None


def test_a_wide_job_is_started_in_batches_each_settled_before_the_next() -> None:
    # 0.12's and the old runner's way started all 3000 in one callback: 3000 in progress at once
    # (each with its records and its executor's state, 733 MB for 100,000 on the thread executor).
    n = 3 * BATCH + 7
    executor = Instant()
    result = Runner(
        [TaskSpec(f"t{i}", Noop) for i in range(n)], executor=executor, job="wide"
    ).run()
    assert set(result.states.values()) == {TaskState.COMPLETED}
    assert executor.started == n
    assert executor.most == BATCH


def test_a_chain_starts_each_task_at_once_past_the_batch() -> None:
    # The budget is per turn of the loop, not per run: a long chain is not held back.
    n = 2 * BATCH + 3
    specs = [TaskSpec(f"t{i}", Noop, depends_on=[f"t{i - 1}"] if i else []) for i in range(n)]
    executor = Instant()
    result = Runner(specs, executor=executor, job="chain").run()
    assert set(result.states.values()) == {TaskState.COMPLETED}
    assert executor.started == n
    assert executor.most == 1
