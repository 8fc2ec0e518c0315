"""A 0.12 project whose tasks use pydantic (0.12's Task was a pydantic model), run as a user
runs it: ``python main.py``. With the ``pydantic`` extra its tasks are validated by pydantic,
errors at the job file's line and column; without it, the module importing pydantic is refused
with the one-line fix. The main test run has no pydantic; ``hatch run pydantic:test`` has it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HAVE_PYDANTIC = importlib.util.find_spec("pydantic") is not None

TASKS = """\
import json
from pathlib import Path
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, validator

from flowmancer.task import Task, task


class Conn(BaseModel):
    host: str
    port: int = 5432


@task
class Extract(Task):
    source: str = Field(alias="from")
    limit: int = Field(default=10, ge=1)
    columns: List[str] = Field(default_factory=list)
    conn: Optional[Conn] = None

    @field_validator("source")
    @classmethod
    def no_spaces(cls, value: str) -> str:
        if " " in value:
            raise ValueError("no spaces in a source name")
        return value

    def model_post_init(self, context) -> None:
        self.shared_dict["extract_ready"] = True

    def run(self) -> None:
        Path("extract.json").write_text(json.dumps(self.model_dump()))


@task
class Load(Task):
    model_config = ConfigDict(strict=True)
    rows: int

    @validator("rows")
    def positive(cls, value):
        assert value > 0, "rows must be positive"
        return value

    def run(self) -> None:
        Path("load.json").write_text(json.dumps([self.rows, self.shared_dict["extract_ready"]]))
"""

JOB = """\
config: {name: pydantic-project}
extensions: {}
tasks:
  extract:
    task: Extract
    parameters:
      from: $VAR{source:sales}
      limit: "5"
      conn: {host: db, port: "6543"}
  load:
    task: Load
    dependencies: [extract]
    parameters:
      rows: 3
"""

MAIN = "import sys\nfrom flowmancer import Flowmancer\n\nsys.exit(Flowmancer().start())\n"


def project(root: Path, job: str = JOB) -> Path:
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "job.yaml").write_text(job)
    (root / "main.py").write_text(MAIN)
    return root


def drive(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=root,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.skipif(not HAVE_PYDANTIC, reason="the pydantic extra is not installed")
def test_a_project_with_pydantic_tasks_runs_validated_by_pydantic(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((root / "extract.json").read_text()) == {
        "source": "sales",
        "limit": 5,
        "columns": [],
        "conn": {"host": "db", "port": 6543},
    }
    assert json.loads((root / "load.json").read_text()) == [3, True]


@pytest.mark.skipif(not HAVE_PYDANTIC, reason="the pydantic extra is not installed")
def test_pydantic_s_errors_name_the_job_file_line_and_column(tmp_path: Path) -> None:
    job = JOB.replace("$VAR{source:sales}", "my sales").replace('"5"', "0")
    root = project(tmp_path, job.replace("rows: 3", 'rows: "3"'))
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 99, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    file = root / "job.yaml"
    assert done.stderr.splitlines() == [
        "flowmancer: error: 3 problems:",
        f"  {file}:7:7: tasks.extract.parameters.from: Value error, no spaces in a source name,"
        " got 'my sales'",
        f"  {file}:8:7: tasks.extract.parameters.limit: Input should be greater than or equal"
        " to 1, got 0",
        f"  {file}:14:7: tasks.load.parameters.rows: Input should be a valid integer, got '3'",
    ]
    assert not (root / "extract.json").exists()


@pytest.mark.skipif(HAVE_PYDANTIC, reason="pydantic is installed here")
def test_without_pydantic_the_module_using_it_is_refused_with_the_fix(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 99, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "pydantic" in line]
    assert f"{root / 'tasks' / 'steps.py'}:5: cannot import " in line
    assert line.endswith(
        ": ModuleNotFoundError: No module named 'pydantic' (Flowmancer runs pydantic tasks with"
        " its extra: pip install 'flowmancer[pydantic]')"
    )


PLAIN_TASKS = """\
import sys
from pathlib import Path

from flowmancer.task import Task, task


@task
class Plain(Task):
    count: int = 1

    def run(self) -> None:
        # A forked attempt holds every module the driver had imported.
        found = [m for m in sys.modules if m.partition(".")[0] in ("pydantic", "pydantic_core")]
        Path("modules.txt").write_text(str(sorted(found)))
"""


@pytest.mark.skipif(not HAVE_PYDANTIC, reason="the pydantic extra is not installed")
def test_a_job_without_pydantic_tasks_never_imports_pydantic(tmp_path: Path) -> None:
    root = project(tmp_path, "config: {name: plain}\ntasks:\n  p:\n    task: Plain\n")
    (root / "tasks" / "steps.py").write_text(PLAIN_TASKS)
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "modules.txt").read_text() == "[]"
