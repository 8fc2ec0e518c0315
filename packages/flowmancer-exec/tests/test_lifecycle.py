"""One attempt's lifecycle, the same on every executor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run
from exec_tasks import FailTimes, Hooks, Recorded, SlowSuccess

from flowmancer_dag import TaskState
from flowmancer_exec import ProcessExecutor, Runner, RunSnapshot, TaskSpec, ThreadExecutor


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


def test_a_timeout_after_run_returned_waits_for_the_hooks_then_fails_unretried(
    marks: Path, executor: str
) -> None:
    spec = TaskSpec(
        "t", SlowSuccess, {"folder": str(marks), "seconds": 0.6}, timeout=0.2, max_attempts=3
    )
    snapshots: list[RunSnapshot] = []
    result = Runner(
        [spec],
        executor=ProcessExecutor(2.0) if executor == "process" else ThreadExecutor(2.0),
        checkpoint=Saved(snapshots),
    ).run()
    assert result.states["t"] is TaskState.FAILED
    assert "in a hook after run() had completed" in result.reasons["t"]
    assert result.attempts["t"] == 1  # run()'s work is done: not retried
    assert (marks / "on_success").exists()
    assert not (marks / "on_abort").exists()
    assert snapshots[-1].ran == {"t"}  # a store keeps it COMPLETED for a resume


class Saved:
    def __init__(self, into: list[RunSnapshot]) -> None:
        self.into = into

    def save(self, snapshot: RunSnapshot) -> None:
        self.into.append(snapshot)


class Completions:
    """A checkpoint store that keeps what attempts record where they ran (in a file: a forked
    child cannot hand anything back in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, snapshot: object) -> None:
        pass

    def completion_recorder(self, snapshot: object) -> Completions:
        return self

    def completed(self, task: str, attempt: int, updates: object, deleted: object) -> None:
        with open(self.path, "a") as f:
            f.write(f"{task} {attempt} {updates} {deleted} {os.getpid()}\n")

    def revoked(self, task: str, attempt: int) -> None:
        with open(self.path, "a") as f:
            f.write(f"revoked {task} {attempt} {os.getpid()}\n")


def test_completed_attempts_are_recorded_where_they_ran_failed_ones_are_not(
    marks: Path, executor: str
) -> None:
    store = Completions(marks / "completions")
    specs = [
        TaskSpec("good", Recorded),
        TaskSpec("bad", Recorded, {"fail": True}),
        # run() returns, then on_success fails: recorded at once, then taken back.
        TaskSpec("late", Hooks, {"folder": str(marks), "fail_in": "on_success"}),
    ]
    result, _ = run(specs, executor, checkpoint=store)
    assert result.states == {
        "good": TaskState.COMPLETED,
        "bad": TaskState.FAILED,
        "late": TaskState.FAILED,
    }
    lines = sorted(line.rsplit(" ", 1) for line in (marks / "completions").read_text().splitlines())
    assert [text for text, _ in lines] == [
        "good 1 {'good': 1} ()",
        "late 1 {} ()",
        "revoked late 1",
    ]
    assert {int(pid) != os.getpid() for _, pid in lines} == {executor == "process"}


class PreparedCompletions(Completions):
    """Readies each attempt's recorder before the attempt starts, in the runner's process."""

    def prepare(self, task: str, attempt: int) -> Prepared:
        return Prepared(self, task, attempt, os.getpid())


class Prepared:
    def __init__(self, store: Completions, task: str, attempt: int, pid: int) -> None:
        self.store, self.task, self.attempt, self.pid = store, task, attempt, pid

    def completed(self, task: str, attempt: int, updates: object, deleted: object) -> None:
        assert (task, attempt) == (self.task, self.attempt)
        with open(self.store.path, "a") as f:
            f.write(f"prepared in {self.pid}: {task} {attempt} {updates} {os.getpid()}\n")

    def revoked(self, task: str, attempt: int) -> None:
        self.store.revoked(task, attempt)


def test_a_recorder_that_can_prepare_is_readied_by_the_runner_for_each_attempt(
    marks: Path, executor: str
) -> None:
    store = PreparedCompletions(marks / "completions")
    specs = [
        TaskSpec("good", Recorded),
        TaskSpec("again", FailTimes, {"times": 1}, max_attempts=2),
        TaskSpec("late", Hooks, {"folder": str(marks), "fail_in": "on_success"}),
    ]
    result, _ = run(specs, executor, checkpoint=store)
    assert result.attempts == {"good": 1, "again": 2, "late": 1}
    lines = sorted((marks / "completions").read_text().splitlines())
    runner = os.getpid()
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        f"prepared in {runner}: again 2 {{}}",
        f"prepared in {runner}: good 1 {{'good': 1}}",
        f"prepared in {runner}: late 1 {{}}",
        "revoked late 1",
    ]
