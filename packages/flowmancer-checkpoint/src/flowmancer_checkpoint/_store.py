"""``Checkpointer``: what every store does alike; the stores differ only in where bytes go."""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ._errors import CorruptCheckpointError
from ._journal import Journal, replay
from ._lock import JobLock
from ._record import Checkpoint, Definition, RunSnapshotLike, TaskEntry

__all__ = ["Checkpointer", "CompletionRecorder", "MemoryCheckpointer", "safe_name"]


class CompletionRecorder(Protocol):
    """flowmancer-exec's ``CompletionRecorder``: told where attempts run that one completed (or,
    when a hook after ``run()`` failed, that it did not after all)."""

    def completed(
        self,
        task: str,
        attempt: int,
        updates: Mapping[str, Any],
        deleted: tuple[str, ...],
        result: Any = None,
    ) -> None: ...

    def revoked(self, task: str, attempt: int) -> None: ...


def _report(message: str) -> None:
    print(f"flowmancer: {message}", file=sys.stderr, flush=True)


class Checkpointer(abc.ABC):
    """Keeps the latest state of each job's run so that a later run can resume it.

    Satisfies flowmancer-exec's ``CheckpointStore`` protocol (``save``). The first save of a
    run writes the whole checkpoint, replacing any earlier one atomically; each later save
    appends only what changed to a journal beside it (one short line per save), and the whole
    checkpoint is written again when the journal grows large and when the run ends. Reading
    applies the journal to the checkpoint; a crash at any instant leaves the state of the last
    whole save. A clean finish clears the job's checkpoint.

    Args:
        report: where one-line notices go (a ``shared_dict`` value that cannot be saved);
            standard error when not given.
    """

    def __init__(self, *, report: Callable[[str], None] | None = None) -> None:
        self.report = report or _report
        # False while only part of a job runs (--skip, --run-from, --run-to): its success says
        # nothing of the rest, so the checkpoint is kept.
        self.clear_on_success = True
        # What the run was started with, kept in every whole write for a resume to compare
        # with (set by the driver before the run): the --var values and each task's definition.
        self.variables: dict[str, str] = {}
        self.definitions: dict[str, Definition] = {}
        # Entries of tasks a resumed run leaves out (--skip, --run-from, --run-to): saved as
        # they were instead of SKIPPED, so that a later resume still knows them (set by the
        # driver, from the checkpoint it resumed).
        self.kept: Mapping[str, TaskEntry] = {}
        self._journal = Journal()
        self._reported: set[tuple[str, str]] = set()

    # -- what users and the driver call ---------------------------------------------------------

    def save(self, snapshot: RunSnapshotLike) -> None:
        """Keep ``snapshot`` as the job's checkpoint, replacing the previous one.

        A finished run whose tasks all completed (or were skipped) clears it instead.

        Raises:
            CheckpointWriteError: it could not be written; what was saved before is still whole.
        """
        job = snapshot.job
        if (
            snapshot.finished
            and self.clear_on_success
            and all(s.satisfies_dependents for s in snapshot.states.values())
        ):
            self._journal.forget(job)
            self._remove(job)
            return
        try:
            # Anything failing from here on leaves the journal's idea of the disk unreliable:
            # the next save then writes the whole checkpoint again.
            write = self._journal.next_write(snapshot, self.variables, self.definitions, self.kept)
            if write.base:
                self._write_base(job, write.text)
            else:
                self._append(job, write.text)
        except BaseException:
            self._journal.forget(job)
            raise
        for key, why in write.lost.items():
            if (snapshot.run_id, key) not in self._reported:
                self._reported.add((snapshot.run_id, key))
                writer = getattr(snapshot, "writers", {}).get(key)
                then = (
                    f"it is kept for the rest of this run, and a resume runs {writer} again "
                    "(and what depends on it)"
                    if writer is not None
                    else "a resumed run will not have it"
                )
                with contextlib.suppress(Exception):  # a notice must not fail the save
                    self.report(
                        f"shared_dict[{key!r}] is left out of the checkpoint of job {job!r}: "
                        f"{why}; {then}"
                    )
        for task, what in write.unrestorable.items() if write.unrestorable else ():
            said = (snapshot.run_id, f"result of {task}")
            if what.startswith("its result") and said not in self._reported:
                self._reported.add(said)
                with contextlib.suppress(Exception):
                    self.report(
                        f"the result of {task} is left out of the checkpoint of job {job!r}: "
                        f"{what.removeprefix('its result: ')}; it is kept for the rest of this "
                        f"run, and a resume runs {task} again (and what depends on it)"
                    )
        if snapshot.finished:
            self._release(job)  # the run is over: hold nothing of it open

    def load(self, job: str) -> Checkpoint | None:
        """The job's checkpoint, or None when there is none.

        Raises:
            CorruptCheckpointError: it exists but cannot be read (nothing is changed).
            NewerCheckpointError: a newer Flowmancer wrote it.
        """
        found = self._read(job)
        if found is None:
            return None
        base, lines, where = found
        record = Checkpoint.from_json(base, self.location(job))
        if record.job != job:  # copied or renamed by hand: its tasks are another job's
            raise CorruptCheckpointError(
                self.location(job),
                f"is the checkpoint of job {record.job!r}, not of job {job!r}",
                "job",
            )
        return replay(record, lines, where) if lines else record

    def clear(self, job: str) -> None:
        """Forget the job's checkpoint (``--fresh``, or after a clean finish)."""
        self._journal.forget(job)
        self._remove(job)

    def check_files(self, job: str) -> None:
        """Refuse, before a run writes anything, state files of ``job`` that are not safe to
        write: a symbolic link or anything but a regular file in their place.

        Raises:
            UnsafeCheckpointError: naming the file.
        """

    def close(self) -> None:
        """Release open files or connections (they reopen when needed)."""

    def _release(self, job: str) -> None:
        """Release what is held open for ``job`` (its run ended)."""
        self.close()

    def lock(self, job: str) -> JobLock:
        """The job's run lock (a context manager): one run of a job at a time.

        Raises (on enter):
            CheckpointLockedError: another live run of the job holds it.
        """
        return JobLock(self._lock_path(job), job)

    @abc.abstractmethod
    def location(self, job: str) -> str:
        """Where the job's checkpoint is kept, for messages."""

    # -- what each store provides ---------------------------------------------------------------

    @abc.abstractmethod
    def _read(self, job: str) -> tuple[str | bytes, Sequence[str | bytes], str] | None:
        """The base text, the journal lines after it, and where the journal is (or None)."""

    @abc.abstractmethod
    def _write_base(self, job: str, text: str) -> None:
        """Replace the base atomically, then empty the journal."""

    @abc.abstractmethod
    def _append(self, job: str, line: str) -> None:
        """Add one line to the journal with a single write."""

    @abc.abstractmethod
    def _remove(self, job: str) -> None:
        """Delete the base and the journal."""

    @abc.abstractmethod
    def _lock_path(self, job: str) -> str:
        """The lock file of ``job``."""


