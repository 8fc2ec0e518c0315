"""flowmancer_log's loggers driven by flowmancer_exec's real Runner, in real processes."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from flowmancer_exec import (
    LogRecord,
    Observer,
    ProcessExecutor,
    Runner,
    RunResult,
    RunStart,
    StateChange,
    TaskSpec,
    ThreadExecutor,
)
from flowmancer_log import ConsoleLogger, FileLogger, JSONLinesLogger, Logger
from flowmancer_log import testing as log_testing

sys.path.insert(0, os.path.dirname(__file__))
from log_run_tasks import Chatty, Crash, Lines, Long


def executor_of(kind: str) -> ProcessExecutor | ThreadExecutor:
    return ProcessExecutor(1.0) if kind == "process" else ThreadExecutor(1.0)


def run_dir(base: Path, job: str) -> Path:
    (folder,) = (base / job).iterdir()
    return folder


def messages(path: Path) -> list[str]:
    """The message part of each ``[time] LEVEL - message`` line of a task file."""
    return [ln.split(" - ", 1)[1] for ln in path.read_text().splitlines() if ln.startswith("[")]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(params=["process", "thread"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_run_gives_one_whole_file_per_task_and_json_lines_for_everything(
    tmp_path: Path, executor: str
) -> None:
    files = FileLogger(tmp_path / "logs")
    lines = JSONLinesLogger(tmp_path / "logs" / "{job}.jsonl")
    specs = [
        TaskSpec("greet", Chatty),
        TaskSpec("load", Chatty, {"fail": True}, depends_on=["greet"], max_attempts=2),
    ]
    result = Runner(
        specs, job="nightly", executor=executor_of(executor), observers=[files, lines]
    ).run()
    assert result.ok, result.reasons

    folder = run_dir(tmp_path / "logs", "nightly")
    assert sorted(p.name for p in folder.iterdir()) == ["greet.log", "load.log"]
    load = (folder / "load.log").read_text()
    assert load.count("----- attempt 1 · ") == 1 and load.count("----- attempt 2 · ") == 1
    assert load.index("----- attempt 1") < load.index("ValueError: bad input")
    assert load.index("ValueError: bad input") < load.index("----- attempt 2")
    # The failure's traceback, whole: from its first line to the exception, in one entry.
    trace = next(m for m in load.split("\n[") if "Traceback (most recent call last)" in m)
    assert "in run" in trace and trace.rstrip().endswith("ValueError: bad input")
    assert "INFO - load says hello ✓" in load
    assert "ERROR - to stderr" in load
    assert "WARNING - careful, attempt 2" in load
    assert load.endswith("INFO - RUNNING -> COMPLETED\n")

    objects = jsonl(tmp_path / "logs" / "nightly.jsonl")
    assert objects[0]["kind"] == "run_start" and objects[-1]["kind"] == "run_end"
    assert objects[-1]["ok"] is True and objects[-1]["attempts"] == {"greet": 1, "load": 2}
    assert {o["run_id"] for o in objects} == {result.run_id}
    said = [o["event"] for o in objects if o["kind"] == "log" and o["task"] == "load"]
    assert said.count("load says hello ✓") == 2


def test_every_logger_is_an_observer_of_exec_without_subclassing_anything_of_it() -> None:
    for logger in (FileLogger(), JSONLinesLogger(), ConsoleLogger(), Logger()):
        assert isinstance(logger, Observer)


def test_our_stand_in_records_have_exactly_the_fields_of_execs() -> None:
    pairs = [
        (log_testing.LogRecord, LogRecord),
        (log_testing.StateChange, StateChange),
        (log_testing.RunStart, RunStart),
        (log_testing.RunResult, RunResult),
    ]
    for ours, theirs in pairs:
        assert [f.name for f in dataclasses.fields(ours)] == [
            f.name for f in dataclasses.fields(theirs)
        ]


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_a_task_that_dies_hard_leaves_complete_files_and_the_run_goes_on(
    tmp_path: Path, how: str
) -> None:
    files = FileLogger(tmp_path)
    specs = [TaskSpec("crash", Crash, {"how": how}), TaskSpec("other", Lines, {"count": 50})]
    result = Runner(specs, executor=ProcessExecutor(1.0), observers=[files]).run()
    assert str(result.states["crash"]) == "FAILED" and str(result.states["other"]) == "COMPLETED"
    crash = messages(files.path_for("crash"))
    assert crash[1:6] == [f"line {i} before the crash" for i in range(5)]
    assert crash[-1].startswith("RUNNING -> FAILED (")
    assert ("SIGKILL" if how == "sigkill" else "code 3") in crash[-1]
    assert len(messages(files.path_for("other"))) == 50 + 2


DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from flowmancer_exec import ProcessExecutor, Runner, Task, TaskSpec
    from flowmancer_log import FileLogger, JSONLinesLogger

    base, marks = sys.argv[1], sys.argv[2]

    class Busy(Task):
        def run(self):
            name = self.metadata.name
            for i in range(2000):
                print(f"{name} line {i}")
            open(os.path.join(marks, name), "w").close()
            time.sleep(60)

    specs = [TaskSpec(f"t{i}", Busy) for i in range(3)]
    observers = [FileLogger(base), JSONLinesLogger(base + "/{job}.jsonl")]
    result = Runner(specs, job="term", executor=ProcessExecutor(1.0), observers=observers).run()
    sys.exit(result.exit_code)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_driver_mid_run_leaves_every_file_complete(
    tmp_path: Path, sig: signal.Signals
) -> None:
    base, marks = tmp_path / "logs", tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    driver = subprocess.Popen(
        [sys.executable, str(script), str(base), str(marks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 3:
            assert driver.poll() is None, driver.communicate()[0]
            assert time.monotonic() < deadline, "the tasks never got going"
            time.sleep(0.02)
        driver.send_signal(sig)
        output = driver.communicate(timeout=60)[0].decode()
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 3, output
    folder = run_dir(base, "term")
    for i in range(3):
        said = messages(folder / f"t{i}.log")
        assert said[1:-1] == [f"t{i} line {k}" for k in range(2000)]
        assert said[-1] == "RUNNING -> ABORTED (the run was aborted)"
    objects = jsonl(base / "term.jsonl")
    assert objects[-1]["kind"] == "run_end" and objects[-1]["aborted"] is True
    assert sum(1 for o in objects if o["kind"] == "log") == 3 * 2000


class Raises(Logger):
    def write(self, record: Any) -> None:
        raise RuntimeError("this logger is broken")


def test_a_logger_that_raises_is_reported_once_and_the_run_goes_on(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], executor: str
) -> None:
    files = FileLogger(tmp_path)
    specs = [TaskSpec("a", Lines, {"count": 20}), TaskSpec("b", Lines, depends_on=["a"])]
    result = Runner(specs, executor=executor_of(executor), observers=[Raises(), files]).run()
    assert result.ok
    err = capfd.readouterr().err
    assert err.count("this logger is broken") == 1, err
    assert "Raises.on_log failed" in err
    assert len(messages(files.path_for("a"))) == 20 + 2
    assert len(messages(files.path_for("b"))) == 100 + 2


def test_fifty_tasks_printing_at_once_never_mix_lines(tmp_path: Path, executor: str) -> None:
    files = FileLogger(tmp_path / "logs", max_open_files=16)
    lines = JSONLinesLogger(tmp_path / "all.jsonl")
    specs = [TaskSpec(f"t{i:02d}", Lines, {"count": 200, "width": 300}) for i in range(50)]
    result = Runner(specs, executor=executor_of(executor), observers=[files, lines]).run()
    assert result.ok
    for spec in specs:
        said = messages(files.path_for(spec.name))
        expected = [f"{spec.name} {k:06d} ".ljust(300, "x") for k in range(200)]
        assert said[1:-1] == expected
    counts: dict[str, int] = {}
    for obj in jsonl(tmp_path / "all.jsonl"):  # every line parses: none was cut into another
        if obj["kind"] == "log":
            assert obj["event"].startswith(obj["task"] + " ") and len(obj["event"]) == 300
            counts[obj["task"]] = counts.get(obj["task"], 0) + 1
    assert counts == {spec.name: 200 for spec in specs}


def test_invalid_utf8_written_to_fd_1_is_written_with_replacement_characters(
    tmp_path: Path,
) -> None:
    files = FileLogger(tmp_path)
    lines = JSONLinesLogger(tmp_path / "x.jsonl")
    specs = [TaskSpec("raw", Chatty, {"raw": True})]
    result = Runner(specs, executor=ProcessExecutor(1.0), observers=[files, lines]).run()
    assert result.ok
    assert "INFO - bad \ufffd\ufffd bytes" in files.path_for("raw").read_text(encoding="utf-8")
    assert "bad \ufffd\ufffd bytes" in [o.get("event") for o in jsonl(tmp_path / "x.jsonl")]


def test_a_one_megabyte_line_reaches_the_file_whole(tmp_path: Path, executor: str) -> None:
    files = FileLogger(tmp_path)
    result = Runner(
        [TaskSpec("long", Long)], executor=executor_of(executor), observers=[files]
    ).run()
    assert result.ok
    said = messages(files.path_for("long"))[1:-1]
    # The runner hands over a line longer than 64 KiB in pieces; none is lost or reordered.
    expected = "".join(chr(ord("a") + i % 26) for i in range(1_000_000))
    assert "".join(said[:-1]) == expected
    assert said[-1] == "after the long line"


def test_the_console_shows_a_real_run_and_the_hooks_follow_a_resume(tmp_path: Path) -> None:
    out = io.StringIO()
    capture = log_testing.CapturingLogger()
    specs = [
        TaskSpec("extract", Lines, {"count": 2, "width": 20}),
        TaskSpec("load", Chatty, {"fail": True}, depends_on=["extract"]),
    ]
    runner = Runner(specs, executor=ThreadExecutor(1.0), observers=[ConsoleLogger(out), capture])
    result = runner.run(completed=["extract"])
    assert not result.ok
    assert capture.calls == ["on_create", "on_restart", "on_failure", "on_destroy"]
    shown = out.getvalue().splitlines()
    assert "extract → COMPLETED (completed in an earlier run)" in shown
    assert "load    | load says hello ✓" in shown
    assert "load    | WARNING careful, attempt 1" in shown
    assert "load    → FAILED (ValueError: bad input)" in shown


APPENDER = """
import asyncio, sys, time
from flowmancer_log import JSONLinesLogger
from flowmancer_log import testing as t

