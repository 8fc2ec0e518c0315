"""``Checkpointer``: what every store does alike; the stores differ only in where bytes go."""

from __future__ import annotations

import abc
import re
import sys
from collections.abc import Callable

from ._lock import JobLock
from ._record import Checkpoint, RunSnapshotLike, SnapshotRenderer
from ._writer import Writer

__all__ = ["Checkpointer", "MemoryCheckpointer", "safe_name"]


def _report(message: str) -> None:
    print(f"flowmancer: {message}", file=sys.stderr, flush=True)


class Checkpointer(abc.ABC):
    """Keeps the latest state of each job's run so that a later run can resume it.

    Satisfies flowmancer-exec's ``CheckpointStore`` protocol (``save``). Saving renders the
    snapshot as JSON (tasks whose entry did not change since the last save are not rendered
    again) and hands the text to the store; a clean finish clears the job's checkpoint.

    Writes happen on a background thread, one at a time, the latest state winning (so a long
    job's saves cost the runner only the rendering); the last save of a run (``finished``)
    waits until it is on disk, and a failed write is raised by the next save.

    Args:
        report: where one-line notices go (a ``shared_dict`` value that cannot be saved);
            standard error when not given.
        background: write on a background thread (the default); False writes before ``save``
            returns.
    """

    def __init__(
        self, *, report: Callable[[str], None] | None = None, background: bool = True
    ) -> None:
        self.report = report or _report
        self.background = background
        self._renderer = SnapshotRenderer()
        self._reported: set[tuple[str, str]] = set()
        self._writer = Writer()

    # -- what users and the driver call ---------------------------------------------------------

    def save(self, snapshot: RunSnapshotLike) -> None:
        """Keep ``snapshot`` as the job's checkpoint, replacing the previous one.

        A finished run whose tasks all completed (or were skipped) clears it instead.

        Raises:
            CheckpointWriteError: it could not be written; the previous one is still whole.
        """
        text, lost = self._renderer.render(snapshot)
        for key, why in lost.items():
            if (snapshot.run_id, key) not in self._reported:
                self._reported.add((snapshot.run_id, key))
                self.report(
                    f"shared_dict[{key!r}] is left out of the checkpoint of job "
                    f"{snapshot.job!r}: {why}; a resumed run will not have it"
                )
        clean = snapshot.finished and all(s.satisfies_dependents for s in snapshot.states.values())
        if self.background and not snapshot.finished:
            self._writer.submit(snapshot.job, lambda: self._store(snapshot, text, clean))
            return
        # The last save of a run is on disk before the run returns; and no thread outlives it.
        self._writer.close()
        self._store(snapshot, text, clean)

    def flush(self) -> None:
        """Wait until every save handed to the background writer is on disk.

        Raises:
            CheckpointWriteError: a background write failed.
        """
        self._writer.flush()

    def close(self) -> None:
        """Flush and stop the background writer."""
        self._writer.close()

    @abc.abstractmethod
    def load(self, job: str) -> Checkpoint | None:
        """The job's checkpoint, or None when there is none.

        Raises:
            CorruptCheckpointError: it exists but cannot be read (nothing is changed).
            NewerCheckpointError: a newer Flowmancer wrote it.
        """

    @abc.abstractmethod
    def clear(self, job: str) -> None:
        """Forget the job's checkpoint (``--fresh``, or after a clean finish)."""

    @abc.abstractmethod
    def location(self, job: str) -> str:
        """Where the job's checkpoint is kept, for messages."""

    def lock(self, job: str) -> JobLock:
        """The job's run lock (a context manager): one run of a job at a time.

        Raises (on enter):
            CheckpointLockedError: another live run of the job holds it.
        """
        return JobLock(self._lock_path(job), job)

    # -- what each store provides ---------------------------------------------------------------

    @abc.abstractmethod
    def _store(self, snapshot: RunSnapshotLike, text: str, clean: bool) -> None:
        """Keep ``text`` (or, when ``clean``, record the finish and drop the checkpoint)."""

    @abc.abstractmethod
    def _lock_path(self, job: str) -> str:
        """The lock file of ``job``."""


class MemoryCheckpointer(Checkpointer):
    """Keeps checkpoints in this process only: for tests and for runs that never resume."""

    def __init__(
        self, *, report: Callable[[str], None] | None = None, background: bool = False
    ) -> None:
        super().__init__(report=report, background=background)
        self.texts: dict[str, str] = {}
        self.saves = 0

    def load(self, job: str) -> Checkpoint | None:
        self.flush()
        text = self.texts.get(job)
        return None if text is None else Checkpoint.from_json(text, self.location(job))

    def clear(self, job: str) -> None:
        self.texts.pop(job, None)

    def location(self, job: str) -> str:
        return f"<memory>/{job}"

    def _store(self, snapshot: RunSnapshotLike, text: str, clean: bool) -> None:
        self.saves += 1
        if clean:
            self.texts.pop(snapshot.job, None)
        else:
            self.texts[snapshot.job] = text

    def _lock_path(self, job: str) -> str:
        import tempfile

        return f"{tempfile.gettempdir()}/flowmancer-memory-{safe_name(job)}.lock"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(job: str) -> str:
    """``job`` as a file name: letters, digits, ``.``, ``_`` and ``-`` kept, others escaped."""
    name = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), job)
    return "%2E" + name[1:] if name.startswith(".") else name or "%00"
