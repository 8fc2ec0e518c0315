"""A resume never builds on stale work: whatever depends on a task that runs again runs again,
the ``--var`` values of the run being resumed are reused, a changed class counts as changed, and
``plan -r`` says why each task runs (secrets masked). ``-r --skip NAME`` keeps a task anyway.

Every test runs the driver as a user does (``python main.py``) in a project of its own.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from project_support import EXECUTORS, checkpoint, lines, run, write_project

TASKS = """\
from pathlib import Path
from flowmancer import Task, task


def note(name):
    with open("runs", "a") as f:
        f.write(name + "\\n")


@task
class Produce(Task):
    rows: int = 10

    def run(self):
        note(self.metadata.name)
        self.shared_dict["rows"] = list(range(self.rows))


@task
class Clean(Task):
    def run(self):
        note(self.metadata.name)
        self.shared_dict["clean"] = len(self.shared_dict["rows"])


@task
class Report(Task):
    def run(self):
        note(self.metadata.name)
        if Path("broken").exists():
            raise RuntimeError("broken on purpose")
        Path("report.txt").write_text(str(self.shared_dict["clean"]))


@task
class Other(Task):
    def run(self):
        note(self.metadata.name)
"""

JOB = """\
config:
  name: etl
  executor: {executor}
extensions: {{}}
tasks:
  produce:
    task: Produce
    parameters:
      rows: $VAR{{rows:10}}
  clean: {{task: Clean, dependencies: [produce]}}
  report: {{task: Report, dependencies: [clean]}}
  other: {{task: Other}}
"""


def project(tmp_path: Path, executor: str = "process") -> Path:
    folder = write_project(tmp_path / "etl", TASKS, JOB.format(executor=executor))
    (folder / "broken").touch()
    return folder


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_resume_runs_again_everything_downstream_of_a_task_that_runs_again(
    tmp_path: Path, executor: str
) -> None:
    folder = project(tmp_path, executor)
    first = run(folder)
    assert first.returncode == 1, first.stderr
    (folder / "broken").unlink()

    plan = run(folder, "-r", "--var", "rows=50", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "  produce: run: parameter rows changed: 10 -> 50" in plan.stdout
    assert "  clean: run: upstream produce runs again" in plan.stdout
    assert "  report: run: failed (RuntimeError: broken on purpose)" in plan.stdout
    assert "  other: skip: completed in the checkpoint, unchanged" in plan.stdout

    second = run(folder, "-r", "--var", "rows=50")
    assert second.returncode == 0, second.stderr
    assert "1 downstream of a task that runs again (clean)" in second.stderr
    assert (folder / "report.txt").read_text() == "50"  # built on the new clean, not the old
    assert sorted(lines(folder / "runs")[4:]) == ["clean", "produce", "report"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_resume_reuses_the_var_values_of_the_run_it_continues(
    tmp_path: Path, executor: str
) -> None:
    folder = project(tmp_path, executor)
    assert run(folder, "--var", "rows=50").returncode == 1
    (folder / "broken").unlink()

    second = run(folder, "-r")  # no --var: the run's own rows=50, not the default 10
    assert second.returncode == 0, second.stderr
    assert "3 completed kept; running 1 failed (report)" in second.stderr
    assert "continuing with --var rows=50 from the run it resumes" in second.stderr
    assert lines(folder / "runs")[4:] == ["report"]
    assert (folder / "report.txt").read_text() == "50"


def test_a_var_given_again_on_resume_wins_over_the_remembered_one(tmp_path: Path) -> None:
    folder = project(tmp_path)
    assert run(folder, "--var", "rows=50").returncode == 1
    (folder / "broken").unlink()
    second = run(folder, "-r", "--var", "rows=7")
    assert second.returncode == 0, second.stderr
    assert "continuing with" not in second.stderr
    assert (folder / "report.txt").read_text() == "7"


def test_a_completed_task_whose_class_code_changed_runs_again(tmp_path: Path) -> None:
    folder = project(tmp_path)
    assert run(folder).returncode == 1
    (folder / "broken").unlink()
    code = (folder / "tasks" / "__init__.py").read_text()
    edited = code.replace(
        'self.shared_dict["rows"] = list(range(self.rows))',
        'self.shared_dict["rows"] = list(range(self.rows * 2))',
    )
    assert edited != code
    (folder / "tasks" / "__init__.py").write_text(edited)

    plan = run(folder, "-r", "--dry-run")
    assert "  produce: run: code of Produce changed" in plan.stdout
    assert "  clean: run: upstream produce runs again" in plan.stdout
    second = run(folder, "-r")
    assert second.returncode == 0, second.stderr
    assert "1 changed since (produce)" in second.stderr
    assert (folder / "report.txt").read_text() == "20"


def test_skip_keeps_a_task_that_would_run_again(tmp_path: Path) -> None:
    folder = project(tmp_path)
    assert run(folder).returncode == 1
    (folder / "broken").unlink()

    plan = run(folder, "-r", "--var", "rows=50", "--skip", "produce", "--dry-run")
    assert (
        "  produce: skip: kept by --skip, although it would run again "
        "(parameter rows changed: 10 -> 50)" in plan.stdout
    )
    assert "  clean: skip: completed in the checkpoint, unchanged" in plan.stdout
    second = run(folder, "-r", "--var", "rows=50", "--skip", "produce")
    assert second.returncode == 0, second.stderr
    assert "kept by --skip although not up to date: produce" in second.stderr
    assert lines(folder / "runs")[4:] == ["report"]
    assert (folder / "report.txt").read_text() == "10"  # what the kept tasks made


def test_a_task_a_partial_resume_leaves_out_is_not_trusted_by_the_next_resume(
    tmp_path: Path,
) -> None:
    folder = project(tmp_path)
    assert run(folder).returncode == 1
    (folder / "broken").unlink()
    # produce runs again with new rows; clean and report, built on the old rows, are left out.
    partial = run(folder, "-r", "--var", "rows=50", "--run-to", "produce")
    assert partial.returncode == 0, partial.stderr
    assert lines(folder / "runs")[4:] == ["produce"]
    later = run(folder, "-r")  # rows=50 remembered: produce is up to date, clean is not
    assert later.returncode == 0, later.stderr
    assert lines(folder / "runs")[5:] == ["clean", "report"]
    assert (folder / "report.txt").read_text() == "50"


SECRET_TASKS = """\
from pathlib import Path
from flowmancer import Task, task


