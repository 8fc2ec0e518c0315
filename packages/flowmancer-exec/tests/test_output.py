"""Everything a task prints reaches the observers whole, attributed and timed."""

from __future__ import annotations

import resource
import time

from conftest import run
from exec_tasks import Loud, Talk

from flowmancer_exec import Runner, TaskSpec


def test_every_road_out_of_a_process_is_captured() -> None:
    result, recorder = run([TaskSpec("talk", Talk)], "process")
    assert result.ok, result.reasons
    by_stream: dict[str, list[tuple[str, str]]] = {}
    for r in recorder.records:
        if r.task == "talk":
            by_stream.setdefault(r.stream, []).append((r.level, r.message))
    assert ("INFO", "print to stdout") in by_stream["stdout"]
    assert ("ERROR", "print to stderr") in by_stream["stderr"]
    assert ("DEBUG", "logger debug") in by_stream["logger"]
    assert ("WARNING", "logger warning 42") in by_stream["logger"]
    assert ("INFO", "raw fd 1") in by_stream["stdout"]
    assert ("ERROR", "raw fd 2") in by_stream["stderr"]
    assert ("INFO", "C printf") in by_stream["stdout"]
    assert ("INFO", "from a child process") in by_stream["stdout"]
    assert ("ERROR", "child stderr") in by_stream["stderr"]
    assert ("INFO", "no newline at the end") in by_stream["stdout"]
    for r in recorder.records:
        assert r.job == "flowmancer" and r.attempt == 1 and r.run_id == result.run_id


def test_print_and_logger_are_attributed_on_threads() -> None:
    result, recorder = run([TaskSpec("a", Talk), TaskSpec("b", Talk)], "thread")
    # Raw fd writes and child processes are not attributable on threads (documented): the
    # task's own prints and logger calls are.
    for name in ("a", "b"):
        assert "print to stdout" in recorder.lines(name, "stdout")
        assert "print to stderr" in recorder.lines(name, "stderr")
        assert "logger warning 42" in recorder.lines(name, "logger")


def test_record_times_are_when_lines_were_made_and_in_order() -> None:
    before = time.time()
    _, recorder = run([TaskSpec("loud", Loud, {"lines": 200, "width": 50})], "process")
    after = time.time()
    records = [r for r in recorder.records if r.task == "loud"]
    assert [int(r.message[:8]) for r in records] == list(range(200))
    assert all(before <= r.time <= after for r in records)
    assert [r.time for r in records] == sorted(r.time for r in records)


def test_twenty_megabytes_of_output_arrive_whole_and_memory_stays_flat() -> None:
    lines = 20_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    class Count:
        def __init__(self) -> None:
            self.n = 0
            self.bytes = 0
            self.bad = 0

        def on_log(self, record: object) -> None:
            message = record.message  # type: ignore[attr-defined]
            if record.task == "loud" and record.stream == "stdout":  # type: ignore[attr-defined]
                if len(message) != 999 or int(message[:8]) != self.n:
                    self.bad += 1
                self.n += 1
                self.bytes += len(message) + 1

    counter = Count()  # counts and forgets: the Recorder would keep all 20 MB itself
    result = Runner([TaskSpec("loud", Loud, {"lines": lines})], observers=[counter]).run()
    assert result.ok
    assert counter.n == lines and counter.bad == 0
    assert counter.bytes == lines * 1000
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 5, f"the runner's peak memory grew by {grown_mib:.1f} MiB"
