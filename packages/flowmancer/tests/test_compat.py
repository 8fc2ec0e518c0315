"""Code written for Flowmancer 0.12 keeps working: import paths, loggers, extensions,
checkpointers with async ``update`` and lifecycle hooks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS

OLD_PATHS = [
    "flowmancer.task",
    "flowmancer.flowmancer",
    "flowmancer.exceptions",
    "flowmancer.jobdefinition",
    "flowmancer.jobdefinition.file",
    "flowmancer.loggers",
    "flowmancer.loggers.logger",
    "flowmancer.loggers.file",
    "flowmancer.extensions",
    "flowmancer.extensions.extension",
    "flowmancer.extensions.progressbar",
    "flowmancer.extensions.notifications",
    "flowmancer.checkpointer",
    "flowmancer.checkpointer.checkpointer",
    "flowmancer.checkpointer.file",
    "flowmancer.checkpointer.database",
    "flowmancer.eventbus.log",
    "flowmancer.eventbus.execution",
    "flowmancer.lifecycle",
]


@pytest.mark.parametrize("path", OLD_PATHS)
def test_the_0_12_import_paths_import(path: str) -> None:
    importlib.import_module(path)


def test_the_seed_readme_imports() -> None:
    from flowmancer import Flowmancer, Task, task  # noqa: F401
    from flowmancer.checkpointer import CheckpointContents, Checkpointer, checkpointer  # noqa: F401
    from flowmancer.eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent  # noqa: F401
    from flowmancer.extensions import Extension, extension  # noqa: F401
    from flowmancer.loggers import Logger, logger  # noqa: F401


PLUGINS = """
import json
from flowmancer.checkpointer import (CheckpointContents, Checkpointer, NoCheckpointAvailableError,
                                     checkpointer)
from flowmancer.eventbus.execution import ExecutionStateTransition
from flowmancer.eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent
from flowmancer.extensions import Extension, extension
from flowmancer.loggers import Logger, logger


@logger
class ListLogger(Logger):
    out: str

    async def on_create(self):
        self._write("create")

    async def on_failure(self):
        self._write("failure")

    async def on_destroy(self):
        self._write("destroy")

    async def update(self, m):
        if isinstance(m, LogStartEvent):
            self._write(f"start {m.name}")
        elif isinstance(m, LogWriteEvent):
            self._write(f"write {m.name} {m.severity.value} {m.message}")
        elif isinstance(m, LogEndEvent):
            self._write(f"end {m.name}")

    def _write(self, line):
        with open(self.out, "a") as f:
            f.write(line + "\\n")


@extension
class Transitions(Extension):
    out: str

    async def update(self, e):
        if isinstance(e, ExecutionStateTransition):
            with open(self.out, "a") as f:
                f.write(f"{e.name} {e.from_state.value}>{e.to_state.value} {e.job_name}\\n")

    async def on_success(self):
        with open(self.out, "a") as f:
            f.write("success\\n")


@checkpointer
class JsonCheckpointer(Checkpointer):
    path: str

    async def write_checkpoint(self, name, content):
        with open(self.path, "w") as f:
            json.dump({"states": {k: sorted(v) for k, v in content.states.items()},
                       "shared": content.shared_dict}, f)

    async def read_checkpoint(self, name):
        try:
            with open(self.path) as f:
                data = json.load(f)
        except FileNotFoundError:
            raise NoCheckpointAvailableError(name)
        return CheckpointContents(name, {k: set(v) for k, v in data["states"].items()},
                                  data["shared"])

    async def clear_checkpoint(self, name):
        import os
        if os.path.exists(self.path):
            os.remove(self.path)
"""

JOB = """
config: {name: old}
tasks:
  first: {task: Step, parameters: {marker: ./runs.txt}}
  second: {task: Step, dependencies: [first], parameters: {marker: ./runs.txt, fail_if: ./broken}}
loggers:
  mine: {logger: ListLogger, parameters: {out: ./log.txt}}
extensions:
  watch: {extension: Transitions, parameters: {out: ./ext.txt}}
  progress: {extension: RichProgressBar}
checkpointer:
  checkpointer: JsonCheckpointer
  parameters: {path: ./ckpt.json}
"""


def old_project(root: Path, tasks: str, job: str) -> Path:
    """A project written for 0.12: its tasks, its plug-ins, its job file; ``broken`` in it."""
    for folder in ("tasks", "extensions"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "main.py").write_text(MAIN)
    (root / "tasks" / "steps.py").write_text(tasks)
    (root / "extensions" / "plugins.py").write_text(PLUGINS)
    (root / "job.yaml").write_text(job)
    (root / "broken").touch()
    return root


def drive_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_0_12_plugins_hear_what_they_heard_before_and_resume_works(tmp_path: Path) -> None:
    root = old_project(tmp_path / "project", TASKS, JOB)

    def drive(*args: str) -> subprocess.CompletedProcess[str]:
        return drive_in(root, *args)

    first = drive()
    assert first.returncode == 1, first.stderr
    log = (root / "log.txt").read_text().splitlines()
    assert log[0] == "create" and log[-2:] == ["failure", "destroy"]
    assert "start first" in log and "write first INFO first ran" in log and "end first" in log
    assert any(line.startswith("write second ERROR ") for line in log)  # the traceback
    ext = (root / "ext.txt").read_text().splitlines()
    assert "first _>P old" in ext and "first R>C old" in ext and "second R>F old" in ext
    saved = json.loads((root / "ckpt.json").read_text())
    assert saved["states"]["C"] == ["first"] and saved["states"]["F"] == ["second"]

    (root / "broken").unlink()
    second = drive("-r")
    assert second.returncode == 0, second.stderr
    assert (root / "runs.txt").read_text().split() == ["first", "second"]
    assert not (root / "ckpt.json").exists()  # cleared after the clean finish
    assert (root / "ext.txt").read_text().splitlines()[-1] == "success"


def test_the_0_12_decorators_refuse_classes_of_the_wrong_base() -> None:
    from flowmancer.checkpointer import checkpointer
    from flowmancer.extensions import extension
    from flowmancer.loggers import logger

    for decorate, base in (
        (logger, "Logger"),
        (extension, "Extension"),
        (checkpointer, "Checkpointer"),
    ):
        with pytest.raises(TypeError, match=f"Must extend `{base}` type: NotAPlugin"):
            decorate(type("NotAPlugin", (), {}))
        assert decorate.__doc__


RESULT_TASKS = """
from pathlib import Path
from flowmancer import Task, task


@task
class Give(Task):
    def run(self):
        return {"rows": 3}


@task
class Take(Task):
    def run(self):
        if Path("broken").exists():
            raise RuntimeError("broken")
        Path("took.txt").write_text(repr(dict(self.results)))
"""

RESULT_JOB = """
config: {name: old}
tasks:
  give: {task: Give}
  take: {task: Take, dependencies: [give]}
extensions: {}
checkpointer:
  checkpointer: JsonCheckpointer
  parameters: {path: ./ckpt.json}
"""


def test_a_0_12_checkpointer_keeps_task_results_for_the_resume(tmp_path: Path) -> None:
    root = old_project(tmp_path / "project", RESULT_TASKS, RESULT_JOB)
    assert drive_in(root).returncode == 1
    (root / "broken").unlink()
    second = drive_in(root, "-r")
    assert second.returncode == 0, second.stderr
    assert "1 completed kept" in second.stderr
    assert (root / "took.txt").read_text() == "{'give': {'rows': 3}}"
