"""What Flowmancer leaves unimported (issue 21, start-up): a module of tasks
(``from flowmancer import Task, task``) imports neither the driver nor the runner, and a
one-task job imports none of what only other jobs use. Correctness of the laziness, not
timing: each check is a fresh interpreter, and the modules it starts with (a coverage hook,
say) are not counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import drive

# What a module of tasks does not need: the runner and asyncio (about 14 ms), the driver and
# its command line and job file reading (argparse, PyYAML).
NOT_FOR_TASKS = [
    "asyncio",
    "argparse",
    "yaml",
    "flowmancer._driver",
    "flowmancer._jobfile._schema",
    "flowmancer_exec._runner",
    "flowmancer_checkpoint",
    "flowmancer_log",
]
# What a one-task job with the default plug-ins does not need: 0.12's plug-in classes and
# events, the run records' reader, uuid and platform, difflib (suggestions), random (retry
# jitter). Where the interpreter starts with some of them (coverage's start-up hook imports
# uuid, platform and random), only the others can be checked.
NOT_FOR_ONE_TASK = [
    "flowmancer._compat",
    "flowmancer.eventbus",
    "flowmancer_log._history",
    "uuid",
    "platform",
    "difflib",
    "random",
]


def fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it leaves a dict in ``out``, printed as JSON, with
    the modules imported by ``code`` under ``"new"``."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "out = {}\n"
        f"{code}\n"
        "out['new'] = sorted(set(sys.modules) - before)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("module", NOT_FOR_TASKS)
def test_a_module_of_tasks_imports_neither_driver_nor_runner(module: str) -> None:
    out = fresh(
        "from flowmancer import Task, task\n"
        "@task\n"
        "class Noop(Task):\n"
        "    def run(self): pass\n"
        "import flowmancer_exec\n"
        "out['registered'] = flowmancer_exec.get_task_class('Noop') is Noop"
    )
    assert out["registered"] is True
    assert module not in out["new"]  # type: ignore[operator]


def test_the_driver_names_are_there_when_asked_for() -> None:
    out = fresh(
        "import flowmancer\n"
        "out['driver'] = flowmancer.Flowmancer.__module__\n"
        "from flowmancer import *\n"
        "out['star'] = sorted(n for n in flowmancer.__all__ if n in globals())\n"
        "out['names'] = [JobDefinition.__name__, JobFileError.__name__, Task.__name__]\n"
        "try:\n"
        "    flowmancer.Nope\n"
        "except AttributeError as e:\n"
        "    out['error'] = str(e)"
    )
    assert out["driver"] == "flowmancer._driver"
    assert out["star"] == ["Flowmancer", "JobDefinition", "JobFileError", "Task", "task"]
    assert out["names"] == ["JobDefinition", "JobFileError", "Task"]
    assert out["error"] == "module 'flowmancer' has no attribute 'Nope'"
    assert "argparse" in out["new"]  # type: ignore[operator]


def test_a_one_task_job_imports_only_what_it_uses(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)  # a folder without __init__.py, as the quickstart
    (root / "tasks" / "noop.py").write_text(
        "from flowmancer import Task, task\n\n@task\nclass Noop(Task):\n    def run(self):\n"
        "        pass\n"
    )
    (root / "job.yaml").write_text(
        "version: 0.1\nconfig:\n  name: one\nextensions: {}\ntasks:\n  only:\n    task: Noop\n"
    )
    (root / "main.py").write_text(
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "from flowmancer import Flowmancer\n"
        "code = Flowmancer().start()\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
        "sys.exit(code)\n"
    )
    done = drive(root, "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "asyncio" in loaded and "flowmancer_log" in loaded  # what it does use
    assert sorted(loaded & set(NOT_FOR_ONE_TASK)) == []
