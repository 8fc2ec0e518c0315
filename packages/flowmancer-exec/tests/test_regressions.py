"""Faults found in review, each pinned by a test."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run
from exec_tasks import (
    ChildOnlyValue,
    Count,
    Daemon,
    FailTimes,
    GcCheck,
    Noop,
    PutBox,
    ReadBox,
    Sleep,
)

from flowmancer_dag import TaskState
from flowmancer_exec import JobError, Runner, TaskSpec, ThreadExecutor

S = TaskState


def test_a_thread_executor_can_run_again_after_a_stopped_attempt() -> None:
    executor = ThreadExecutor(grace_period=2)
    first = Runner([TaskSpec("slow", Sleep, {"seconds": 5}, timeout=0.2)], executor=executor).run()
    assert first.states["slow"] is S.FAILED
    second = Runner([TaskSpec("a", Noop), TaskSpec("b", Noop)], executor=executor).run()
    assert second.ok


def test_a_huge_number_of_doubling_retries_does_not_overflow() -> None:
    spec = TaskSpec(
        "poll",
        FailTimes,
        {"times": 1050},
        max_attempts=1100,
        backoff=1e-9,
        backoff_factor=2.0,
        max_backoff=0,
    )
    result, _ = run([spec], "thread")
    assert result.states["poll"] is S.COMPLETED
    assert result.attempts["poll"] == 1051


def test_timeouts_right_after_fork_never_abort_the_run() -> None:
    # run() lasts far longer than any stall of the runner's loop: forking 30 children on a
    # loaded machine can hold the loop past a 1 s run(), and a run() that returns before its
    # stop arrives is COMPLETED (or failed "in a hook"), not what this test is about.
    specs = [TaskSpec(f"t{i}", Sleep, {"seconds": 60}, timeout=0.0001) for i in range(30)]
    result, _ = run(specs, "process", grace=1)
    assert not result.aborted
    # On a busy machine some end before the runner gets round to their timers: over time all
    # the same (see the next test).
    for i in range(30):
        assert result.states[f"t{i}"] is S.FAILED, (f"t{i}", result.reasons.get(f"t{i}"))
        assert result.reasons[f"t{i}"].startswith("timed out after 0.0001 s")


class _BusyLoop:
    """An observer that keeps the runner's loop busy from the start of ``slow`` until its
    attempt has ended (its process exited, or, on threads, its run() returned)."""

    def __init__(self, folder: Path, executor: str) -> None:
        self.folder = folder
        self.executor = executor

    def on_state_change(self, change: Any) -> None:
        if change.task != "slow" or change.after is not S.RUNNING:
            return
        deadline = time.monotonic() + 30
        while not (self.folder / "slow.end").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.executor == "process":
            pid = int((self.folder / "slow.start").read_text().split()[1])
            stat = Path(f"/proc/{pid}/stat")
            while time.monotonic() < deadline:
                try:
                    if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                        break
                except (FileNotFoundError, ProcessLookupError):
                    break
                time.sleep(0.01)
        else:
            time.sleep(0.3)  # its remaining hooks and the report back

    def on_log(self, record: Any) -> None:
        pass


def test_an_attempt_that_ends_while_the_runner_is_busy_past_its_timeout_still_timed_out(
    executor: str, marks: Path
) -> None:
    spec = TaskSpec("slow", Sleep, {"seconds": 0.3, "folder": str(marks)}, timeout=0.1)
    result, _ = run([spec], executor, observers=[_BusyLoop(marks, executor)])
    assert result.states["slow"] is S.FAILED, result.reasons
    assert result.reasons["slow"].startswith("timed out after 0.1 s"), result.reasons
    assert result.attempts["slow"] == 1  # its run() completed: not run again


def test_a_task_that_only_read_a_key_does_not_write_an_old_copy_back(executor: str) -> None:
    specs = [
        TaskSpec("seed", PutBox, {"value": 0}),
        TaskSpec("writer", PutBox, {"value": 1}, depends_on=["seed"]),
        TaskSpec("reader", ReadBox, {"delay": 0.3}, depends_on=["seed"]),
    ]
    result, _ = run(specs, executor)
    assert result.ok
    assert result.shared_dict["box"].v == 1


def test_garbage_collection_works_inside_a_forked_task() -> None:
    result, _ = run([TaskSpec("gc", GcCheck)], "process")
    assert result.ok, result.reasons


def test_a_result_the_runner_cannot_read_fails_the_attempt_cleanly(tmp_path: Path) -> None:
    result, recorder = run([TaskSpec("odd", ChildOnlyValue, {"folder": str(tmp_path)})], "process")
    assert result.states["odd"] is S.FAILED
    assert result.reasons["odd"].startswith("a message could not be read: ")


def test_a_cancelled_run_starts_nothing_more(tmp_path: Path) -> None:
    spec = TaskSpec("again", Count, {"folder": str(tmp_path)}, max_attempts=50, backoff=0.05)
    runner = Runner([spec], executor=ThreadExecutor())

    async def cancel_soon() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(runner.run_async(), 0.12)
        await asyncio.sleep(0.4)

    asyncio.run(cancel_soon())
    attempts = (tmp_path / "count").read_text().split()
    time.sleep(0.3)
    assert (tmp_path / "count").read_text().split() == attempts
    assert len(attempts) <= 4


def test_stopped_thread_attempts_report_at_once_instead_of_waiting_out_the_grace() -> None:
    specs = [TaskSpec(f"t{i}", Sleep, {"seconds": 0.02}, timeout=0.02) for i in range(100)]
    result, _ = run(specs, "thread", grace=5, max_concurrency=10)
    assert not any("did not stop" in r for r in result.reasons.values())


@pytest.mark.parametrize("text", ["\u00b2", "+-3", "1.5", ""])
def test_odd_strings_for_an_int_are_a_parameter_problem(text: str) -> None:
    with pytest.raises(JobError, match=r"tasks\.t\.parameters\.times: expected int"):
        Runner([TaskSpec("t", FailTimes, {"times": text})])


def test_retry_on_as_a_single_string_is_refused() -> None:
    with pytest.raises(JobError, match=r"tasks\.t\.retry_on: expected a list of exception names"):
        Runner([TaskSpec("t", Noop, retry_on="OSError")])


def test_the_applications_own_signal_handlers_are_left_alone() -> None:
    import signal

    async def app() -> list[str]:
        heard: list[str] = []
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: heard.append("usr1"))
        loop.add_signal_handler(signal.SIGTERM, lambda: heard.append("term"))
        result = await Runner([TaskSpec("a", Noop)], executor=ThreadExecutor()).run_async()
        assert result.ok
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)
        loop.remove_signal_handler(signal.SIGTERM)
        loop.remove_signal_handler(signal.SIGUSR1)
        return heard

    assert asyncio.run(app()) == ["term"]


def _zombie_children() -> list[int]:
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == me:
                found.append(int(entry.name))
    return found


def test_processes_that_leave_the_group_are_not_adopted_as_zombies() -> None:
    result, _ = run([TaskSpec("d", Daemon)], "process")
    assert result.ok
    time.sleep(0.5)  # the daemon has ended by now
    assert _zombie_children() == []


def test_closing_the_process_executor_with_finished_collectors_returns() -> None:
    # On Python 3.12+ awaiting gather() of tasks that are all done does not yield to the loop,
    # so a close() that waited for its set to empty itself spun forever. In a subprocess, so a
    # regression fails here instead of hanging the suite.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import asyncio
        from flowmancer_exec import ProcessExecutor

        async def scenario():
            executor = ProcessExecutor()

            async def done_at_once():
                return None

            task = asyncio.get_running_loop().create_task(done_at_once())
            await asyncio.sleep(0)
            executor._collecting.add(task)
            task.add_done_callback(executor._collecting.discard)
            await executor.close()
            print("closed")

        asyncio.run(scenario())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "closed", done.stderr
