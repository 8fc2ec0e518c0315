"""Checkpoints written by the real Runner, and resumed: nothing finished is run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flowmancer_checkpoint import (
    Checkpointer,
    FileCheckpointer,
    SQLiteCheckpointer,
    plan_resume,
)
from flowmancer_dag import TaskState
from flowmancer_exec import ProcessExecutor, Runner, TaskSpec, ThreadExecutor

sys.path.insert(0, os.path.dirname(__file__))
from checkpoint_run_tasks import Step

S = TaskState


def store_of(kind: str, folder: Path) -> Checkpointer:
    if kind == "file":
        return FileCheckpointer(folder / ".flowmancer")
    return SQLiteCheckpointer(folder / ".flowmancer" / "checkpoint.db")


@pytest.fixture(params=["file", "sqlite"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def diamond(folder: Path, seconds: float = 0.0, **changed: object) -> list[TaskSpec]:
    p = {"folder": str(folder), "seconds": seconds}
    return [
        TaskSpec("extract", Step, p),
        TaskSpec("left", Step, {**p, **changed}, depends_on=["extract"]),
        TaskSpec("right", Step, {**p, "breakable": True}, depends_on=["extract"]),
        TaskSpec("load", Step, p, depends_on=["left", "right"]),
    ]


def resume(runner: Runner, store: Checkpointer) -> tuple[str, object]:
    plan = plan_resume(runner.job, store.load(runner.job), runner.prepared.fingerprints)
    result = runner.run(
        completed=plan.completed, restarted=plan.restarted, shared_dict=plan.shared_dict
    )
    return plan.summary(), result


def runs(folder: Path) -> list[str]:
    path = folder / "runs"
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_a_failed_run_resumes_without_redoing_finished_work(
    tmp_path: Path, kind: str, executor: str
) -> None:
    store = store_of(kind, tmp_path)
    (tmp_path / "broken").touch()
    chosen = ProcessExecutor if executor == "process" else ThreadExecutor
    first = Runner(diamond(tmp_path), job="etl", executor=chosen(), checkpoint=store).run()
    assert first.states == {
        "extract": S.COMPLETED,
        "left": S.COMPLETED,
        "right": S.FAILED,
        "load": S.DEFAULTED,
    }
    saved = store.load("etl")
    assert saved is not None and saved.finished and not saved.ok
    assert saved.shared_dict == {"extract": 0, "left": 0}

    (tmp_path / "broken").unlink()
    runner = Runner(diamond(tmp_path), job="etl", executor=chosen(), checkpoint=store)
    summary, second = resume(runner, store)
    assert "2 completed kept; running 1 failed (right), 1 not run (upstream failed) (load)" in (
        summary
    )
    assert second.ok  # type: ignore[attr-defined]
    assert runs(tmp_path) == ["extract", "left", "right", "load"]  # each exactly once
    assert (tmp_path / "restarted-right").exists()
    assert not (tmp_path / "restarted-load").exists()  # DEFAULTED, not failed: no on_restart
    assert store.load("etl") is None  # cleared by the clean finish


def test_a_changed_task_runs_again_on_resume(tmp_path: Path, kind: str) -> None:
    store = store_of(kind, tmp_path)
    (tmp_path / "broken").touch()
    Runner(diamond(tmp_path), job="etl", executor=ThreadExecutor(), checkpoint=store).run()
    (tmp_path / "broken").unlink()
    edited = diamond(tmp_path)
    edited[1] = TaskSpec("left", Step, {"folder": str(tmp_path), "seconds": 0.001}, ["extract"])
    runner = Runner(edited, job="etl", executor=ThreadExecutor(), checkpoint=store)
    summary, result = resume(runner, store)
    assert "1 completed kept;" in summary and "1 changed since (left)" in summary
    assert result.ok  # type: ignore[attr-defined]
    first, again = runs(tmp_path)[:2], runs(tmp_path)[2:]
    assert first == ["extract", "left"]
    assert sorted(again) == ["left", "load", "right"]


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from typing import Any
from checkpoint_run_tasks import Step
from test_checkpoint_runs import chain, store_of
from flowmancer_exec import Runner
folder = Path({folder!r})
store = store_of({kind!r}, folder)
runner = Runner(chain(folder, {n}, {seconds}), job="long", checkpoint=store)
print("started", flush=True)
result = runner.run()
print("ended", result.aborted, flush=True)
"""


