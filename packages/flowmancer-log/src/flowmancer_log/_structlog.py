"""Sending a run's records through structlog, so that a user's own processors apply."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from ._base import Logger
from ._console import wants_colour
from ._format import TimeFormat, state_level
from .typing import LogRecordLike, RunResultLike, RunStartLike, StateChangeLike

if TYPE_CHECKING:
    from structlog.typing import Processor

__all__ = ["StructlogLogger", "configure_structlog"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def configure_structlog(
    processors: Iterable[Processor] = (),
    *,
    renderer: Processor | None = None,
    stream: TextIO | None = None,
    level: str = "DEBUG",
) -> None:
    """Configure structlog (globally, as ``structlog.configure`` does) for ``StructlogLogger``.

    The chain is: ``add_log_level``, then your ``processors`` in order, then ``renderer``.
    Events already carry ``timestamp`` (when the line was produced) and the run's fields
    (``job``, ``run_id``, ``task``, ``attempt``, ``stream``): do not add ``TimeStamper``, which
    would stamp the time of writing instead.

    Args:
        processors: your own processors (filters, enrichers, redactors), applied in order.
        renderer: the last processor; structlog's ``ConsoleRenderer`` when not given, coloured
            when ``stream`` is a terminal and ``NO_COLOR`` is unset.
        stream: where rendered lines go; ``sys.stderr`` (at the time of this call) if not given.
        level: the lowest level let through (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``,
            ``CRITICAL``).

    Raises:
        ValueError: for an unknown ``level``.
    """
    import structlog  # here, not at import: most runs never use it

    try:
        min_level = _LEVELS[level.upper()]
    except KeyError:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(_LEVELS)}") from None
    out = stream if stream is not None else sys.stderr
    if renderer is None:
        renderer = structlog.dev.ConsoleRenderer(colors=wants_colour(out))
    structlog.configure(
        processors=[structlog.processors.add_log_level, *processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(min_level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


class StructlogLogger(Logger):
    """Forwards every record and state change to a structlog logger, so structlog's
    configuration (``configure_structlog`` or your own ``structlog.configure``) decides how
    they are processed, filtered and rendered.

    Log records become ``log.<level>(message, timestamp=…, job=…, run_id=…, task=…, attempt=…,
    stream=…)``; state changes ``"state change"`` events with ``before``, ``after`` and
    ``reason`` (at WARNING for DEFAULTED and ABORTED, ERROR for FAILED); the run's start and end
    ``"run started"`` / ``"run ended"`` events (with ``ok``, ``aborted`` and ``exit_code``).
    ``timestamp`` is ISO 8601 in UTC with microseconds, the time the line was produced.

    Args:
        logger: the structlog logger to call; ``structlog.get_logger(name)`` when not given
            (a lazy proxy: configuring structlog later still applies).
        name: the logger name passed to ``structlog.get_logger``.
    """

    def __init__(self, logger: Any = None, *, name: str = "flowmancer") -> None:
        super().__init__()
        if logger is None:
            import structlog

            logger = structlog.get_logger(name)
        self.logger: Any = logger
        self._time = TimeFormat(6)

    def _method(self, level: str) -> Any:
        return getattr(self.logger, level.lower(), None) or self.logger.info

    def on_run_start(self, start: RunStartLike) -> None:
        """A ``run started`` event, then the hooks."""
        with self._lock:
            self.logger.info(
                "run started",
                timestamp=self._time(start.started),
                job=start.job,
                run_id=start.run_id,
                tasks=list(start.tasks),
                resumed=start.resumed,
            )
            super().on_run_start(start)

    def on_run_end(self, result: RunResultLike) -> None:
        """The hooks, then a ``run ended`` event."""
        with self._lock:
            try:
                super().on_run_end(result)
            finally:
                self._method("INFO" if result.ok else "ERROR")(
                    "run ended",
                    timestamp=self._time(result.ended),
                    job=result.job,
                    run_id=result.run_id,
                    ok=result.ok,
                    aborted=result.aborted,
                    exit_code=result.exit_code,
                )

    def write(self, record: LogRecordLike) -> None:
        """Log ``record.message`` at the record's level, with the run's fields."""
        self._method(record.level)(
            record.message,
            timestamp=self._time(record.time),
            job=record.job,
            run_id=record.run_id,
            task=record.task,
            attempt=record.attempt,
            stream=record.stream,
        )

    def state_changed(self, change: StateChangeLike) -> None:
        """Log a ``state change`` event."""
        after = str(change.after)
        self._method(state_level(after))(
            "state change",
            timestamp=self._time(change.time),
            job=change.job,
            run_id=change.run_id,
            task=change.task,
            attempt=change.attempt,
            before=str(change.before),
            after=after,
            reason=change.reason,
        )