async def main():
    # Inside an event loop, as under the runner: lines pile up between idle turns, and a buffer
    # that filled mid-line would hand the other process half a line to interleave with.
    logger = JSONLinesLogger(sys.argv[1])
    logger.on_run_start(t.RunStart("shared", sys.argv[2], ("a",), time.time()))
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # all writers start together
    for i in range(1500):
        logger.on_log(t.LogRecord("shared", sys.argv[2], "a", 1, "INFO", "x" * 5000 + str(i),
                                  0.0, "stdout"))
        if i % 30 == 29:
            await asyncio.sleep(0)
    logger.on_run_end(t.RunResult("shared", sys.argv[2], 0.0, 1.0, {}, {}, {}, {}))

asyncio.run(main())
"""


def test_two_processes_appending_to_one_json_lines_file_never_split_a_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.jsonl"
    start_at = str(time.time() + 1.5)
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"run{n}", start_at])
        for n in range(1, 5)
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    objects = jsonl(path)  # every line parses: none was interleaved with another
    logs = [o for o in objects if o["kind"] == "log"]
    assert len(logs) == 4 * 1500
    for n in range(1, 5):
        mine = [int(o["event"][5000:]) for o in logs if o["run_id"] == f"run{n}"]
        assert mine == list(range(1500))
