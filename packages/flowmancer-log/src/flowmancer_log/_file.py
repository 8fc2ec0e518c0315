"""``FileLogger``: one file per task per run, under a folder per job and per run."""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import TextIO

from ._base import Logger
from ._flush import IdleFlush, forget, track
from ._format import (
    FINISHED,
    TimeFormat,
    open_for_appending,
    safe_name,
    state_level,
)
from ._retention import make_run_folder, release_live, remove_expired_runs
from .typing import LogRecordLike, RunResultLike, RunStartLike, StateChangeLike

__all__ = ["FileLogger"]

_BUFFER = 64 * 1024


class FileLogger(Logger):
    """Writes each task's output to ``<base_log_dir>/<job>/<run start>/<task>.log``.

    Lines look like ``[2026-11-26T14:03:07.123+00:00] INFO - message`` (UTC, the time the line
    was produced); a traceback or other multi-line message is written whole. Each attempt starts
    with a header line (``----- attempt 2 · 2026-11-26T14:03:07.123+00:00 -----``) and state
    changes appear as short lines (``[…] ERROR - RUNNING -> FAILED (ValueError: bad input)``).
    A task that never became PENDING (skipped, completed in an earlier run, defaulted) gets no
    file. The run folder is named after the run's start in UTC (``2026-11-26T14-03-07.123Z``,
    with ``-2``… if taken) so that folders sort by time.

    Writes are buffered and flushed whenever the runner's event loop has handled what was ready,
    so ``tail -f`` follows a task as it runs. A task's file is closed when the task finishes;
    every file is flushed and closed at the end of the run (an aborted one too) and, failing
    that, at interpreter exit. At most ``max_open_files`` files are open at once: the least
    recently written is closed and reopened for appending when needed.

    Args:
        base_log_dir: where the job folders go (made if missing; relative to the working
            directory at the start of the run).
        retention_days: at the end of each run, remove this job's run folders that started more
            than this many days ago (fractions allowed). Negative: keep all. Only folders named
            like run folders, inside ``base_log_dir``, are ever removed.
        max_open_files: how many task files may be open at once.
    """

    def __init__(
        self,
        base_log_dir: str | os.PathLike[str] = "./logs",
        retention_days: float = 10,
        *,
        max_open_files: int = 128,
    ) -> None:
        super().__init__()
        if max_open_files < 1:
            raise ValueError(f"max_open_files must be at least 1, got {max_open_files}")
        self.base_log_dir = Path(base_log_dir)
        self.retention_days = _retention(retention_days)
        self._live: int | None = None
        self._running = False
        self.max_open_files = max_open_files
        self.run_dir: Path | None = None
        self._base: Path | None = None
        self._open: collections.OrderedDict[str, TextIO] = collections.OrderedDict()
        self._names: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._time = TimeFormat(3)
        self._idle = IdleFlush(self.flush_files)

    # -- where files go ---------------------------------------------------------------------

    def path_for(self, task: str) -> Path:
        """The log file of ``task`` in the current (or last) run.

        Raises:
            RuntimeError: before the first run started.
        """
        if self.run_dir is None:
            raise RuntimeError("no run has started yet")
        name = self._names.get(task)
        if name is None:
            name = self._names[task] = safe_name(task) + ".log"
        return self.run_dir / name

    def _make_run_dir(self, start: RunStartLike) -> Path:
        self._base = self.base_log_dir.absolute()
        folder, self._live = make_run_folder(self._base, start.job, start.started)
        return folder

    # -- the run ------------------------------------------------------------------------------

    def on_run_start(self, start: RunStartLike) -> None:
        """Make the run's folder, then call the hooks."""
        with self._lock:
            self.close_files()
            self._names.clear()
            self._idle.reset()
            self.run_dir = None  # if the folder cannot be made, nothing goes to the last one
            self.run_dir = self._make_run_dir(start)
            self._running = True
            track(self)
            super().on_run_start(start)

    def on_run_end(self, result: RunResultLike) -> None:
        """Call the hooks, close every file, then apply the retention period."""
        with self._lock:
            try:
                super().on_run_end(result)
            finally:
                try:
                    self.close_files()
                finally:
                    self._finish_run()

    def _finish_run(self) -> None:
        self._running = False
        forget(self)
        self._idle.reset()
        if self.run_dir is not None:
            release_live(self.run_dir, self._live)
            self._live = None
            if self._base is not None:
                remove_expired_runs(
                    self._base,
                    self.run_dir.parent,
                    self.retention_days,
                    keep={self.run_dir.name},
                )

    def write(self, record: LogRecordLike) -> None:
        """Append ``[time] LEVEL - message`` to the task's file."""
        self._append(
            record.task, f"[{self._time(record.time)}] {record.level} - {record.message}\n"
        )

    def state_changed(self, change: StateChangeLike) -> None:
        """Append an attempt header (on RUNNING) or a short state line; close a finished task."""
        after = str(change.after)
        before = str(change.before)
        task = change.task
        if task not in self._open and before == "INIT" and after in FINISHED:
            return  # never ran in this run: no file
        when = self._time(change.time)
        if after == "RUNNING":
            text = f"----- attempt {change.attempt} · {when} -----\n"
        else:
            why = f" ({change.reason})" if change.reason else ""
            text = f"[{when}] {state_level(after)} - {before} -> {after}{why}\n"
        self._append(task, text)
        if after in FINISHED:
            handle = self._open.pop(task, None)
            self._dirty.discard(task)
            if handle is not None:
                handle.close()

    # -- files ----------------------------------------------------------------------------------

    def _append(self, task: str, text: str) -> None:
        if not self._running:
            return  # before a run or after its end: no file to keep open and close again
        handle = self._open.get(task)
        if handle is None:
            handle = self._open_file(task)
        else:
            self._open.move_to_end(task)
        handle.write(text)
        self._dirty.add(task)
        self._idle.request()

    def _open_file(self, task: str) -> TextIO:
        while len(self._open) >= self.max_open_files:
            oldest, handle = self._open.popitem(last=False)
            self._dirty.discard(oldest)
            handle.close()
        # backslashreplace: a lone surrogate (from a str built with surrogateescape) is written
        # as \udcff instead of failing the write. Invalid UTF-8 bytes from a task's file
        # descriptors already arrive as U+FFFD.
        handle = open(  # noqa: SIM115 - kept open across calls, closed on finish or run end
            open_for_appending(self.path_for(task)),
            "a",
            encoding="utf-8",
            errors="backslashreplace",
            buffering=_BUFFER,
            newline="\n",
        )
        self._open[task] = handle
        return handle

    def flush_files(self) -> None:
        """Write out whatever is buffered (normally done for you when the runner is idle)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            for task in dirty:
                handle = self._open.get(task)
                if handle is not None:
                    try:
                        handle.flush()
                    except BaseException:
                        self._dirty.update(dirty)  # still buffered: the next flush tries again
                        raise

    def close_files(self) -> None:
        """Flush and close every open file (done for you at the end of a run)."""
        with self._lock:
            self._dirty.clear()
            errors = []
            while self._open:
                _, handle = self._open.popitem(last=False)
                try:
                    handle.close()
                except OSError as error:  # close the rest; report the first
                    errors.append(error)
            if errors:
                raise errors[0]


def _retention(days: object) -> float:
    """``retention_days`` checked when the logger is made, not at the end of the first run."""
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != days:
        raise TypeError(f"retention_days must be a number of days, got {days!r}")
    # Beyond a million days (or infinite) the cut-off is before any date: keep everything.
    return -1.0 if days > 1_000_000 else float(days)
