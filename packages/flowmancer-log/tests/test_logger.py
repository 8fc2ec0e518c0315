"""``Logger``: the runner's observer calls become 0.12's lifecycle hooks and per-record hooks."""

from __future__ import annotations

import dataclasses
import enum
import threading
import time

import pytest

from flowmancer_log import Logger, LoggerProtocol
from flowmancer_log.testing import CapturingLogger, RunResult, RunStart, play_run


def test_a_successful_run_calls_create_success_destroy_in_order() -> None:
    logger = CapturingLogger()
    play_run(logger, outputs={"a": ["one"], "b": []})
    assert logger.calls == ["on_create", "on_success", "on_destroy"]
    assert logger.lines("a") == ["one"]
    assert logger.states("a") == ["PENDING", "RUNNING", "COMPLETED"]
    assert logger.run is not None and logger.run.tasks == ("a", "b")
    assert logger.result is not None and logger.result.ok


def test_a_failed_run_calls_failure_and_a_resumed_one_restart() -> None:
    logger = CapturingLogger()
    play_run(logger, outputs={"a": []}, failures={"a": "ValueError: bad"}, resumed=True)
    assert logger.calls == ["on_create", "on_restart", "on_failure", "on_destroy"]


def test_an_aborted_run_calls_abort_before_failure() -> None:
    logger = CapturingLogger()
    play_run(logger, outputs={"a": ["x"]}, aborted=True)
    assert logger.calls == ["on_create", "on_abort", "on_failure", "on_destroy"]
    assert logger.states("a")[-1] == "ABORTED"


def test_destroy_runs_even_when_a_hook_before_it_raises() -> None:
    class Broken(CapturingLogger):
        def on_failure(self) -> None:
            super().on_failure()
            raise RuntimeError("hook failed")

    logger = Broken()
    with pytest.raises(RuntimeError, match="hook failed"):
        play_run(logger, outputs={"a": []}, failures={"a": "boom"})
    assert logger.calls[-2:] == ["on_failure", "on_destroy"]


def test_a_logger_that_raises_on_one_record_takes_the_next_ones() -> None:
    class Picky(CapturingLogger):
        def write(self, record: object) -> None:
            if getattr(record, "message", "") == "bad":
                raise ValueError("cannot take it")
            super().write(record)  # type: ignore[arg-type]

    logger = Picky()
    start = RunStart("job", "r", ("a",), 0.0)
    logger.on_run_start(start)
    from flowmancer_log.testing import LogRecord

    with pytest.raises(ValueError, match="cannot take it"):
        logger.on_log(LogRecord("job", "r", "a", 1, "INFO", "bad", 1.0, "stdout"))
    logger.on_log(LogRecord("job", "r", "a", 1, "INFO", "good", 2.0, "stdout"))
    assert logger.lines() == ["good"]


def test_the_base_class_ignores_everything_quietly() -> None:
    logger = Logger()
    play_run(logger, outputs={"a": ["x"]}, failures={"a": "no"})
    assert isinstance(logger, LoggerProtocol)


class State(str, enum.Enum):
    """Like flowmancer_dag.TaskState: str members that print as their name."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True, slots=True)
class ExecLikeChange:
    job: str
    run_id: str
    task: str
    before: State
    after: State
    time: float
    attempt: int = 0
    reason: str | None = None


def test_records_of_another_class_with_the_same_fields_are_accepted() -> None:
    logger = CapturingLogger()
    logger.on_run_start(RunStart("job", "r", ("a",), 0.0))
    logger.on_state_change(ExecLikeChange("job", "r", "a", State.RUNNING, State.COMPLETED, 1.0))
    logger.on_run_end(RunResult("job", "r", 0.0, 1.0, {"a": State.COMPLETED}, {}, {}, {}))
    assert logger.states("a") == ["COMPLETED"]
    assert logger.calls == ["on_create", "on_success", "on_destroy"]


def test_calls_from_several_threads_are_serialised() -> None:
    from flowmancer_log.testing import LogRecord

    inside = 0
    overlaps = 0

    class Slow(Logger):
        def write(self, record: object) -> None:
            nonlocal inside, overlaps
            inside += 1
            if inside > 1:
                overlaps += 1
            time.sleep(0)  # gives the GIL away: without the lock another thread gets in here
            inside -= 1

    logger = Slow()

    def feed() -> None:
        for i in range(2000):
            logger.on_log(LogRecord("job", "r", "a", 1, "INFO", str(i), 0.0, "stdout"))

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == 0
