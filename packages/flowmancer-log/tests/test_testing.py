"""The test helpers users get: play a run by hand, capture what a logger is given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flowmancer_log import FileLogger, Logger
from flowmancer_log.testing import CapturingLogger, LogRecord, play_run


def test_play_run_gives_a_believable_run_to_several_loggers(tmp_path: Path) -> None:
    capture, files = CapturingLogger(), FileLogger(tmp_path)
    result = play_run(
        capture,
        files,
        outputs={"extract": ["a", "b"], "load": ["c"]},
        failures={"load": "ValueError: bad"},
        job="nightly",
        started=1_000_000_000.0,
    )
    assert not result.ok and result.exit_code == 1 and result.reasons == {"load": "ValueError: bad"}
    assert capture.states("load") == ["PENDING", "RUNNING", "FAILED"]
    assert capture.lines("extract", "stdout") == ["a", "b"]
    trace = capture.lines("load", "runner")[0]
    assert trace.startswith("Traceback") and trace.endswith("ValueError: bad")
    assert [kind for kind, _ in capture.events][:3] == ["state", "state", "log"]
    assert files.path_for("load").read_text().count("\n") == 7
    times = [r.time for r in capture.records]
    assert times == sorted(times) and times[0] > 1_000_000_000.0


def test_the_readme_example_of_a_custom_logger_works() -> None:
    class FailureCounter(Logger):
        """Counts failed tasks and says so at the end of a failed run."""

        def __init__(self) -> None:
            super().__init__()
            self.failed: list[str] = []
            self.summary = ""

        def state_changed(self, change: object) -> None:
            if str(getattr(change, "after", "")) == "FAILED":
                self.failed.append(getattr(change, "task", "?"))

        def on_failure(self) -> None:
            self.summary = f"{len(self.failed)} task(s) failed: {', '.join(self.failed)}"

    counter = FailureCounter()
    play_run(counter, outputs={"a": [], "b": []}, failures={"b": "boom"})
    assert counter.summary == "1 task(s) failed: b"


def test_the_stand_in_records_are_frozen_dataclasses() -> None:
    record = LogRecord("job", "r", "a", 1, "INFO", "x", 0.0, "stdout")
    assert dataclasses.is_dataclass(record)
    assert [f.name for f in dataclasses.fields(record)] == [
        "job",
        "run_id",
        "task",
        "attempt",
        "level",
        "message",
        "time",
        "stream",
    ]
