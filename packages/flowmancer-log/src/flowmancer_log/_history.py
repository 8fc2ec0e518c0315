"""Reading run records back: one run whole (``read_record``), or the runs of a job
(``find_records``), newest first."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._format import RUN_FOLDER, safe_name
from ._record import RECORD_FORMAT, RECORD_NAME, retry_wait
from ._retention import is_live

__all__ = [
    "RecordError",
    "RecordedAttempt",
    "RecordedRun",
    "RecordedTask",
    "find_records",
    "read_record",
]

# The header's own keys; everything else in it is the driver's ``details``.
_HEADER = ("record", "kind", "job", "run_id", "started", "resumed", "logs")
_TAIL = 64 * 1024  # the end line is found in the last this-many bytes
_PAIRS = {b"[": b"]", b"{": b"}"}


class RecordError(ValueError):
    """A run record that cannot be read: ``path``, the ``line`` (from 1; 0: the file), why."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


@dataclasses.dataclass
class RecordedAttempt:
    """One attempt of a task, as recorded.

    ``outcome`` is ``COMPLETED``, ``FAILED``, ``ABORTED``, ``RETRY`` (failed, and the task was
    tried again after ``wait`` seconds) or ``RUNNING`` (the record stops before its end, and
    ``ended`` is None). ``reason`` says why it did not succeed.
    """

    number: int
    started: float
    ended: float | None = None
    outcome: str = "RUNNING"
    reason: str | None = None
    wait: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds it ran (None while the record has no end for it)."""
        return None if self.ended is None else max(0.0, self.ended - self.started)


@dataclasses.dataclass
class RecordedTask:
    """A task of a recorded run: its final state, its attempts and what the driver said of it
    (``details``: ``dependencies``, ``pool``, ``parameters``, ... as given to the recorder)."""

    name: str
    state: str = "INIT"
    reason: str | None = None
    attempts: list[RecordedAttempt] = dataclasses.field(default_factory=list)
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    log: Path | None = None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """The tasks it depends on (empty when the record does not say)."""
        deps = self.details.get("dependencies") or ()
        return tuple(str(d) for d in deps)

    @property
    def started(self) -> float | None:
        """When its first attempt started in this run (None: it did not run)."""
        return self.attempts[0].started if self.attempts else None

    @property
    def ended(self) -> float | None:
        """When its last attempt ended (None: it did not run, or has no end in the record)."""
        return self.attempts[-1].ended if self.attempts else None

    @property
    def duration(self) -> float | None:
        """From its first attempt's start to its last one's end, retry waits included."""
        start, end = self.started, self.ended
        return None if start is None or end is None else max(0.0, end - start)


@dataclasses.dataclass
class RecordedRun:
    """A run as its record tells it.

    ``status`` is ``succeeded``, ``failed``, ``aborted``, ``dry run``, ``running`` (no end yet,
    and its folder is still in use) or ``incomplete`` (no end: the run was killed, or its
    machine stopped). ``tasks`` is empty when only the summary was read.
    """

    path: Path
    job: str
    run_id: str
    started: float
    resumed: bool = False
    ended: float | None = None
    last_seen: float = 0.0
    exit_code: int | None = None
    aborted: bool = False
    status: str = "incomplete"
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    tasks: dict[str, RecordedTask] = dataclasses.field(default_factory=dict)

    @property
    def incomplete(self) -> bool:
        """True when the record has no end (killed, or still running)."""
        return self.ended is None

    @property
    def duration(self) -> float:
        """Seconds from start to end (to the last thing recorded, when incomplete)."""
        return max(0.0, (self.ended if self.ended is not None else self.last_seen) - self.started)

    @property
    def resumed_from(self) -> str | None:
        """The run this one resumed (a restart from its checkpoint), if any."""
        value = self.details.get("resumed_from")
        return str(value) if value else None

    @property
    def dry_run(self) -> bool:
        """True for the record of a dry run (nothing ran)."""
        return bool(self.details.get("dry_run"))


def find_records(base_log_dir: str | os.PathLike[str], job: str | None = None) -> list[Path]:
    """The run records under ``base_log_dir`` (of ``job``, or of every job), newest first."""
    base = Path(base_log_dir)
    if job is not None:
        job_dirs = [base / safe_name(job)]
    else:
        try:
            job_dirs = sorted(p for p in base.iterdir() if p.is_dir())
        except OSError:
            return []
    found: list[tuple[str, Path]] = []
    for job_dir in job_dirs:
        try:
            entries = list(os.scandir(job_dir))
        except OSError:
            continue
        for entry in entries:
            if RUN_FOLDER.match(entry.name) is None:
                continue
            record = Path(entry.path) / RECORD_NAME
            if record.is_file():
                found.append((entry.name, record))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [path for _, path in found]


def read_record(path: str | os.PathLike[str], *, summary: bool = False) -> RecordedRun:
    """The run recorded in ``path`` (a ``run.jsonl``).

    A last line without its newline (the run was killed while writing it) is left out. With
    ``summary``, only the header and the end line are read, when there is an end line.

    Raises:
        RecordError: the file cannot be read, or a whole line of it is not a record's.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            first = file.readline()
            if summary:
                run = _header(path, first)
                end = _end_line(path, file)
                if end is not None:
                    _apply_end(run, end)
                    return run
            file.seek(0)
            data = file.read()
    except OSError as error:
        raise RecordError(path, 0, f"cannot read it: {error.strerror or error}") from None
    return _parse(path, data)


