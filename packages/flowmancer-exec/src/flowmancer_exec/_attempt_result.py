"""Settle: what an attempt's child said (its result frame), or how it ended, as a result."""

from __future__ import annotations

import os
import signal
from typing import Any

from ._interface import AttemptResult

__all__ = ["result_of", "unreadable_report"]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def unreadable_report(text: str) -> tuple[Any, ...]:
    """The report standing in for a result frame that could not be read: a failure."""
    return ("result", False, text, (), False, {}, (), None, ())


def result_of(report: tuple[Any, ...] | None, status: int, stopped: bool) -> AttemptResult:
    """The attempt's result: its own ``report`` when it sent one, else read from its wait
    ``status`` (signal, exit code); ``stopped``: the runner had told it to stop."""
    if report is not None:
        _, ok, reason, error_types, child_stopped, updates, deleted, value, unsaved = report
        # An attempt that reports success completed: a stop that came after its run() returned
        # waited for it (see Shield) and changes nothing.
        was_stopped = child_stopped or (stopped and not ok)
        return AttemptResult(
            ok,
            reason,
            tuple(error_types),
            was_stopped,
            updates,
            tuple(deleted),
            value,
            tuple(unsaved),
        )
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        reason = f"killed by signal {number} ({_signal_name(number)})"
        if number == signal.SIGKILL and not stopped:
            reason += "; out of memory, or killed from outside"
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
        reason = f"exited with code {os.WEXITSTATUS(status)} before reporting a result"
    else:
        reason = "exited (code 0) before reporting a result, as os._exit() does"
    return AttemptResult(False, reason, (), stopped)
