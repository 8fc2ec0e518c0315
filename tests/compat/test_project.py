"""A project written for Flowmancer 0.12 runs unchanged.

``project/`` uses only what 0.12 documented and had: its import paths (``flowmancer.task``,
``flowmancer.loggers.logger``, ``flowmancer.extensions.extension``, ``flowmancer.eventbus``), a
custom logger that behaves as 0.12's FileLogger (a log opens on start, closes on end, refuses
anything out of order), a custom extension, a job file with 0.12's field names (``variant:``,
``depends_on:``) and its aliases, a retrying task, a quoted literal, and the project's own unit
test building a task with ``shared_dict=``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).parent / "project"


def copy(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "logs", ".flowmancer", "*.txt")
    return Path(shutil.copytree(PROJECT, tmp_path / "project", ignore=ignore))


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_the_projects_own_unit_test_passes(tmp_path: Path) -> None:
    root = copy(tmp_path)
    done = run(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tasks.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_0_12_project_runs_unchanged(tmp_path: Path) -> None:
    root = copy(tmp_path)
    done = run(root, "main.py", "-j", "job.yaml")
    assert done.returncode == 0, done.stderr
    assert "failed:" not in done.stderr  # no plug-in failure was reported

    events = (root / "events.txt").read_text().splitlines()
    assert "left open" not in "\n".join(events)
    flaky = [line for line in events if line.split()[1:2] == ["flaky"]]
    assert [line for line in flaky if line.split()[0] in ("start", "end")] == [
        "start flaky",
        "end flaky",
        "start flaky",
        "end flaky",
    ]
    assert "write flaky INFO attempt 1" in flaky and "write flaky INFO attempt 2" in flaky
    assert flaky.index("write flaky INFO attempt 2") > flaky.index("start flaky", 1)
    for line in ("greeting is hello", "target is world", "flaky is 2"):
        assert f"write show INFO {line}" in events

    states = (root / "states.txt").read_text().splitlines()
    assert states[0] == "create" and states[-1] == "success"
    assert "flaky R->P" in states and "flaky R->C" in states and "show P->R" in states
    assert (root / "logs").is_dir()  # the FileLogger named with variant:
    assert "write show INFO literal: $ENV{HOME}" in events  # quoted: literal, as in 0.12
