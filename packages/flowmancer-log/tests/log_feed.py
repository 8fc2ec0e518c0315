"""Hand-made runs for the tests: a ``Feed`` sends records to loggers as the runner would."""

from __future__ import annotations

from flowmancer_log.testing import LogRecord, RunResult, RunStart, StateChange
from flowmancer_log.typing import LoggerProtocol

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z, a time to write runs at


class Feed:
    """Sends a hand-made run to loggers, step by step, as the runner would."""

    def __init__(
        self, *loggers: LoggerProtocol, job: str = "job", tasks: tuple[str, ...] = ("a",)
    ) -> None:
        self.loggers = loggers
        self.job = job
        self.tasks = tasks
        self.run_id = "run-1"
        self.clock = T0
        self.states: dict[str, str] = dict.fromkeys(tasks, "INIT")
        self.attempts: dict[str, int] = dict.fromkeys(tasks, 0)

    def tick(self) -> float:
        self.clock += 0.001
        return self.clock

    def start(self, started: float | None = None, resumed: bool = False) -> Feed:
        when = self.clock if started is None else started
        for logger in self.loggers:
            logger.on_run_start(RunStart(self.job, self.run_id, self.tasks, when, resumed))
        return self

    def log(self, task: str, message: str, level: str = "INFO", stream: str = "stdout") -> None:
        record = LogRecord(
            self.job, self.run_id, task, self.attempts[task], level, message, self.tick(), stream
        )
        for logger in self.loggers:
            on_log = getattr(logger, "on_log", None)  # the runner skips an observer without it
            if on_log is not None:
                on_log(record)

    def change(self, task: str, after: str, reason: str | None = None) -> None:
        if after == "RUNNING":
            self.attempts[task] += 1
        change = StateChange(
            self.job,
            self.run_id,
            task,
            self.states[task],
            after,
            self.tick(),
            self.attempts[task],
            reason,
        )
        self.states[task] = after
        for logger in self.loggers:
            logger.on_state_change(change)

    def begin(self, task: str) -> None:
        self.change(task, "PENDING")
        self.change(task, "RUNNING")

    def end(self, aborted: bool = False) -> RunResult:
        result = RunResult(
            self.job,
            self.run_id,
            T0,
            self.tick(),
            dict(self.states),
            dict(self.attempts),
            dict.fromkeys(self.tasks, 0.5),
            {},
            {},
            aborted,
        )
        for logger in self.loggers:
            logger.on_run_end(result)
        return result
