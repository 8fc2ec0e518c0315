"""``RichProgressBar``: how the run is going, live on a terminal (0.12's path and name).

On a terminal: one line with the count of tasks in each state (in the words and order of the
driver's summary line: ``2 completed, 1 failed, 1 running, 3 pending``), the elapsed time and
the names of the tasks running now, redrawn in place with ``rich``. The line always fits the
terminal's width (what does not fit is cut with ``…``): a line that wrapped could not be redrawn
in place and would leave stale frames above it. Anywhere else (a pipe, a file, CI logs): one
plain line per state change instead of control characters; the tasks a Ctrl-C aborts are said
once, at the end, by the driver's summary, not one line each.

No thread is started (the process executor forks, and a thread at fork time is a hazard): the
line is redrawn on every state change and, while the runner's event loop is idle, twice a
second for the clock.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any, TextIO

from .._counts import counted, plural
from .._streams import printable

__all__ = ["RichProgressBar"]

_NOT_ENDED = ("INIT", "PENDING", "RUNNING")
# Columns the live line leaves free at the right: the terminal echoes ^C after it, and an echo
# that wrapped to a new line would stay on screen under the final frame.
_ECHO_ROOM = 2
# The job's name takes at most this much of the line; the counts matter more.
_JOB_WIDTH = 24
_BAR_WIDTH = 10


class RichProgressBar:
    """A live progress line on a terminal, plain state-change lines elsewhere.

    Args:
        stream: where to draw; standard error (as it is when the run starts) when not given.
        force_terminal: draw live even when ``stream`` is not a terminal (True), or never
            (False); by default live only on a terminal with ``TERM`` not ``dumb``.
    """

    def __init__(self, stream: TextIO | None = None, force_terminal: bool | None = None) -> None:
        self.stream = stream
        self.force_terminal = force_terminal
        self._states: dict[str, str] = {}
        self._started = 0.0
        self._job = ""
        self._live: Any = None
        self._progress: Any = None
        self._bar: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._out: Any = sys.stderr
        self._escape: Any = str
        self._console: Any = None
        self._bar_column: Any = None
        self._all_columns: tuple[Any, ...] = ()

    # -- observer methods -----------------------------------------------------------------------

    def on_run_start(self, start: Any) -> None:
        """Begin the display (live on a terminal)."""
        self._out = self.stream if self.stream is not None else (sys.stderr or sys.__stderr__)
        self._job = start.job
        self._started = time.monotonic()
        self._states = dict.fromkeys(start.tasks, "INIT")
        if self._is_terminal():
            self._start_live()
        else:
            self._plain(f"{printable(start.job)}: {plural(len(start.tasks), 'task')}")

    def on_state_change(self, change: Any) -> None:
        """Count the change; redraw, or print it as a line."""
        after = str(change.after)
        self._states[change.task] = after
        if self._progress is not None:
            self._redraw()
        elif after == "ABORTED":
            pass  # a Ctrl-C aborts them all at once: the summary says which, in one line
        elif after != "PENDING" or change.reason:  # PENDING is noise in a log
            why = f" ({printable(_last_line(change.reason))})" if change.reason else ""
            self._plain(f"{printable(change.task)}: {change.before} -> {after}{why}")

    def on_run_end(self, result: Any) -> None:
        """Final counts; the live line stays on screen as the summary."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._progress is not None:
            self._redraw()
            self._progress.stop()
            self._progress = None
        else:
            self._plain(self._summary())

    # -- drawing ----------------------------------------------------------------------------

    def _is_terminal(self) -> bool:
        if self.force_terminal is not None:
            return self.force_terminal
        isatty = getattr(self._out, "isatty", None)
        return bool(isatty and isatty()) and os.environ.get("TERM", "") != "dumb"

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.table import Column

        self._console = Console(file=self._out, force_terminal=True, width=self._width())
        # Each piece is cut to its room before it is drawn (see _redraw): the line never wraps.
        self._bar_column = BarColumn(bar_width=_BAR_WIDTH)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[job]}", table_column=Column(no_wrap=True)),
            self._bar_column,
            TextColumn("{task.completed}/{task.total}", table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[status]}", markup=False, table_column=Column(no_wrap=True)),
            console=self._console,
            auto_refresh=False,  # no refresh thread: we redraw ourselves
            transient=False,
            # Leave sys.stdout/sys.stderr alone: tasks on the thread executor write there.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._all_columns = self._progress.columns
        self._escape = escape  # names like load[eu] are not markup
        self._bar = self._progress.add_task("", total=len(self._states), status="", job="")
        self._progress.update(self._bar, **self._layout())  # the first frame fits too
        self._progress.start()
        self._redraw()
        self._tick()

    def _width(self) -> int:
        """The terminal's width as it is now (it may have been resized), less the room for
        an echoed ^C; ``COLUMNS`` when set, as for every terminal program."""
        columns = 0
        text = os.environ.get("COLUMNS", "")
        if text.isdigit():
            columns = int(text)
        if columns <= 0:
            try:
                columns = os.get_terminal_size(self._out.fileno()).columns
            except (AttributeError, ValueError, OSError):
                columns = 0
        return max(20, (columns or 80) - _ECHO_ROOM)

    def _tick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (fed by hand): redrawn on changes only
        self._timer = loop.call_later(0.5, self._on_timer)

    def _on_timer(self) -> None:
        if self._progress is not None:
            self._redraw()
            self._tick()

    def _redraw(self) -> None:
        self._progress.update(self._bar, **self._layout())
        self._progress.refresh()

    def _layout(self) -> dict[str, Any]:
        """The line's pieces, each cut to its room in the terminal's width."""
        ended = sum(1 for state in self._states.values() if state not in _NOT_ENDED)
        running = [name for name, state in self._states.items() if state == "RUNNING"]
        shown = ", ".join(map(printable, running[:4]))
        shown += f" +{len(running) - 4}" if len(running) > 4 else ""
        status = f"{self._counted()} · {self._elapsed()}" + (f" · now: {shown}" if shown else "")
        width = self._width()
        self._console.width = width
        job = _cut(printable(self._job), min(_JOB_WIDTH, width // 5))
        count = f"{ended}/{len(self._states)}"
        # The columns are set one space apart. The counts matter more than the bar: it makes
        # room for them when they would be cut.
        room = width - _cells(job) - len(count) - 2
        bar = _BAR_WIDTH if _cells(status) <= room - _BAR_WIDTH - 1 else 0
        room -= bar + 1 if bar else 0
        self._bar_column.bar_width = bar or None
        self._progress.columns = self._columns_with(bar)
        return {
            "completed": ended,
            "job": self._escape(job),
            "status": _cut(status, max(0, room)),
        }

    def _columns_with(self, bar: int) -> tuple[Any, ...]:
        """The line's columns: without the bar's when it has no room."""
        if bar:
            return self._all_columns
        return tuple(c for c in self._all_columns if c is not self._bar_column)

    def _counted(self) -> str:
        """The count of each state, as the driver's summary says them (INIT: pending)."""
        return counted("PENDING" if s == "INIT" else s for s in self._states.values())

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self._started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def _summary(self) -> str:
        return f"{printable(self._job)}: {self._counted()} in {self._elapsed()}"

    def _plain(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        try:
            self._out.write(f"[{stamp}] {text}\n")
            self._out.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed or broken stream must not stop the run


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` terminal cells, ended by ``…`` when cut (wide characters
    count two)."""
    if _cells(text) <= room:
        return text
    if room <= 0:
        return ""
    from rich.cells import set_cell_size

    return set_cell_size(text, room - 1).rstrip() + "…"


def _last_line(text: str) -> str:
    # A reason may hold a traceback: its last line names the exception.
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
