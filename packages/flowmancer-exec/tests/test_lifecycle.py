"""One attempt's lifecycle, the same on every executor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run
from exec_tasks import Hooks

from flowmancer_dag import TaskState
from flowmancer_exec import TaskSpec


def hooks(folder: Path, name: str = "t") -> list[str]:
    return [line.split(":")[0] for line in (folder / f"{name}.hooks").read_text().splitlines()]


def test_hooks_run_in_order_in_one_process(marks: Path, executor: str) -> None:
    result, _ = run([TaskSpec("t", Hooks, {"folder": str(marks)})], executor)
    assert result.states["t"] is TaskState.COMPLETED
    assert hooks(marks) == ["on_create", "run", "on_success", "on_destroy"]
    pids = {line.split(":")[2] for line in (marks / "t.hooks").read_text().splitlines()}
    assert len(pids) == 1
    if executor == "process":
        assert pids != {str(os.getpid())}
    else:
        assert pids == {str(os.getpid())}


def test_on_restart_runs_only_for_a_restarted_task(marks: Path, executor: str) -> None:
    result, _ = run(
        [TaskSpec("t", Hooks, {"folder": str(marks)})], executor, run_kwargs={"restarted": ["t"]}
    )
    assert result.ok
    assert hooks(marks) == ["on_create", "on_restart", "run", "on_success", "on_destroy"]


@pytest.mark.parametrize(
    ("fail_in", "expected"),
    [
        ("on_create", ["on_create", "on_failure", "on_destroy"]),
        ("run", ["on_create", "run", "on_failure", "on_destroy"]),
        ("on_success", ["on_create", "run", "on_success", "on_destroy"]),
        ("on_failure", None),  # run succeeded, so on_failure never runs: the task completes
        ("on_destroy", ["on_create", "run", "on_success", "on_destroy"]),
    ],
)
def test_an_exception_in_any_hook_fails_the_attempt_with_its_traceback(
    marks: Path, executor: str, fail_in: str, expected: list[str] | None
) -> None:
    result, recorder = run(
        [TaskSpec("t", Hooks, {"folder": str(marks), "fail_in": fail_in})], executor
    )
    if expected is None:
        assert result.states["t"] is TaskState.COMPLETED
        return
    assert result.states["t"] is TaskState.FAILED
    assert hooks(marks) == expected
    where = "" if fail_in == "run" else f" in {fail_in}"
    assert result.reasons["t"] == f"RuntimeError: failing in {fail_in}{where}"
    trace = "\n".join(recorder.lines("t", "runner"))
    assert "Traceback (most recent call last)" in trace
    assert 'raise RuntimeError(f"failing in {name}")' in trace


def test_on_failure_runs_after_a_failed_run_and_can_fail_too(marks: Path, executor: str) -> None:
    class_params = {"folder": str(marks), "fail_in": "run"}
    result, _ = run([TaskSpec("t", Hooks, class_params)], executor)
    assert result.states["t"] is TaskState.FAILED
    assert hooks(marks)[-2:] == ["on_failure", "on_destroy"]


def test_metadata_names_the_task_its_class_dependencies_and_attempt(
    marks: Path, executor: str
) -> None:
    from exec_tasks import Noop

    class_specs = [
        TaskSpec("first", Noop),
        TaskSpec("second", Hooks, {"folder": str(marks)}, depends_on=["first"]),
    ]
    result, _ = run(class_specs, executor)
    assert result.ok
    lines = (marks / "second.hooks").read_text().splitlines()
    assert all(line.split(":")[1] == "1" for line in lines)
