"""What a new user meets in the first minutes: ``--version``, and help that finds the mistake.

Every case runs the real entry points in a subprocess: the ``flowmancer`` console script
installed beside this Python, and ``python main.py`` in a project folder.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flowmancer
import flowmancer_checkpoint
import flowmancer_dag
import flowmancer_exec
import flowmancer_log

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN

FLOWMANCER = Path(sys.executable).with_name("flowmancer")


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``flowmancer`` command."""
    return subprocess.run(
        [str(FLOWMANCER), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def driver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python main.py ARGS`` in the project folder."""
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def project(tmp_path: Path, tasks: str, job: str, **more: str) -> Path:
    """A project folder: main.py, tasks/ holding ``tasks`` as tasks/etl.py, job.yaml, and
    ``more`` files by relative path."""
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "main.py").write_text(MAIN)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "etl.py").write_text(textwrap.dedent(tasks))
    (root / "job.yaml").write_text(textwrap.dedent(job))
    for path, text in more.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


def expected_versions() -> list[str]:
    modules = {
        "flowmancer": flowmancer,
        "flowmancer-dag": flowmancer_dag,
        "flowmancer-exec": flowmancer_exec,
        "flowmancer-log": flowmancer_log,
        "flowmancer-checkpoint": flowmancer_checkpoint,
    }
    return [f"{name} {module.__version__}" for name, module in modules.items()]


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_the_command_prints_the_versions_of_all_five_packages(tmp_path: Path, flag: str) -> None:
    shown = command(flag, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:5] == expected_versions()
    assert lines[5].startswith(f"Python {sys.version.split()[0]} ")
    assert shown.stderr == ""


def test_the_driver_prints_the_versions_of_all_five_packages(tmp_path: Path) -> None:
    root = project(tmp_path, "", "tasks: {}\n")
    shown = driver(root, "--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[:5] == expected_versions()
    assert shown.stderr == ""
    assert not (root / "logs").exists()  # nothing was run


ETL = """
from pathlib import Path

from flowmancer import Task, task


@task
class Load(Task):
    batch_size: int = 500

    def run(self) -> None:
        Path("ran-load").write_text("ran")


class Extract(Task):  # @task forgotten
    def run(self) -> None:
        Path("ran-extract").write_text("ran")


@task
class Report(Task):
    def runn(self) -> None:  # run() misspelt
        Path("ran-report").write_text("ran")
"""

JOB = """
tasks:
  extract:
    task: Extract
  load:
    task: Load
    dependencies: [extract]
    parameters:
      batch_sise: 10
  report:
    task: Report
    dependencies: [load]
"""


def test_validate_finds_the_forgotten_decorator_the_missing_run_and_the_misspelt_parameter(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, ETL, JOB)
    checked = command("validate", "job.yaml", cwd=root)
    assert checked.returncode == 99
    assert checked.stdout == ""
    assert checked.stderr.splitlines()[1:] == [
        f"  {root}/job.yaml:4:5: tasks.extract.task: found class Extract in tasks/etl.py, but it "
        "is not decorated with @task",
        f"  {root}/job.yaml:9:7: tasks.load.parameters.batch_sise: unknown parameter of Load; "
        "did you mean 'batch_size'? (known: batch_size)",
        f"  {root}/job.yaml:11:5: tasks.report.task: task class Report (tasks.etl.Report) does "
        "not define run(): it cannot run",
    ]
    # The driver says the same, and runs nothing.
    ran = driver(root, "-j", "job.yaml")
    assert ran.returncode == 99
    assert ran.stderr == checked.stderr
    assert not list(root.glob("ran-*"))
    assert "Traceback" not in ran.stderr


WRITTEN = """
import datetime
import enum
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Optional, Union

from flowmancer import Task, task


class Colour(enum.Enum):
    RED = "red"


@task
class Load(Task):
    table: str
    mode: Literal["append", "replace"] = "append"
    source: Path = Path("data")
    since: Optional[datetime.date] = None
    wait: datetime.timedelta = datetime.timedelta(seconds=5)
    tags: list[str] = []
    pairs: dict[str, tuple[int, ...]] = {}
    paths: Sequence[Path] = ()
    either: Union[int, str] = 1
    colour: Colour = Colour.RED

    def run(self) -> None:
        pass
"""


def test_tasks_lists_parameters_as_they_are_written_in_the_class(tmp_path: Path) -> None:
    root = project(tmp_path, WRITTEN, "tasks: {load: {task: Load, parameters: {table: t}}}\n")
    listed = command("tasks", cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == textwrap.dedent(
        """\
        Load
          table: str
          mode: Literal['append', 'replace'] = 'append'
          source: Path = Path('data')
          since: date | None = None
          wait: timedelta = timedelta(seconds=5)
          tags: list[str] = []
          pairs: dict[str, tuple[int, ...]] = {}
          paths: Sequence[Path] = ()
          either: int | str = 1
          colour: Colour = Colour.RED
        """
    )


def test_output_cut_short_by_head_leaves_no_traceback(tmp_path: Path) -> None:
    # Far more than a pipe holds, so the command is still writing when `head` has gone.
    job = "tasks:\n" + "".join(
        f"  t{i}:\n    task: Load\n    parameters: {{table: t}}\n" for i in range(5000)
    )
    root = project(tmp_path, WRITTEN, job)
    for args in (["graph", "job.yaml"], ["plan", "job.yaml"]):
        line = " ".join(args)
        cut = subprocess.run(
            f"'{FLOWMANCER}' {line} | head -1; exit ${{PIPESTATUS[0]}}",
            shell=True,
            executable="/bin/bash",
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cut.stderr == "", f"{line}: {cut.stderr}"
        assert len(cut.stdout.splitlines()) == 1
        assert cut.returncode == 0, line