def _header(path: Path, line: bytes) -> RecordedRun:
    if not line.endswith(b"\n"):
        raise RecordError(path, 1, "no header: the run was stopped before it started")
    head = _load(path, 1, line)
    if not isinstance(head, dict) or head.get("kind") != "start":
        raise RecordError(path, 1, "not a run record (its first line is no header)")
    version = head.get("record")
    if not isinstance(version, int) or version > RECORD_FORMAT:
        raise RecordError(
            path, 1, f"written in record format {version!r}; this version reads {RECORD_FORMAT}"
        )
    try:
        started = float(head["started"])
        run = RecordedRun(
            path=path,
            job=str(head["job"]),
            run_id=str(head["run_id"]),
            started=started,
            resumed=bool(head.get("resumed")),
            last_seen=started,
            details={k: v for k, v in head.items() if k not in _HEADER},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise RecordError(path, 1, f"a header without {error}") from None
    if head.get("logs"):
        run.details = {**run.details, "log_dir": str(path.parent)}
    return run


def _end_line(path: Path, file: Any) -> dict[str, Any] | None:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - _TAIL))
    tail = file.read()
    if not tail.endswith(b"\n"):
        return None
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if not last.startswith(b"{"):
        return None
    try:
        end = json.loads(last)
    except ValueError:
        return None
    return end if isinstance(end, dict) and end.get("kind") == "end" else None


def _apply_end(run: RecordedRun, end: Mapping[str, Any]) -> None:
    run.ended = float(end.get("ended", run.last_seen))
    run.last_seen = max(run.last_seen, run.ended)
    exit_code = end.get("exit_code")
    run.exit_code = int(exit_code) if isinstance(exit_code, int) else None
    run.aborted = bool(end.get("aborted"))
    counts = end.get("counts")
    if isinstance(counts, dict) and (counts or not run.tasks):
        run.counts = {str(k): int(v) for k, v in counts.items()}
    if run.dry_run:
        run.status = "dry run"
    elif run.aborted:
        run.status = "aborted"
    else:
        run.status = "succeeded" if end.get("ok") else "failed"


def _load(path: Path, number: int, line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as error:
        raise RecordError(path, number, f"not JSON: {error}") from None


def _parse(path: Path, data: bytes) -> RecordedRun:
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: nothing, or a line cut short by a kill
    if not lines:
        raise RecordError(path, 1, "no header: the run was stopped before it started")
    run = _header(path, lines[0] + b"\n")
    names: list[str] = []
    end: dict[str, Any] | None = None
    log_dir = run.details.get("log_dir")
    for number, item in enumerate(_items(path, lines), start=2):
        if isinstance(item, list):
            _event(path, number, run, names, item)
        elif isinstance(item, dict) and item.get("kind") == "tasks":
            names = _tasks(path, number, run, item.get("tasks"), log_dir)
        elif isinstance(item, dict) and item.get("kind") == "end":
            end = item
        # other kinds: written by a later version, not needed to read this one
    counts: dict[str, int] = {}
    for task in run.tasks.values():
        counts[task.state] = counts.get(task.state, 0) + 1
    run.counts = counts
    if end is not None:
        _apply_end(run, end)
    else:
        run.status = "running" if is_live(path.parent) else "incomplete"
    return run


def _items(path: Path, lines: list[bytes]) -> list[Any]:
    """The lines after the header, parsed: all at once (one JSON array: a 10,000-task record
    in a fraction of the time), or line by line to name the one that is damaged."""
    rest = lines[1:]
    try:
        if not all(not line or _PAIRS.get(line[:1]) == line[-1:] for line in rest):
            raise ValueError("a line that is not one whole value")
        items = json.loads(b"[" + b",".join(line or b"null" for line in rest) + b"]")
    except ValueError:
        items = [_load(path, number, line) if line else None for number, line in enumerate(rest, 2)]
    if len(items) != len(rest):  # a line holding more than one value ("1, 2")
        items = [_load(path, number, line) if line else None for number, line in enumerate(rest, 2)]
    return list(items)


def _tasks(path: Path, number: int, run: RecordedRun, rows: Any, log_dir: str | None) -> list[str]:
    if not isinstance(rows, list):
        raise RecordError(path, number, "the tasks line holds no list of tasks")
    names = []
    logs = Path(log_dir) if log_dir else None
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            raise RecordError(path, number, f"a task without a name: {row!r}"[:200])
        name = row["name"]
        details = {k: v for k, v in row.items() if k != "name"}
        log = logs / (safe_name(name) + ".log") if logs is not None else None
        run.tasks[name] = RecordedTask(name, details=details, log=log)
        names.append(name)
    return names


def _event(path: Path, number: int, run: RecordedRun, names: list[str], item: list[Any]) -> None:
    try:
        index, when, state, attempt = item[0], float(item[1]), str(item[2]), int(item[3])
        task = run.tasks[names[index]]
    except (IndexError, KeyError, TypeError, ValueError):
        raise RecordError(path, number, f"not a state change: {item!r}"[:200]) from None
    reason = item[4] if len(item) > 4 and isinstance(item[4], str) else None
    run.last_seen = max(run.last_seen, when)
    current = task.attempts[-1] if task.attempts else None
    if state == "RUNNING":
        task.attempts.append(RecordedAttempt(attempt, when))
    elif current is not None and current.ended is None:
        current.ended = when
        current.outcome = state
        current.reason = reason
        retry = retry_wait(reason) if state == "PENDING" else None
        if retry is not None:
            current.outcome = "RETRY"
            current.reason = retry[0]
            current.wait = retry[1]
        elif state == "PENDING":
            current.outcome = "RETRY"
    task.state = state
    if state == "COMPLETED" and task.attempts:
        task.reason = None
    elif reason is not None:
        task.reason = reason
