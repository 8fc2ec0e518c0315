"""``RunRecorder``: the compact record every run leaves beside its logs (``run.jsonl``).

The record is JSON lines, appended: a header (the run and where it came from), the job's
tasks, one short array per state change, and an end line. Lines are buffered and written, whole,
a batch at a time (``FLUSH_EVERY`` after the first one waiting), so a run killed with ``kill -9``
leaves a record that ends at a line boundary close to where it stopped; ``read_record`` takes
its whole lines and says the run is incomplete. The recorder is called on the runner's thread
only (as observers are), and holds no file object: a forked child has nothing of it to write.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._file import _retention
from ._jsonl import json_default
from ._retention import make_run_folder, release_live, remove_expired_runs
from .typing import RunResultLike, RunStartLike, StateChangeLike

__all__ = ["FLUSH_EVERY", "RECORD_FORMAT", "RECORD_NAME", "RunRecorder", "retry_wait"]

RECORD_NAME = "run.jsonl"
RECORD_FORMAT = 1

_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False, separators=(",", ":"))
# Lines are written this many seconds after the first one waiting (a run killed with -9 loses
# at most that much of its record), and at once past _BUFFER bytes (memory stays flat).
FLUSH_EVERY = 0.05
_BUFFER = 256 * 1024
# A state as it is written ('"COMPLETED"'), made once per state.
_QUOTED: dict[object, str] = {}
# The runner's note on a retry: "attempt 1 of 3 failed (ValueError: x); next in 0.1 s".
_RETRY = re.compile(r"\Aattempt \d+ of \d+ failed \((.*)\); next in ([0-9.e+-]+|inf) s\Z", re.S)


def _quote(state: object) -> str:
    quoted = _QUOTED[state] = _ENCODER.encode(str(state))
    return quoted


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
        self._timer: asyncio.TimerHandle | None = None
        self._failed = False

    # -- the run --------------------------------------------------------------------------------

    def on_run_start(self, start: RunStartLike) -> None:
        """Open ``run.jsonl`` in the run's folder and write the header and the tasks."""
        self.close_files()
        self._failed = False
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
        self._pending.append(_ENCODER.encode(header) + "\n")
        self._pending.append(_ENCODER.encode({"kind": "tasks", "tasks": rows}) + "\n")
        self.flush_files()  # the header at once: `flowmancer runs` lists a run from its start

    def on_state_change(self, change: StateChangeLike) -> None:
        """One short line: ``[task index, time, state, attempt(, reason(, wait))]``."""
        if self._fd is None:  # no record for this run (said once), or no run
            return
        after = change.after
        state = _QUOTED.get(after) or _quote(after)
        reason = change.reason
        if reason is None:
            line = f"[{self._index[change.task]},{change.time!r},{state},{change.attempt}]\n"
        else:
            tail = _ENCODER.encode(reason)
            if after == "PENDING":
                retry = retry_wait(reason)
                if retry is not None and math.isfinite(retry[1]):
                    tail = f"{tail},{retry[1]!r}"
            line = f"[{self._index[change.task]},{change.time!r},{state},{change.attempt},{tail}]\n"
        self._pending.append(line)
        self._size += len(line)
        if self._size > _BUFFER:
            self.flush_files()
        elif self._timer is None:
            self._flush_soon()

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
        end = {"kind": "end", "ended": start.started, "exit_code": 0, "ok": True}
        self._pending.append(_ENCODER.encode({**end, "aborted": False, "counts": {}}) + "\n")
        try:
            self.close_files()
        finally:
            self._finish()

    def _finish(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            base, folder, live = own
            release_live(folder, live)
            remove_expired_runs(base, folder.parent, self.retention_days, keep={folder.name})

    # -- writing --------------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # fed by hand, outside an event loop: at once
            self.flush_files()
            return
        self._timer = loop.call_later(FLUSH_EVERY, self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        self.flush_files()

    def flush_files(self) -> None:
        """Write out the buffered lines (done for you every ``FLUSH_EVERY`` seconds)."""
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
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush_files()
        fd, self._fd = self._fd, None
        self._pending.clear()
        self._size = 0
        if fd is not None:
            os.close(fd)
