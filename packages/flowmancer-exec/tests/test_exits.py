"""A child's end is read honestly, and nothing of it is left behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import alive, run
from exec_tasks import Exit, Grandchild, Noop, Sleep

from flowmancer_dag import TaskState
from flowmancer_exec import TaskSpec


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("sys.exit", "sys.exit(3)"),
        ("os._exit", "exited with code 3 before reporting a result"),
        ("os._exit0", "exited (code 0) before reporting a result, as os._exit() does"),
        ("sigkill", "killed by signal 9 (SIGKILL); out of memory, or killed from outside"),
        ("segfault", "killed by signal 11 (SIGSEGV)"),
        ("memory", "MemoryError"),
    ],
)
def test_every_way_of_dying_is_failed_with_its_reason_and_the_rest_carries_on(
    how: str, reason: str
) -> None:
    specs = [
        TaskSpec("dies", Exit, {"how": how}),
        TaskSpec("after", Noop, depends_on=["dies"]),
        TaskSpec("independent", Noop),
    ]
    result, recorder = run(specs, "process")
    assert result.states == {
        "dies": TaskState.FAILED,
        "after": TaskState.DEFAULTED,
        "independent": TaskState.COMPLETED,
    }
    assert result.reasons["dies"] == reason
    assert result.exit_code == 2
    if how == "segfault":  # the crash's Python stack is in the task's own log
        assert "Fatal Python error: Segmentation fault" in recorder.lines("dies", "stderr")


def test_a_timeout_stops_the_attempt_and_its_grandchildren(marks: Path) -> None:
    started = time.monotonic()
    result, recorder = run(
        [TaskSpec("slow", Grandchild, {"folder": str(marks)}, timeout=1.0)], "process", grace=0.5
    )
    assert time.monotonic() - started < 10
    assert result.states["slow"] is TaskState.FAILED
    assert result.reasons["slow"] == "timed out after 1 s"
    grandchild = int((marks / "grandchild.pid").read_text())
    assert not alive(grandchild)


def test_a_timeout_delivers_on_abort_and_retries_apply(marks: Path, executor: str) -> None:
    result, recorder = run(
        [
            TaskSpec(
                "slow", Sleep, {"seconds": 30, "folder": str(marks)}, timeout=0.5, max_attempts=2
            )
        ],
        executor,
        grace=2.0,
    )
    assert result.states["slow"] is TaskState.FAILED
    assert result.attempts["slow"] == 2
    assert (marks / "slow.aborted").read_text().count("\n") == 2
    assert recorder.states("slow") == ["PENDING", "RUNNING", "PENDING", "RUNNING", "FAILED"]


def test_no_process_of_an_attempt_outlives_it(marks: Path) -> None:
    result, _ = run(
        [TaskSpec("quick", Grandchild, {"folder": str(marks), "then_sleep": 0.2})], "process"
    )
    assert result.ok
    grandchild = int((marks / "grandchild.pid").read_text())
    assert not alive(grandchild)


def test_the_runner_is_not_signalled_by_its_children() -> None:
    # A child killing its own process group must not reach the runner (own group per attempt).
    class KillGroup(Noop):
        def run(self) -> None:
            os.killpg(0, signal.SIGTERM)

    result, _ = run([TaskSpec("k", KillGroup), TaskSpec("other", Noop)], "process")
    assert result.states["other"] is TaskState.COMPLETED
    assert result.states["k"] is TaskState.FAILED
