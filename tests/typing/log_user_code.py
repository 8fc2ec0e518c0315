"""Real user code against flowmancer_log that mypy --strict must accept as written: a custom
logger, the built-in ones handed to flowmancer_exec's Runner as observers, and a test of a
logger with the testing helpers."""

from __future__ import annotations

import sys

import structlog

from flowmancer_exec import Observer, Runner, Task, TaskSpec, UpstreamState
from flowmancer_log import (
    ConsoleLogger,
    FileLogger,
    JSONLinesLogger,
    Logger,
    LoggerProtocol,
    StateChangeLike,
    StructlogLogger,
    configure_structlog,
)
from flowmancer_log.testing import CapturingLogger, play_run


class FailureCounter(Logger):
    def __init__(self) -> None:
        super().__init__()
        self.failed: list[str] = []

    def state_changed(self, change: StateChangeLike) -> None:
        if change.after == "FAILED":
            self.failed.append(change.task)

    def on_failure(self) -> None:
        assert self.result is not None
        print(f"{self.result.job}: {len(self.failed)} failed", file=sys.stderr)


class Hello(Task):
    def run(self) -> None:
        print("hello")


class Alert(Task):
    def run(self) -> None:
        failed: dict[str, UpstreamState] = {
            name: up for name, up in self.upstream_states.items() if up.failed
        }
        for name, up in failed.items():
            self.logger.error("%s %s: %s", name, up.state.value, up.reason or "")


def main() -> int:
    configure_structlog([structlog.processors.format_exc_info], level="INFO")
    file_logger: Observer = FileLogger("./logs", retention_days=10)
    loggers: list[LoggerProtocol] = [
        ConsoleLogger(),
        JSONLinesLogger("./logs/{job}.jsonl"),
        StructlogLogger(),
        FailureCounter(),
    ]
    specs = [
        TaskSpec("hello", Hello),
        TaskSpec("alert", Alert, depends_on=["hello"], trigger_rule="one_failed"),
    ]
    result = Runner(specs, observers=[file_logger, *loggers], finally_grace_period=10).run()
    return result.exit_code


def test_failure_counter() -> None:
    counter, capture = FailureCounter(), CapturingLogger()
    result = play_run(counter, capture, outputs={"a": ["x"]}, failures={"a": "boom"})
    assert not result.ok and counter.failed == ["a"] and capture.lines("a") == ["x"]
