"""``JSONLinesLogger``: one JSON object per line, appended, for machines to follow."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from ._base import Logger
from ._flush import IdleFlush, forget, track
from ._format import TimeFormat, open_for_appending, safe_name, state_level
from .typing import LogRecordLike, RunResultLike, RunStartLike, StateChangeLike

__all__ = ["JSONLinesLogger", "json_default"]

# Lines are kept until the runner is idle and then written with one write() of whole lines;
# past this many bytes they are written at once, so memory stays flat under a flood.
_BUFFER = 256 * 1024


def json_default(value: object) -> object:
    """What JSON gets for a value it cannot hold: its ``str()``, or its type's name if even that
    fails. Never raises, so no record is ever lost to serialisation."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


# One encoder for every line: json.dumps with keyword arguments builds a new one per call.
_ENCODER = json.JSONEncoder(default=json_default, ensure_ascii=False)


def _encode(event: object, **_ignored: object) -> str:
    # JSONRenderer passes its own ``default``; ours (json_default) is already in the encoder.
    return _ENCODER.encode(event)


class JSONLinesLogger(Logger):
    """Appends one JSON object per line to a file: per log record, per state change, and one
    at the start and the end of each run.

    Objects are rendered by structlog's ``JSONRenderer`` and hold ``timestamp`` (ISO 8601, UTC,
    microseconds, when the line was produced), ``level`` (lower case, as structlog writes it),
    ``kind`` (``log``, ``state``, ``run_start``, ``run_end``), ``job``, ``run_id``, ``task``,
    ``attempt`` and ``event`` (the message), plus ``stream`` for log records, ``before``,
    ``after`` and ``reason`` for state changes, and the run's outcome (``ok``, ``aborted``,
    ``exit_code``, ``states``, ``attempts``, ``durations``, ``reasons``) at its end. Output is
    flushed whenever the runner's event loop has handled what was ready, so
    ``tail -f run.jsonl | jq .`` follows a run as it goes.

    Args:
        path: the file, with ``{job}`` and ``{run_id}`` replaced by the run's (made safe as file
            names). Missing folders are made. Relative to the working directory at run start.
        renderer: turns an event dict into a line; structlog's ``JSONRenderer`` with a
            serializer that never fails (``json_default``) and keeps non-ASCII text as it is,
            when not given.
        fd: write to this open file descriptor instead of ``path`` (standard error, say), as
            it is (a duplicate is written to and closed; ``fd`` stays open).

    Raises:
        ValueError: ``path`` names a field other than ``{job}`` and ``{run_id}``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "./logs/{job}.jsonl",
        *,
        renderer: Callable[[Any, str, MutableMapping[str, Any]], str | bytes] | None = None,
        fd: int | None = None,
    ) -> None:
        super().__init__()
        self.target_fd = fd
        self.path_template = os.fspath(path)
        try:
            self.path_template.format(job="job", run_id="run")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"path {self.path_template!r}: only {{job}} and {{run_id}} can be filled in "
                f"(write {{{{ and }}}} for literal braces); {type(error).__name__}: {error}"
            ) from None
        self.path: Path | None = None
        if renderer is None:
            # Imported here: a run that writes no JSON lines does not pay for structlog.
            from structlog.processors import JSONRenderer

            renderer = JSONRenderer(serializer=_encode)
        self._render = renderer
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._time = TimeFormat(6)
        self._idle = IdleFlush(self.flush_files)

    def on_run_start(self, start: RunStartLike) -> None:
        """Open the file for appending and write the ``run_start`` object."""
        with self._lock:
            self.close_files()
            self._idle.reset()
            if self.target_fd is not None:
                self.path = None
                # Closed at the run's end; the caller's stays. Above 2, as every file we open.
                self._fd = fcntl.fcntl(self.target_fd, fcntl.F_DUPFD_CLOEXEC, 3)
            else:
                path = Path(
                    self.path_template.format(
                        job=safe_name(start.job), run_id=safe_name(start.run_id)
                    )
                ).absolute()
                path.parent.mkdir(parents=True, exist_ok=True)
                self.path = path
                # O_APPEND and writes of whole lines only: several processes (or runs)
                # appending to one file never split each other's lines.
                self._fd = open_for_appending(path, 0o644)
            track(self)
            self._emit(
                {
                    "timestamp": self._time(start.started),
                    "level": "info",
                    "kind": "run_start",
                    "job": start.job,
                    "run_id": start.run_id,
                    "tasks": list(start.tasks),
                    "resumed": start.resumed,
                    "event": "run started",
                }
            )
            super().on_run_start(start)

    def on_run_end(self, result: RunResultLike) -> None:
        """Call the hooks, write the ``run_end`` object and close the file."""
        with self._lock:
            try:
                super().on_run_end(result)
            finally:
                try:
                    self._emit(
                        {
                            "timestamp": self._time(result.ended),
                            "level": "info" if result.ok else "error",
                            "kind": "run_end",
                            "job": result.job,
                            "run_id": result.run_id,
                            "ok": result.ok,
                            "aborted": result.aborted,
                            "exit_code": result.exit_code,
                            "states": {k: str(v) for k, v in result.states.items()},
                            "attempts": dict(result.attempts),
                            "durations": dict(result.durations),
                            "reasons": dict(result.reasons),
                            "event": "run ended",
                        }
                    )
                finally:
                    self.close_files()
                    forget(self)
                    self._idle.reset()

    def write(self, record: LogRecordLike) -> None:
        """One ``kind: log`` object."""
        self._emit(
            {
                "timestamp": self._time(record.time),
                "level": record.level.lower(),
                "kind": "log",
                "job": record.job,
                "run_id": record.run_id,
                "task": record.task,
                "attempt": record.attempt,
                "stream": record.stream,
                "event": record.message,
            }
        )

    def state_changed(self, change: StateChangeLike) -> None:
        """One ``kind: state`` object."""
        after = str(change.after)
        before = str(change.before)
        self._emit(
            {
                "timestamp": self._time(change.time),
                "level": state_level(after).lower(),
                "kind": "state",
                "job": change.job,
                "run_id": change.run_id,
                "task": change.task,
                "attempt": change.attempt,
                "before": before,
                "after": after,
                "reason": change.reason,
                "event": f"{change.task} {before} -> {after}",
            }
        )

    def _emit(self, event: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("JSONLinesLogger: no run has started (on_run_start not called)")
        line = self._render(None, str(event["level"]), event)
        if isinstance(line, str):
            # backslashreplace turns a lone surrogate into "\udcff", which is that same
            # character as a JSON escape: the line stays valid JSON.
            line = line.encode("utf-8", "backslashreplace")
        # json.dumps escapes newlines inside strings: one object is always one line.
        self._pending.append(line + b"\n")
        self._pending_size += len(line) + 1
        if self._pending_size >= _BUFFER:
            self._write_pending()
        else:
            self._idle.request()

    def _write_pending(self) -> None:
        fd = self._fd
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if fd is None or not data:
            return
        view = memoryview(data)
        while view:  # a regular file takes it all in one write unless the disk is full
            view = view[os.write(fd, view) :]

    def flush_files(self) -> None:
        """Write out whatever is buffered (normally done for you when the runner is idle)."""
        with self._lock:
            self._write_pending()

    def close_files(self) -> None:
        """Flush and close the file (done for you at the end of a run)."""
        with self._lock:
            try:
                self._write_pending()
            finally:
                fd, self._fd = self._fd, None
                if fd is not None:
                    os.close(fd)
