from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowmancer_exec import (
    LogRecord,
    ProcessExecutor,
    Runner,
    RunResult,
    RunStart,
    StateChange,
    TaskSpec,
    ThreadExecutor,
)

# The task classes tests run live in exec_tasks.py beside this file (importlib mode does not put
# test folders on sys.path by itself).
sys.path.insert(0, os.path.dirname(__file__))


def start_driver(
    tmp_path: Path, template: str, started: list[str], **fields: object
) -> tuple[subprocess.Popen[str], Path]:
    """A driver script made from ``template`` (given ``tests``, ``folder`` and ``fields``),
    started in its own process and returned once the tasks in ``started`` have left their
    ``<name>.start`` marks in the folder."""
    folder = tmp_path / "marks"
    folder.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(
        template.format(tests=os.path.dirname(__file__), folder=str(folder), **fields)
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while not all((folder / f"{name}.start").exists() for name in started):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{', '.join(started)} never started"
        time.sleep(0.02)
    return process, folder


class Recorder:
    """An observer that keeps everything it is told."""

    def __init__(self) -> None:
        self.changes: list[StateChange] = []
        self.records: list[LogRecord] = []
        self.started: RunStart | None = None
        self.result: RunResult | None = None

    def on_run_start(self, start: RunStart) -> None:
        self.started = start

    def on_state_change(self, change: StateChange) -> None:
        self.changes.append(change)

    def on_log(self, record: LogRecord) -> None:
        self.records.append(record)

    def on_run_end(self, result: RunResult) -> None:
        self.result = result

    def lines(self, task: str, stream: str | None = None) -> list[str]:
        return [
            r.message
            for r in self.records
            if r.task == task and (stream is None or r.stream == stream)
        ]

    def states(self, task: str) -> list[str]:
        return [c.after.value for c in self.changes if c.task == task]


def run(
    specs: list[TaskSpec], executor: str = "process", **kwargs: Any
) -> tuple[RunResult, Recorder]:
    recorder = Recorder()
    grace = kwargs.pop("grace", 2.0)
    run_kwargs = kwargs.pop("run_kwargs", {})
    observers = [recorder, *kwargs.pop("observers", [])]
    chosen = ProcessExecutor(grace) if executor == "process" else ThreadExecutor(grace)
    runner = Runner(specs, executor=chosen, observers=observers, **kwargs)
    return runner.run(**run_kwargs), recorder


@pytest.fixture(params=["process", "thread"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def marks(tmp_path: Any) -> Iterator[Any]:
    """A folder tasks write marker files into (tasks get it through a parameter)."""
    folder = tmp_path / "marks"
    folder.mkdir()
    old = os.getcwd()
    yield folder
    os.chdir(old)


def alive(pid: int) -> bool:
    """Whether a process still runs (a zombie is dead, only not yet collected by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
