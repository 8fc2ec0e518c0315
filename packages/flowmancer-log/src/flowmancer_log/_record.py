"""``RunRecorder``: the compact record every run leaves beside its logs (``run.jsonl``).

The record is JSON lines, appended: a header (the run and where it came from), the job's
tasks, one short array per state change, and an end line. Lines are buffered and written, whole,
once the runner's event loop has handled what was ready, so a run killed with ``kill -9`` leaves
a record that ends at a line boundary close to where it stopped; ``read_record`` takes its whole
lines and says the run is incomplete.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._file import _retention
from ._flush import IdleFlush, forget, track
from ._jsonl import json_default
from ._retention import make_run_folder, release_live, remove_expired_runs
from .typing import RunResultLike, RunStartLike, StateChangeLike

__all__ = ["RECORD_FORMAT", "RECORD_NAME", "RunRecorder", "retry_wait"]

RECORD_NAME = "run.jsonl"
RECORD_FORMAT = 1

_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False, separators=(",", ":"))
# Past this many bytes buffered, lines are written at once (memory stays flat under a flood).
_BUFFER = 256 * 1024
# The runner's note on a retry: "attempt 1 of 3 failed (ValueError: x); next in 0.1 s".
_RETRY = re.compile(r"\Aattempt \d+ of \d+ failed \((.*)\); next in ([0-9.e+-]+|inf) s\Z", re.S)


def retry_wait(reason: str | None) -> tuple[str, float] | None:
    """The failure and the wait before the next attempt, from the runner's reason for sending a
    task back to PENDING (None for any other reason)."""
    if not reason:
        return None
    match = _RETRY.match(reason)
    if match is None:
        return None
    try:
        return match.group(1), float(match.group(2))
    except ValueError:
        return None


class RunRecorder:
    """Writes the run's record, ``run.jsonl``, into the run's log folder.

    Beside a ``FileLogger`` (``beside=``, handed to the runner before this recorder) the record
    goes into that logger's run folder and is removed with it by its retention; otherwise the
    recorder makes the folder itself (``<base_log_dir>/<job>/<run start>``) and removes this
    job's folders older than ``retention_days`` at the end of each run.

    Args:
        base_log_dir: where job folders go when there is no ``FileLogger`` beside.
        retention_days: as ``FileLogger``'s, for folders this recorder made.
        beside: the ``FileLogger`` whose run folder holds the record (and the tasks' logs).
        details: what the runner cannot tell: written in the header (the job file, command
            line, host, versions, ``resumed_from``...), except ``tasks``: name -> a mapping
            (dependencies, pool, parameters...), or a callable returning that, written on the
            second line. Changes to ``self.details`` before the run starts are written too.
    """

    def __init__(
        self,
        base_log_dir: str | os.PathLike[str] = "./logs",
        retention_days: float = 10,
        *,
        beside: Any = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.base_log_dir = Path(base_log_dir)
        self.retention_days = _retention(retention_days)
        self.beside = beside
        self.details: dict[str, Any] = dict(details or {})
        self.path: Path | None = None
        self._fd: int | None = None
        self._own: tuple[Path, Path, int | None] | None = None  # base, folder, live mark
        self._index: dict[str, int] = {}
        self._pending: list[str] = []
        self._size = 0
        self._lock = threading.Lock()
        self._idle = IdleFlush(self.flush_files)
        self._failed = False

    # -- the run --------------------------------------------------------------------------------

    def on_run_start(self, start: RunStartLike) -> None:
        """Open ``run.jsonl`` in the run's folder and write the header and the tasks."""
        self.close_files()
        self._failed = False
        self._idle.reset()
        self.path = None
        folder = getattr(self.beside, "run_dir", None)
        logs = folder is not None
        try:
            if folder is None:
                base = self.base_log_dir.absolute()
                folder, live = make_run_folder(base, start.job, start.started)
                self._own = (base, folder, live)
            path = Path(folder) / RECORD_NAME
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self._fd = os.open(path, flags | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            self._finish()
            where = folder or self.base_log_dir
            print(
                f"flowmancer_log: the run record could not be started in {where}: "
                f"{error.strerror or error}; this run keeps no record",
                file=sys.__stderr__,
            )
            return
        self.path = path
        self._index = {name: i for i, name in enumerate(start.tasks)}
        details = dict(self.details)
        tasks = details.pop("tasks", None) or {}
        if callable(tasks):  # made now, written, and let go: not kept through the run
            tasks = tasks()
        header = {
            "record": RECORD_FORMAT,
            "kind": "start",
            "job": start.job,
            "run_id": start.run_id,
            "started": start.started,
            "resumed": bool(start.resumed),
            "logs": logs,
            **details,
        }
        rows = [{"name": name, **tasks.get(name, {})} for name in start.tasks]
        track(self)
        with self._lock:
            self._pending.append(_ENCODER.encode(header) + "\n")
            self._pending.append(_ENCODER.encode({"kind": "tasks", "tasks": rows}) + "\n")
        self.flush_files()  # the header at once: `flowmancer runs` lists a run from its start

    def on_state_change(self, change: StateChangeLike) -> None:
        """One short line: ``[task index, time, state, attempt(, reason(, wait))]``."""
        if self._fd is None:  # no record for this run (said once), or no run
            return
        reason = change.reason
        head = f"[{self._index[change.task]},{change.time:.6f},"
        if reason is None:
            line = f'{head}"{change.after}",{change.attempt}]\n'
        else:
            tail = _ENCODER.encode(reason)
            if change.after == "PENDING":
                retry = retry_wait(reason)
                if retry is not None and math.isfinite(retry[1]):
                    tail = f"{tail},{retry[1]!r}"
            line = f'{head}"{change.after}",{change.attempt},{tail}]\n'
        with self._lock:
            self._pending.append(line)
            self._size += len(line)
        if self._size > _BUFFER:
            self.flush_files()
        else:
            self._idle.request()

    def on_run_end(self, result: RunResultLike) -> None:
        """Write the end line, close the file, apply retention to folders made here."""
        if self._fd is None:
            self._finish()
            return
        counts: dict[str, int] = {}
        for state in result.states.values():
            counts[str(state)] = counts.get(str(state), 0) + 1
        end = {
            "kind": "end",
            "ended": result.ended,
            "exit_code": result.exit_code,
            "ok": result.ok,
            "aborted": result.aborted,
            "counts": counts,
        }
        try:
            with self._lock:
                self._pending.append(_ENCODER.encode(end) + "\n")
            self.close_files()
        finally:
            self._finish()

    def record_plan(self, start: RunStartLike, plan: Mapping[str, str]) -> None:
        """The record of a dry run: the header (``dry_run: true``), the tasks with what would
        happen to each (``plan``: task -> what), and an end line; nothing ran."""
        self.details["dry_run"] = True
        self.details["plan"] = dict(plan)
        self.on_run_start(start)
        with self._lock:
            end = {"kind": "end", "ended": start.started, "exit_code": 0, "ok": True}
            self._pending.append(_ENCODER.encode({**end, "aborted": False, "counts": {}}) + "\n")
        try:
            self.close_files()
        finally:
            self._finish()

    def _finish(self) -> None:
        forget(self)
        self._idle.reset()
        own, self._own = self._own, None
        if own is not None:
            base, folder, live = own
            release_live(folder, live)
            remove_expired_runs(base, folder.parent, self.retention_days, keep={folder.name})

    # -- writing --------------------------------------------------------------------------------

    def flush_files(self) -> None:
        """Write out the buffered lines (normally done for you when the runner is idle)."""
        with self._lock:
            if not self._pending or self._fd is None:
                return
            data = "".join(self._pending).encode("utf-8", "backslashreplace")
            self._pending.clear()
            self._size = 0
            fd = self._fd
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as error:
                # A record with a hole would mislead: stop here, the reader says "incomplete".
                self._fd = None
                os.close(fd)
                if not self._failed:
                    self._failed = True
                    print(
                        f"flowmancer_log: the run record {self.path} could not be written "
                        f"({error.strerror or error}); it stops here",
                        file=sys.__stderr__,
                    )

    def close_files(self) -> None:
        """Write out what is buffered and close the record (done for you at the run's end)."""
        self.flush_files()
        with self._lock:
            fd, self._fd = self._fd, None
            self._pending.clear()
            self._size = 0
        if fd is not None:
            os.close(fd)
