"""Concurrent writes to one ``shared_dict`` key by tasks not ordered by dependencies are
reported, never lost silently; ``config.shared_dict_conflicts: error`` fails the later writer
instead (with retries, every write gets in); one key per task never conflicts.

Eight matrix tasks each read a list, wait until all eight have started, append their part and
write the list back: every write after the first replaces a value its task never saw.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from project_support import EXECUTORS, checkpoint, log_of, run, start, write_project

TASKS = """\
import os, time
from pathlib import Path
from flowmancer import Task, task


def all_started(part, n):
    # Each attempt starts from shared_dict as it was when it started: wait until every one
    # has, so that none of them can have seen another's write.
    Path(f"started-{part}-{os.getpid()}-{time.monotonic_ns()}").touch()
    deadline = time.monotonic() + 60
    while len({p.name.split("-")[1] for p in Path(".").glob("started-*")}) < n:
        assert time.monotonic() < deadline, "not all started"
        time.sleep(0.01)


@task
class Append(Task):
    part: int
    n: int = 8

    def run(self):
        results = self.shared_dict.get("results", [])
        all_started(self.part, self.n)
        results.append(self.part)
        self.shared_dict["results"] = results


@task
class OwnKey(Task):
    part: int
    n: int = 8

    def run(self):
        all_started(self.part, self.n)
        self.shared_dict[f"result-{self.part}"] = self.part


@task
class Hold(Task):
    def run(self):
        time.sleep(120)  # keeps the run going until the test kills it


@task
class Show(Task):
    def run(self):
        Path("shown.txt").write_text(repr(dict(sorted(self.shared_dict.items()))))
"""

JOB = """\
config:
  name: fan
  executor: {executor}
  shared_dict_conflicts: {mode}
extensions: {{}}
tasks:
  add:
    task: {task}
    matrix:
      part: [1, 2, 3, 4, 5, 6, 7, 8]
    max_attempts: {attempts}
  show:
    task: Show
    dependencies: [add]
"""


def project(
    tmp_path: Path, executor: str, mode: str = "warn", task: str = "Append", attempts: int = 1
) -> Path:
    job = JOB.format(executor=executor, mode=mode, task=task, attempts=attempts)
    return write_project(tmp_path / "fan", TASKS, job)


def shown(folder: Path) -> dict[str, object]:
    value: dict[str, object] = ast.literal_eval((folder / "shown.txt").read_text())
    return value


@pytest.mark.parametrize("executor", EXECUTORS)
def test_lost_updates_are_warned_of_naming_key_and_tasks_and_counted(
    tmp_path: Path, executor: str
) -> None:
    folder = project(tmp_path, executor)
    done = run(folder)
    assert done.returncode == 0, done.stderr
    assert len(shown(folder)["results"]) == 1  # type: ignore[arg-type]
    assert "succeeded in" in done.stdout and "9 completed; 7 shared_dict conflicts" in done.stdout
    warned = [
        line
        for i in range(1, 9)
        for line in log_of(folder, "fan", f"add[{i}]").splitlines()
        if "WARNING" in line and "shared_dict['results']" in line
    ]
    assert len(warned) == 7
    for line in warned:
        assert "replaced what add[" in line and "not ordered by dependencies" in line


@pytest.mark.parametrize("executor", EXECUTORS)
def test_conflicts_as_errors_fail_the_later_writers_and_resume_runs_them(
    tmp_path: Path, executor: str
) -> None:
    folder = project(tmp_path, executor, mode="error")
    done = run(folder)
    assert done.returncode == 8, done.stderr  # 7 writers failed, show DEFAULTED
    assert "shared_dict conflict: add[" in done.stderr
    # The failed writers are FAILED in the checkpoint, also where their completion was first
    # recorded where they ran: a resume runs them again.
    saved = checkpoint(folder, "fan")
    states = [saved["tasks"][f"add[{i}]"]["state"] for i in range(1, 9)]
    assert sorted(states) == ["COMPLETED"] + ["FAILED"] * 7
    plan = run(folder, "-r", "--dry-run")
    assert "1 completed kept; running 7 failed" in plan.stderr


@pytest.mark.parametrize("executor", EXECUTORS)
def test_conflicts_as_errors_with_retries_let_every_write_in(tmp_path: Path, executor: str) -> None:
    folder = project(tmp_path, executor, mode="error", attempts=8)
    done = run(folder)
    assert done.returncode == 0, done.stderr
    assert sorted(shown(folder)["results"]) == [1, 2, 3, 4, 5, 6, 7, 8]  # type: ignore[arg-type]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_one_key_per_task_never_conflicts(tmp_path: Path, executor: str) -> None:
    folder = project(tmp_path, executor, task="OwnKey")
    done = run(folder)
    assert done.returncode == 0, done.stderr
    assert "conflict" not in done.stderr
    assert shown(folder) == {f"result-{i}": i for i in range(1, 9)}


def refused(folder: Path) -> set[str]:
    """The writers the runner's own saves say FAILED (what the early records say aside)."""
    text = "".join(
        p.read_text() for p in (folder / ".flowmancer").glob("fan.*") if p.suffix != ".lock"
    )
    return set(re.findall(r'"(add\[\d\])": \{"state": "FAILED"', text))


def test_a_refused_write_is_not_kept_as_completed_by_a_driver_killed_right_after(
    tmp_path: Path,
) -> None:
    from flowmancer_checkpoint import FileCheckpointer

    folder = project(tmp_path, "process", mode="error")
    job = (folder / "job.yaml").read_text()
    (folder / "job.yaml").write_text(job + "  hold: {task: Hold}\n")
    driver = start(folder)
    store = FileCheckpointer(folder / ".flowmancer")
    try:
        deadline = time.monotonic() + 60
        while len(refused(folder)) < 7:  # until the runner has saved each refusal
            assert time.monotonic() < deadline and driver.poll() is None
            time.sleep(0.05)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.communicate(timeout=60)
    # Each writer recorded its completion where it ran, before the runner refused its write:
    # the refusal took it back, so the seven stay FAILED and a resume runs them again.
    record = store.load("fan")
    assert record is not None
    states = sorted(record.tasks[f"add[{i}]"].state.value for i in range(1, 9))
    assert states == ["COMPLETED"] + ["FAILED"] * 7
