"""The progress display: live in a real pseudo-terminal, plain lines on a pipe."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN, TASKS

JOB = """
config: {name: bar}
tasks:
  a: {task: Step, parameters: {marker: ./runs.txt}}
  b: {task: Step, parameters: {marker: ./runs.txt}}
  c: {task: Step, dependencies: [a, b], parameters: {marker: ./runs.txt, fail_if: ./main.py}}
"""


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "__init__.py").write_text("")
    (root / "tasks" / "steps.py").write_text(TASKS)
    (root / "main.py").write_text(MAIN)
    (root / "job.yaml").write_text(textwrap.dedent(JOB))
    return root


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_on_a_terminal_the_display_is_redrawn_in_place(tmp_path: Path, executor: str) -> None:
    root = project(tmp_path)
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    driver = subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml", "--executor", executor],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            chunks.append(data)
        elif driver.poll() is not None:
            break
    driver.wait(timeout=30)
    os.close(primary)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert driver.returncode == 1
    assert "\x1b[" in screen  # drawn with control sequences
    assert "2 completed, 1 failed · " in screen  # the final counts, as the summary says them
    assert "3/3" in screen
    assert not re.search(r"\[\d\d:\d\d:\d\d\] a: ", screen)  # no plain state lines
    # What tasks print reaches their logs as they printed it: no frames of the display in
    # them, and not turned into errors (the display leaves stdout and stderr alone).
    (run,) = (root / "logs" / "bar").iterdir()
    log = (run / "a.log").read_text()
    assert "INFO - a ran" in log and "\x1b" not in log


def test_on_a_pipe_each_change_is_one_plain_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "\x1b" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert lines[0].endswith("] bar: 3 tasks")
    assert any(line.endswith("] a: PENDING -> RUNNING") for line in lines)
    assert any("] c: RUNNING -> FAILED (RuntimeError: failing as asked)" in line for line in lines)
    assert re.search(r"bar: 2 completed, 1 failed in 0:0\d$", lines[-1])


def test_the_console_view_replaces_the_display(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml", "--log-format", "text"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "bar: 3 tasks" not in done.stderr and "c" in done.stderr