def chain(folder: Path, n: int, seconds: float) -> list[TaskSpec]:
    p = {"folder": str(folder), "seconds": seconds}
    return [
        TaskSpec(f"s{i:02d}", Step, p, depends_on=[f"s{i - 1:02d}"] if i else []) for i in range(n)
    ]


def start_driver(tmp_path: Path, kind: str, n: int, seconds: float) -> subprocess.Popen[bytes]:
    code = DRIVER.format(
        tests=os.path.dirname(__file__), folder=str(tmp_path), kind=kind, n=n, seconds=seconds
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert driver.stdout is not None and driver.stdout.readline() == b"started\n"
    return driver


def wait_for_runs(folder: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(runs(folder)) < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_run_writes_its_final_state_and_resumes_from_it(
    tmp_path: Path, kind: str, sig: signal.Signals
) -> None:
    driver = start_driver(tmp_path, kind, n=12, seconds=0.1)
    wait_for_runs(tmp_path, 3)
    driver.send_signal(sig)
    out, _ = driver.communicate(timeout=60)
    assert out == b"ended True\n"
    saved = store_of(kind, tmp_path).load("long")
    assert saved is not None and saved.finished and saved.aborted
    done = [n for n, t in saved.tasks.items() if t.state is S.COMPLETED]
    assert done == runs(tmp_path)  # what the checkpoint says finished is what finished

    store = store_of(kind, tmp_path)
    runner = Runner(chain(tmp_path, 12, 0.1), job="long", checkpoint=store)
    _, result = resume(runner, store)
    assert result.ok  # type: ignore[attr-defined]
    assert runs(tmp_path) == [f"s{i:02d}" for i in range(12)]  # none twice, none missing


def test_kill_9_of_the_driver_loses_at_most_the_finish_in_flight(tmp_path: Path, kind: str) -> None:
    driver = start_driver(tmp_path, kind, n=30, seconds=0.03)
    wait_for_runs(tmp_path, 10)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.communicate(timeout=60)
    before = runs(tmp_path)
    store = store_of(kind, tmp_path)
    saved = store.load("long")
    assert saved is not None and not saved.finished
    kept = [n for n, t in saved.tasks.items() if t.state is S.COMPLETED]
    assert kept == before[: len(kept)] and len(before) - len(kept) <= 1
    runner = Runner(chain(tmp_path, 30, 0.03), job="long", checkpoint=store)
    _, result = resume(runner, store)
    assert result.ok  # type: ignore[attr-defined]
    assert set(runs(tmp_path)) == {f"s{i:02d}" for i in range(30)}
    assert len(runs(tmp_path)) - 30 <= 1


class Verifying(FileCheckpointer):
    """After every save, what a resume would read must equal the runner's whole state."""

    checked = 0

    def save(self, snapshot: Any) -> None:
        super().save(snapshot)
        if snapshot.finished and snapshot.ok:
            return  # cleared
        record = self.load(snapshot.job)
        assert record is not None
        assert {n: t.state for n, t in record.tasks.items()} == dict(snapshot.states)
        assert {n: t.attempts for n, t in record.tasks.items()} == dict(snapshot.attempts)
        assert {n: t.reason for n, t in record.tasks.items() if t.reason} == dict(snapshot.reasons)
        assert record.shared_dict == dict(snapshot.shared_dict)
        Verifying.checked += 1


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_what_each_save_leaves_on_disk_is_the_runners_whole_state(
    tmp_path: Path, executor: str
) -> None:
    from checkpoint_run_tasks import Churn

    specs = [
        TaskSpec(
            f"c{i}",
            Churn,
            {"fails": i % 3},
            depends_on=[f"c{i - 3}"] if i >= 3 else [],
            max_attempts=3 if i % 4 else 1,
        )
        for i in range(24)
    ]
    chosen = ProcessExecutor() if executor == "process" else ThreadExecutor()
    Verifying.checked = 0
    Verifying.mismatches = []
    result = Runner(
        specs, job="churn", executor=chosen, max_concurrency=3, checkpoint=Verifying(tmp_path)
    ).run()
    assert not result.ok  # some ran out of attempts: the final state is kept and verified too
    assert Verifying.mismatches == []
    assert Verifying.checked >= 3  # saves coalesce: how many depends on timing
