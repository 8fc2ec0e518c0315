"""A 0.12 logger sees one LogStartEvent and one LogEndEvent per attempt, every line of the
attempt between them, on every executor.

0.12's own FileLogger opens a task's file on start, refuses a second start while it is open,
writes only to an open file and closes it on end; ``Strict`` below does the same and keeps the
events it saw.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from driver_support import MAIN

TASKS = """
import os
import sys

from flowmancer.task import Task, task


@task
class ThirdTimeLucky(Task):
    counter: str

    def run(self):
        attempt = int(open(self.counter).read()) + 1 if os.path.exists(self.counter) else 1
        open(self.counter, "w").write(str(attempt))
        print(f"attempt {attempt}")
        sys.stdout.write(f"last words of {attempt} without a newline")
        if attempt < 3:
            raise RuntimeError(f"attempt {attempt} fails")

    def on_destroy(self):
        sys.stderr.write("destroyed\\n")
        os.write(2, b"raw, without a newline")  # the descriptor itself: not on threads
"""

LOGGER = """
from flowmancer.eventbus.log import LogEndEvent, LogStartEvent, LogWriteEvent
from flowmancer.loggers.logger import Logger, logger


@logger
class Strict(Logger):
    path: str

    async def on_create(self):
        self._open = set()
        self._seen = []

    async def update(self, m):
        if isinstance(m, LogStartEvent):
            if m.name in self._open:
                raise RuntimeError(f"Log file is already open for {m.name}")
            self._open.add(m.name)
            self._seen.append("start")
        elif isinstance(m, LogEndEvent):
            self._open.discard(m.name)
            self._seen.append("end")
        elif isinstance(m, LogWriteEvent):
            if m.name not in self._open:
                raise RuntimeError(f"Log file is not open for {m.name}: {m.message}")
            self._seen.append(m.message.splitlines()[0])

    async def on_destroy(self):
        open(self.path, "w").write("\\n".join(self._seen) + "\\n")
"""

JOB = """
config: {name: events}
tasks:
  lucky: {task: ThirdTimeLucky, max_attempts: 3, parameters: {counter: ./counter.txt}}
loggers:
  strict: {logger: Strict, parameters: {path: ./events.txt}}
extensions: {}
"""


def attempt(n: int, failed: bool, raw: bool) -> list[str]:
    lines = ["start", f"attempt {n}", f"last words of {n} without a newline"]
    if failed:
        lines.append(f"RuntimeError: attempt {n} fails")
    lines += ["destroyed", "raw, without a newline"][: 2 if raw else 1]
    if failed:
        lines.append(f"attempt {n} failed: RuntimeError: attempt {n} fails; retrying in 0 s")
    return [*lines, "end"]


@pytest.mark.parametrize("executor", ["process", "thread", "dask"])
def test_a_0_12_logger_sees_each_attempt_open_and_close_once_in_order(
    tmp_path: Path, executor: str
) -> None:
    if executor == "dask":
        pytest.importorskip("distributed")
    for folder, name, text in (("tasks", "lucky.py", TASKS), ("loggers", "strict.py", LOGGER)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(text)
    (tmp_path / "main.py").write_text(MAIN)
    (tmp_path / "job.yaml").write_text(JOB)
    done = subprocess.run(
        [sys.executable, "main.py", "--executor", executor],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Strict (strict) failed" not in done.stderr  # what the logger raised is said there
    seen = (tmp_path / "events.txt").read_text().splitlines()
    # Lines of one stream keep their order; stdout and stderr need not interleave as written.
    # The thread executor captures sys.stdout and sys.stderr, not the process's descriptors.
    raw = executor != "thread"
    expected = attempt(1, True, raw) + attempt(2, True, raw) + attempt(3, False, raw)
    assert sorted(seen) == sorted(expected)
    starts = [i for i, line in enumerate(seen) if line == "start"]
    ends = [i for i, line in enumerate(seen) if line == "end"]
    assert len(starts) == len(ends) == 3
    for n, (start, end) in enumerate(zip(starts, ends, strict=True), 1):
        assert sorted(seen[start : end + 1]) == sorted(attempt(n, n < 3, raw))