@task
class Connect(Task):
    url: str
    password: str
    apiKey: str
    rows: int = 1

    def run(self):
        if Path("broken").exists():
            raise RuntimeError("broken on purpose")
"""

SECRET_JOB = """\
config: {name: secrets}
extensions: {}
tasks:
  connect:
    task: Connect
    parameters:
      url: postgres://app:$ENV{DB_PASS}@db/main
      password: $VAR{password}
      apiKey: $VAR{key}
      rows: $VAR{rows:1}
  after:
    task: Connect
    dependencies: [connect]
    parameters: {url: plain, password: x, apiKey: y}
"""


def test_plan_r_names_changed_parameters_with_old_and_new_values_and_masks_secrets(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "secrets", SECRET_TASKS, SECRET_JOB)
    (folder / "broken").touch()
    env = {"DB_PASS": "s3cr3t-one"}
    first = run(folder, "--var", "password=hunter2", "--var", "key=k-123", env=env)
    assert first.returncode == 2, first.stderr  # both tasks failed (connect; after DEFAULTED)
    saved = json.dumps(checkpoint(folder, "secrets"))
    for secret in ("s3cr3t-one", "hunter2", "k-123"):
        assert secret not in saved, secret

    # Make connect COMPLETED, then change every parameter of it.
    (folder / "broken").unlink()
    (folder / "tasks" / "__init__.py").write_text(
        SECRET_TASKS.replace('Path("broken").exists()', 'self.metadata.name == "after"')
    )
    # --var values whose names look secret are not kept: a resume asks for them again.
    again = run(folder, "-r", env=env)
    assert again.returncode == 99 and "$VAR{password} is not set" in again.stderr
    assert (
        run(folder, "-r", "--var", "password=hunter2", "--var", "key=k-123", env=env).returncode
        == 1
    )
    plan = run(
        folder,
        "-r",
        "--dry-run",
        "--var",
        "password=letmein",
        "--var",
        "key=k-456",
        "--var",
        "rows=2",
        env={"DB_PASS": "s3cr3t-two"},
    )
    assert plan.returncode == 0, plan.stderr
    line = next(x for x in plan.stdout.splitlines() if x.startswith("  connect:"))
    assert "parameter url changed: *** -> ***" in line  # text from the environment
    assert "parameter password changed: *** -> ***" in line
    assert "parameter apiKey changed: *** -> ***" in line
    assert "parameter rows changed: 1 -> 2" in line
    for secret in ("s3cr3t", "hunter2", "letmein", "k-123", "k-456"):
        assert secret not in plan.stdout + plan.stderr, secret


OLD_CHECKPOINT = {
    "format": "flowmancer-checkpoint",
    "version": 1,
    "job": "etl",
    "run_id": "20261126T140307Z-1a2b3c4d",
    "started": 1796000000.0,
    "updated": 1796000001.0,
    "finished": True,
    "aborted": False,
    "generation": "0123456789abcdef",
    "tasks": {
        "produce": {"state": "COMPLETED", "attempts": 1, "fingerprint": "aaaa", "reason": None},
        "clean": {"state": "COMPLETED", "attempts": 1, "fingerprint": "bbbb", "reason": None},
        "report": {"state": "FAILED", "attempts": 1, "fingerprint": "cccc", "reason": "x"},
        "other": {"state": "COMPLETED", "attempts": 1, "fingerprint": None, "reason": None},
    },
    "shared_dict": {"rows": [0, 1], "clean": 2},
    "lost": {},
}


def test_a_checkpoint_written_before_these_fields_existed_still_resumes(tmp_path: Path) -> None:
    folder = project(tmp_path)
    (folder / "broken").unlink()
    (folder / ".flowmancer").mkdir()
    (folder / ".flowmancer" / "etl.json").write_text(json.dumps(OLD_CHECKPOINT))
    plan = run(folder, "-r", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    # Its fingerprints do not cover the code: the tasks it names as completed run again.
    assert "  produce: run: changed since (class, code or parameters)" in plan.stdout
    assert "  clean: run: changed since (class, code or parameters)" in plan.stdout
    assert "  other: skip: completed in the checkpoint, unchanged" in plan.stdout
    second = run(folder, "-r")
    assert second.returncode == 0, second.stderr
    assert sorted(lines(folder / "runs")) == ["clean", "produce", "report"]