class MemoryCheckpointer(Checkpointer):
    """Keeps checkpoints in this process only: for tests and for runs that never resume."""

    def __init__(self, *, report: Callable[[str], None] | None = None) -> None:
        super().__init__(report=report)
        self.bases: dict[str, str] = {}
        self.journals: dict[str, list[str]] = {}

    def location(self, job: str) -> str:
        return f"<memory>/{job}"

    def _read(self, job: str) -> tuple[str, list[str], str] | None:
        base = self.bases.get(job)
        return None if base is None else (base, self.journals.get(job, []), self.location(job))

    def _write_base(self, job: str, text: str) -> None:
        self.bases[job] = text
        self.journals[job] = []

    def _append(self, job: str, line: str) -> None:
        self.journals.setdefault(job, []).append(line)

    def _remove(self, job: str) -> None:
        self.bases.pop(job, None)
        self.journals.pop(job, None)

    def _lock_path(self, job: str) -> str:
        import tempfile

        # A folder of the user's own: JobLock refuses a shared one (anyone could plant a link).
        return f"{tempfile.gettempdir()}/flowmancer-{os.geteuid()}/memory-{safe_name(job)}.lock"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


# The longest name kept whole: the longest file made from it (``.<name>.json.<pid>.tmp``) stays
# far below the 255 bytes file systems allow.
_MAX_NAME = 160


def safe_name(job: str) -> str:
    """``job`` as a file name: letters, digits, ``.``, ``_`` and ``-`` kept, others escaped; a
    name too long to be a file name is cut, and a digest of the whole added (so any valid job
    name has a checkpoint, and two long names that begin alike have two)."""
    name = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), job)
    name = "%2E" + name[1:] if name.startswith(".") else name or "%00"
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(job.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        name = f"{name[: _MAX_NAME - 17]}-{digest}"
    return name
