"""A fan-out sized per run from the command line: a variable that is the whole value of a matrix
axis is read as a comma-separated list, and ``validate``, ``plan`` and ``graph`` show what it
expands to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from project_support import EXECUTORS, run, write_project

TASKS = """\
from pathlib import Path
from flowmancer import Task, task


@task
class Part(Task):
    part: str

    def run(self):
        return f"part {self.part}"


@task
class Merge(Task):
    def run(self):
        Path("merged.txt").write_text(repr(sorted(self.results.items())))
"""

JOB = """\
config: {{name: fan, executor: {executor}}}
extensions: {{}}
tasks:
  process:
    task: Part
    matrix:
      part: $VAR{{parts}}
  merge:
    task: Merge
    dependencies: [process]
"""


def flowmancer(*args: str) -> subprocess.CompletedProcess[str]:
    command = "import sys; from flowmancer._cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", command, *args], capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_matrix_axis_from_a_variable_fans_out_as_many_tasks_as_values(
    tmp_path: Path, executor: str
) -> None:
    folder = write_project(tmp_path / "fan", TASKS, JOB.format(executor=executor))
    done = run(folder, "--var", "parts=00,01, 02")
    assert done.returncode == 0, done.stderr
    assert (folder / "merged.txt").read_text() == (
        "[('process[00]', 'part 00'), ('process[01]', 'part 01'), ('process[02]', 'part 02')]"
    )
    assert run(folder, "--var", "parts=eu").returncode == 0
    assert (folder / "merged.txt").read_text() == "[('process[eu]', 'part eu')]"


def test_validate_plan_and_graph_show_the_expansion(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "fan", TASKS, JOB.format(executor="process"))
    job = str(folder / "job.yaml")
    validate = flowmancer("validate", job, "--var", "parts=00,01,02")
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout == (
        "ok: 4 tasks\n  process: matrix of 3: process[00], process[01], process[02]\n"
    )
    plan = flowmancer("plan", job, "--var", "parts=00,01,02")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines()[1:] == [
        "  process[00]: run",
        "  process[01]: run",
        "  process[02]: run",
        "  merge: run",
    ]
    graph = flowmancer("graph", job, "--var", "parts=a,b")
    assert graph.returncode == 0, graph.stderr
    assert '["process[a]"]' in graph.stdout and '["process[b]"]' in graph.stdout


def test_an_empty_value_or_none_at_all_is_refused_at_the_matrix_key(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "fan", TASKS, JOB.format(executor="process"))
    empty = run(folder, "--var", "parts=")
    assert empty.returncode == 99
    assert "tasks.process.matrix.part: expected a non-empty list of values" in empty.stderr
    assert "missing required value" not in empty.stderr  # said once, at the matrix
