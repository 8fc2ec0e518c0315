"""Results, async hooks and shared_dict conflicts through the Runner, on real executors."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from flowmancer_dag import TaskState
from flowmancer_exec import (
    ProcessExecutor,
    Runner,
    SharedDictConflict,
    Task,
    TaskSpec,
    ThreadExecutor,
)

S = TaskState


class Give(Task):
    value: int

    async def run(self) -> int:
        await asyncio.sleep(0.01)
        return self.value


class Sum(Task):
    folder: str

    def run(self) -> int:
        Path(self.folder, f"{self.metadata.name}.seen").write_text(repr(sorted(self.results)))
        return sum(self.results.values())


class Barrier(Task):
    """Appends its value to shared_dict['items'] once every Barrier has started."""

    folder: str
    value: int
    n: int

    def run(self) -> None:
        items = self.shared_dict.get("items", [])
        Path(self.folder, f"started-{self.value}").touch()
        while len(list(Path(self.folder).glob("started-*"))) < self.n:
            threading.Event().wait(0.01)
        self.shared_dict["items"] = [*items, self.value]


class Results(Task):
    """A parameter named results: the name was free in 0.12, and the parameter wins."""

    results: int = 5

    def run(self) -> int:
        return self.results


def executor(kind: str) -> ProcessExecutor | ThreadExecutor:
    return ProcessExecutor() if kind == "process" else ThreadExecutor()


@pytest.fixture(params=["process", "thread"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_task_sees_the_results_of_its_upstream_tasks_only(kind: str, tmp_path: Path) -> None:
    specs = [
        TaskSpec("a", Give, {"value": 1}),
        TaskSpec("b", Give, {"value": 2}, depends_on=["a"]),
        TaskSpec("c", Sum, {"folder": str(tmp_path)}, depends_on=["b"]),
        TaskSpec("other", Give, {"value": 100}),
        TaskSpec("param", Results),
    ]
    result = Runner(specs, executor=executor(kind)).run()
    assert result.ok, result.reasons
    assert (tmp_path / "c.seen").read_text() == "['a', 'b']"
    assert dict(result.results) == {"a": 1, "b": 2, "c": 3, "other": 100, "param": 5}


def test_results_given_to_a_run_are_read_by_the_tasks_downstream(kind: str, tmp_path: Path) -> None:
    specs = [
        TaskSpec("a", Give, {"value": 1}),
        TaskSpec("c", Sum, {"folder": str(tmp_path)}, depends_on=["a"]),
    ]
    result = Runner(specs, executor=executor(kind)).run(completed=["a"], results={"a": 41})
    assert result.ok and result.results["c"] == 41


def test_unordered_writers_of_one_key_are_counted_as_conflicts(kind: str, tmp_path: Path) -> None:
    specs = [
        TaskSpec(f"w{i}", Barrier, {"folder": str(tmp_path), "value": i, "n": 3}) for i in range(3)
    ]
    result = Runner(specs, executor=executor(kind)).run()
    assert result.ok
    assert len(result.shared_dict["items"]) == 1
    assert len(result.conflicts) == 2
    assert all(isinstance(c, SharedDictConflict) and c.key == "items" for c in result.conflicts)


def test_conflicts_as_errors_fail_the_later_writers(kind: str, tmp_path: Path) -> None:
    specs = [
        TaskSpec(f"w{i}", Barrier, {"folder": str(tmp_path), "value": i, "n": 3}) for i in range(3)
    ]
    runner = Runner(specs, executor=executor(kind), shared_dict_conflicts="error")
    result = runner.run()
    assert sorted(s.value for s in result.states.values()) == ["COMPLETED", "FAILED", "FAILED"]
    assert len(result.shared_dict["items"]) == 1
    assert all(c.refused for c in result.conflicts)


def test_an_unknown_conflict_mode_is_a_job_error() -> None:
    from flowmancer_exec import JobError

    with pytest.raises(JobError, match="config.shared_dict_conflicts: expected one of warn"):
        Runner([TaskSpec("a", Give, {"value": 1})], shared_dict_conflicts="ignore")
