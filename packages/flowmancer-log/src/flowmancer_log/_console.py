"""``ConsoleLogger``: a run as it happens, one line per line of output, prefixed by its task."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO

from ._base import Logger
from ._flush import IdleFlush
from ._format import printable
from .typing import LogRecordLike, RunResultLike, RunStartLike, StateChangeLike

__all__ = ["ConsoleLogger", "wants_colour"]

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
# Task names cycle through these, so neighbouring tasks are told apart at a glance.
_TASK_COLOURS = ("\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[33m", "\x1b[32m", "\x1b[96m")
_LEVEL_COLOURS = {
    "DEBUG": _DIM,
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_STATE_COLOURS = {
    "RUNNING": "\x1b[36m",
    "COMPLETED": "\x1b[32m",
    "FAILED": "\x1b[1;31m",
    "DEFAULTED": "\x1b[33m",
    "ABORTED": "\x1b[33m",
}
_MAX_PAD = 32  # one very long task name should not push every line far to the right


def wants_colour(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or already closed
        return False


class ConsoleLogger(Logger):
    """Shows a run on a console: every line of output prefixed by its task's name, padded to
    the longest name of the run, and state changes as short lines (``load  → FAILED (reason)``).

    On a terminal task names, levels and states are coloured with ANSI codes; not on a pipe or
    file, nor when ``NO_COLOR`` is set. Levels other than INFO are shown before the message.
    A change to PENDING is shown only when it has a reason (a retry is waiting).

    Args:
        stream: where lines go; ``sys.stderr`` at the time of writing when not given.
        colors: force colours on (True) or off (False); decided per run when None.
    """

    def __init__(self, stream: TextIO | None = None, *, colors: bool | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.colors = colors
        self._colour = False
        self._width = 0
        self._task_colour: dict[str, str] = {}
        self._arrow = "→"
        self._idle = IdleFlush(self._flush)

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def on_run_start(self, start: RunStartLike) -> None:
        """Decide colours and the width of the task column."""
        with self._lock:
            out = self._out()
            self._colour = wants_colour(out) if self.colors is None else self.colors
            self._width = min(max((len(t) for t in start.tasks), default=0), _MAX_PAD)
            self._task_colour = {
                t: _TASK_COLOURS[i % len(_TASK_COLOURS)] for i, t in enumerate(start.tasks)
            }
            # A stream without an encoding (StringIO) holds any text.
            encoding = (getattr(out, "encoding", None) or "utf").lower()
            self._arrow = "→" if encoding.startswith("utf") else "->"
            self._idle.reset()
            super().on_run_start(start)

    def on_run_end(self, result: RunResultLike) -> None:
        """Call the hooks, then flush the stream."""
        with self._lock:
            try:
                super().on_run_end(result)
            finally:
                self._idle.reset()
                self._flush()

    def _prefix(self, task: str) -> str:
        name = printable(task).ljust(self._width)
        if self._colour:
            return f"{self._task_colour.get(task, _TASK_COLOURS[0])}{name}{_RESET}"
        return name

    def write(self, record: LogRecordLike) -> None:
        """``task | message`` (each line of a multi-line message prefixed)."""
        prefix = self._prefix(record.task) + " | "
        level = record.level
        if level != "INFO":
            if self._colour:
                prefix += f"{_LEVEL_COLOURS.get(level, _BOLD)}{level}{_RESET} "
            else:
                prefix += f"{level} "
        message = record.message
        if "\n" in message:
            message = message.replace("\n", "\n" + prefix)
        self._print(prefix + message + "\n")

    def state_changed(self, change: StateChangeLike) -> None:
        """``task → STATE (reason)``; attempts after the first are numbered."""
        after = str(change.after)
        if after == "PENDING" and not change.reason:
            return
        # Short lines only, and no control characters (a task's name in the reason, say).
        note = printable(change.reason.split("\n", 1)[0]) if change.reason else None
        if after == "RUNNING" and change.attempt > 1:
            note = f"attempt {change.attempt}"
        state = after
        if self._colour:
            state = f"{_STATE_COLOURS.get(after, _DIM)}{after}{_RESET}"
        why = f" ({note})" if note else ""
        self._print(f"{self._prefix(change.task)} {self._arrow} {state}{why}\n")

    def _print(self, text: str) -> None:
        out = self._out()
        try:
            out.write(text)
        except UnicodeEncodeError:  # a console that cannot show some character
            encoding = getattr(out, "encoding", None) or "ascii"
            out.write(text.encode(encoding, "backslashreplace").decode(encoding))
        self._idle.request()

    def _flush(self) -> None:
        with self._lock:
            out = self._out()
            with contextlib.suppress(AttributeError, ValueError):  # no flush, or closed
                out.flush()
