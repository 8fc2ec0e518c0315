"""A user's project on disk (main.py, tasks/, job.yaml) and the driver run on it as a real
process: for the end-to-end tests of results, resumes and shared_dict (a module name unique
across test folders)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

MAIN = """\
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    sys.exit(Flowmancer().start())
"""

EXECUTORS = ["process", "thread"]


def write_project(folder: Path, tasks: str, job: str) -> Path:
    """main.py, tasks/__init__.py and job.yaml in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(MAIN)
    (folder / "tasks").mkdir(exist_ok=True)
    (folder / "tasks" / "__init__.py").write_text(textwrap.dedent(tasks))
    (folder / "job.yaml").write_text(textwrap.dedent(job))
    return folder


def environment(**extra: str) -> dict[str, str]:
    """The driver's environment: ours, without coverage's, no colours, unbuffered."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    return {**environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **extra}


def run(
    folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``python main.py -j job.yaml <args>`` in ``folder``, to its end."""
    done = subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml", *args],
        cwd=folder,
        env=environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def start(folder: Path, *args: str) -> subprocess.Popen[str]:
    """``python main.py -j job.yaml <args>`` in ``folder``, leading a process group of its own,
    its stderr a pipe; the caller waits for it."""
    return subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml", *args],
        cwd=folder,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def lines(path: Path) -> list[str]:
    """The lines of a file the tasks append to (none when it does not exist)."""
    return path.read_text().split() if path.exists() else []


def checkpoint(folder: Path, job: str) -> dict[str, Any]:
    """The job's checkpoint file as JSON (journal not applied: tests read it after a run)."""
    data: dict[str, Any] = json.loads((folder / ".flowmancer" / f"{job}.json").read_text())
    return data


def log_of(folder: Path, job: str, task: str) -> str:
    """Everything the FileLogger wrote for ``task`` in the job's runs."""
    runs = sorted((folder / "logs" / job).glob(f"*/{glob.escape(task)}.log"))
    return "".join(p.read_text() for p in runs)
