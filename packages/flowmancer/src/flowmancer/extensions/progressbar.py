"""``RichProgressBar``: how the run is going, live on a terminal (0.12's path and name).

On a terminal: one line with the counts of pending, running, completed and failed tasks, the
elapsed time and the names of the tasks running now, redrawn in place with ``rich``. Anywhere
else (a pipe, a file, CI logs): one plain line per state change instead of control characters.

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

from .._streams import printable

__all__ = ["RichProgressBar"]

_FAILED = {"FAILED", "DEFAULTED", "ABORTED"}


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
            self._plain(f"{printable(start.job)}: {len(start.tasks)} tasks")

    def on_state_change(self, change: Any) -> None:
        """Count the change; redraw, or print it as a line."""
        after = str(change.after)
        self._states[change.task] = after
        if self._progress is not None:
            self._redraw()
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
        from rich.progress import BarColumn, Progress, TextColumn

        console = Console(file=self._out, force_terminal=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[status]}"),
            console=console,
            auto_refresh=False,  # no refresh thread: we redraw ourselves
            transient=False,
            # Leave sys.stdout/sys.stderr alone: tasks on the thread executor write there.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        from rich.markup import escape

        self._escape = escape  # names like load[eu] are not markup
        self._bar = self._progress.add_task(escape(self._job), total=len(self._states), status="")
        self._progress.start()
        self._redraw()
        self._tick()

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
        counts = self._counts()
        done = counts["completed"] + counts["failed"] + counts["skipped"]
        running = [name for name, state in self._states.items() if state == "RUNNING"]
        shown = ", ".join(map(printable, running[:4]))
        shown += f" +{len(running) - 4}" if len(running) > 4 else ""
        status = (
            f"pending {counts['pending']} · running {counts['running']} · "
            f"completed {counts['completed']} · failed {counts['failed']} · "
            f"{self._elapsed()}" + (f" · now: {shown}" if shown else "")
        )
        self._progress.update(self._bar, completed=done, status=self._escape(status))
        self._progress.refresh()

    def _counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "running", "completed", "failed", "skipped"), 0)
        for state in self._states.values():
            if state in ("INIT", "PENDING"):
                counts["pending"] += 1
            elif state == "RUNNING":
                counts["running"] += 1
            elif state == "COMPLETED":
                counts["completed"] += 1
            elif state == "SKIPPED":
                counts["skipped"] += 1
            elif state in _FAILED:
                counts["failed"] += 1
        return counts

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self._started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def _summary(self) -> str:
        c = self._counts()
        return (
            f"{printable(self._job)}: completed {c['completed']}, failed {c['failed']}, skipped "
            f"{c['skipped']}, pending {c['pending']} in {self._elapsed()}"
        )

    def _plain(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        try:
            self._out.write(f"[{stamp}] {text}\n")
            self._out.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed or broken stream must not stop the run


def _last_line(text: str) -> str:
    # A reason may hold a traceback: its last line names the exception.
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
