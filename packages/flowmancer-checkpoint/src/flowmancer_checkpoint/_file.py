"""``FileCheckpointer``: one JSON file per job, replaced atomically, and its journal."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from flowmancer_dag import TaskState

from ._errors import CheckpointError, CheckpointWriteError
from ._files import check_not_linked, open_state, read_state, state_folder
from ._journal import completion_head, completion_line, completion_tail, revocation_line
from ._record import RunSnapshotLike, TaskEntry
from ._store import Checkpointer, safe_name

__all__ = ["FileCheckpointer"]


class FileCheckpointer(Checkpointer):
    """Keeps each job's checkpoint in ``<checkpoint_dir>/<job>.json`` (+ ``<job>.journal``).

    The whole checkpoint is written to a temporary file in the same folder and renamed over the
    old one, so a crash at any instant leaves either the old or the new file, never a torn one.
    Between whole writes, each save appends one line to the journal (see ``Checkpointer``).

    Args:
        checkpoint_dir: the folder (created when first needed).
        durable: also ``fsync`` files and the folder, so a save survives a power loss, not
            only a crash of the process (each save then waits for the disk).
        report: where one-line notices go (standard error when not given).
    """

    def __init__(
        self,
        checkpoint_dir: str | os.PathLike[str] = "./.flowmancer",
        *,
        durable: bool = False,
        report: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(report=report)
        # Absolute now: a task changing the working folder must not split a checkpoint from
        # its journal.
        self.checkpoint_dir = Path(checkpoint_dir).absolute()
        self.durable = durable
        self._journals: dict[str, int] = {}  # job -> open descriptor of its journal
        # job -> the descriptor its running attempts record their completions through
        self._recorders: dict[str, int] = {}
        self._folder_checked = False

    def save(self, snapshot: RunSnapshotLike) -> None:
        if snapshot.finished:
            # Every attempt has ended and the runner knows of each: the last base holds it all.
            self._stop_recording(snapshot.job)
        super().save(snapshot)

    def completion_recorder(self, snapshot: RunSnapshotLike) -> _Recorder:
        """Where attempts record their completion, the moment it happens (a forked child or a
        worker thread calls it): one line appended to the journal with a single ``write``, so a
        driver killed before its own next save does not make that work be done again."""
        job, run_id = snapshot.job, snapshot.run_id
        fingerprints = dict(snapshot.fingerprints)
        self._stop_recording(job)
        path = self.journal_path(job)
        with self._writing(path):
            fd = self._recorders[job] = open_state(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return _Recorder(fd, run_id, fingerprints, self.durable)

    def _stop_recording(self, job: str) -> None:
        fd = self._recorders.pop(job, None)
        if fd is not None:
            os.close(fd)

    def path(self, job: str) -> Path:
        """The checkpoint file of ``job``."""
        return self.checkpoint_dir / f"{safe_name(job)}.json"

    def journal_path(self, job: str) -> Path:
        """The journal file of ``job``."""
        return self.checkpoint_dir / f"{safe_name(job)}.journal"

    def location(self, job: str) -> str:
        return str(self.path(job))

    def check_files(self, job: str) -> None:
        self._folder()
        for path in (self.path(job), self.journal_path(job), Path(self._lock_path(job))):
            check_not_linked(path)

    def close(self) -> None:
        journals, self._journals = self._journals, {}
        for fd in journals.values():
            os.close(fd)
        for job in list(self._recorders):
            self._stop_recording(job)

    def _release(self, job: str) -> None:
        fd = self._journals.pop(job, None)
        if fd is not None:
            os.close(fd)

    def _read(self, job: str) -> tuple[bytes, list[bytes], str] | None:
        path = self.path(job)
        base = read_state(path)
        if base is None:
            return None
        journal = read_state(self.journal_path(job)) or b""
        return base, journal.splitlines(keepends=True), str(self.journal_path(job))

    def _write_base(self, job: str, text: str) -> None:
        path = self.path(job)
        # A name per process: two writers never share a temporary file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with self._writing(path):
            self._folder()
            try:
                _write_all(tmp, text.encode(), self.durable)
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            if self.durable:
                _sync_folder(self.checkpoint_dir)
            # Lines in the journal belong to the replaced base (their generation says so), so
            # emptying it after the rename is safe at any instant; but not while attempts
            # record completions the runner may not know of yet (they belong to the run).
            if job in self._recorders:
                return
            fd = self._journals.get(job)
            if fd is not None:
                os.ftruncate(fd, 0)
            else:  # through a descriptor of the file itself, never a path (see _files)
                with contextlib.suppress(FileNotFoundError):
                    fd = open_state(self.journal_path(job), os.O_WRONLY)
                    try:
                        os.ftruncate(fd, 0)
                    finally:
                        os.close(fd)

    def _append(self, job: str, line: str) -> None:
        # Called after every task finish: the journal's path is only worked out when needed.
        try:
            fd = self._journals.get(job)
            if fd is None:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
                fd = self._journals[job] = open_state(self.journal_path(job), flags)
                if self.durable:  # the journal's own name must survive a power loss too
                    _sync_folder(self.checkpoint_dir)
            # One write, so that a crash leaves the line whole or cut short. A short write
            # means the disk or a size limit ran out; writing the rest brings the reason (or
            # completes the line, when the space was freed meanwhile).
            _write_rest(fd, line.encode())
            if self.durable:
                os.fsync(fd)
        except OSError as error:
            raise _write_error(self.journal_path(job), error) from None

    def _remove(self, job: str) -> None:
        self._stop_recording(job)
        fd = self._journals.pop(job, None)
        if fd is not None:
            os.close(fd)
        for path in (self.path(job), self.journal_path(job)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as error:
                raise CheckpointWriteError(
                    path, f"cannot remove the checkpoint: {error.strerror or error}"
                ) from None

    def _lock_path(self, job: str) -> str:
        return str(self.checkpoint_dir / f"{safe_name(job)}.lock")

    def _folder(self) -> None:
        # Checked once per store: the folder is the user's own from then on, so nobody else can
        # replace it or plant a link in it.
        if not self._folder_checked:
            state_folder(self.checkpoint_dir)
            self._folder_checked = True

    @contextlib.contextmanager
    def _writing(self, path: Path) -> Iterator[None]:
        try:
            yield
        except CheckpointError:
            raise
        except OSError as error:
            raise _write_error(path, error) from None


def _write_error(path: Path, error: OSError) -> CheckpointWriteError:
    return CheckpointWriteError(path, f"cannot write the checkpoint: {error.strerror or error}")


class _Recorder:
    """Appends completion lines to a job's journal through a descriptor opened by the runner
    (inherited by forked children)."""

    def __init__(self, fd: int, run_id: str, fingerprints: dict[str, str], durable: bool) -> None:
        self.fd = fd
        self.run_id = run_id
        self.fingerprints = fingerprints
        self.durable = durable
        self._head = completion_head(run_id).encode()

    def completed(
        self,
        task: str,
        attempt: int,
        updates: Mapping[str, Any],
        deleted: tuple[str, ...],
        result: Any = None,
    ) -> None:
        entry = TaskEntry(TaskState.COMPLETED, attempt, self.fingerprints.get(task))
        line = completion_line(self.run_id, task, entry, updates, deleted, result)
        if line is not None:  # None: something it produced cannot be saved (see the line)
            self._write(line)

    def revoked(self, task: str, attempt: int) -> None:
        self._write(revocation_line(self.run_id, task, attempt))

    def prepare(self, task: str, attempt: int) -> _Prepared:
        """The recorder of one attempt, its usual line made here, where the runner starts it."""
        entry = TaskEntry(TaskState.COMPLETED, attempt, self.fingerprints.get(task))
        return _Prepared(self, task, attempt, self._head, completion_tail(task, entry).encode())

    def descriptors(self) -> tuple[int, ...]:
        """The descriptors it writes through (a fork server passes them to the attempt)."""
        return (self.fd,)

    def rebind(self, fds: tuple[int, ...]) -> None:
        """Write through ``fds`` (this process's copies of ``descriptors()``) instead."""
        self.fd = fds[0]

    def _write(self, line: str) -> None:
        # One write, as the runner's own lines (see FileCheckpointer._append).
        _write_rest(self.fd, line.encode())
        if self.durable:
            os.fsync(self.fd)


class _Prepared:
    """One attempt's recorder: the line saying it completed without changing ``shared_dict``
    (most attempts) was rendered before the attempt started; where the attempt runs, only its
    time is added. In a freshly forked child every object touched costs a copied page: rendering
    the line there took ~0.25 ms (about 100 pages), writing this one ~0.07 ms (about 35)."""

    __slots__ = ("_attempt", "_head", "_recorder", "_tail", "_task")

    def descriptors(self) -> tuple[int, ...]:
        """See ``_Recorder.descriptors``."""
        return self._recorder.descriptors()

    def rebind(self, fds: tuple[int, ...]) -> None:
        """See ``_Recorder.rebind``."""
        self._recorder.rebind(fds)

    def __init__(self, recorder: _Recorder, task: str, attempt: int, head: bytes, tail: bytes):
        self._recorder = recorder
        self._task = task
        self._attempt = attempt
        self._head = head
        self._tail = tail

    def completed(
        self,
        task: str,
        attempt: int,
        updates: Mapping[str, Any],
        deleted: tuple[str, ...],
        result: Any = None,
    ) -> None:
        if (
            updates
            or deleted
            or result is not None
            or task != self._task
            or attempt != self._attempt
        ):
            self._recorder.completed(task, attempt, updates, deleted, result)
            return
        line = b"%s%r%s" % (self._head, time.time(), self._tail)
        recorder = self._recorder
        # os.write straight away: the general path (a memoryview per write) touches more.
        written = os.write(recorder.fd, line)
        if written < len(line):
            _write_rest(recorder.fd, line[written:])
        if recorder.durable:
            os.fsync(recorder.fd)

    def revoked(self, task: str, attempt: int) -> None:
        self._recorder.revoked(task, attempt)


def _write_rest(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_all(path: Path, data: bytes, durable: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = open_state(path, flags)
    except FileExistsError:  # left by a crashed writer that had our pid, or planted: not ours
        path.unlink()
        fd = open_state(path, flags)
    try:
        _write_rest(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
