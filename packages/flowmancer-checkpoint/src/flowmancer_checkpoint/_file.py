"""``FileCheckpointer``: one JSON file per job, replaced atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ._errors import CheckpointWriteError, CorruptCheckpointError
from ._record import Checkpoint, RunSnapshotLike
from ._store import Checkpointer, safe_name

__all__ = ["FileCheckpointer"]


class FileCheckpointer(Checkpointer):
    """Keeps each job's checkpoint in ``<checkpoint_dir>/<job>.json``.

    Each save writes a temporary file in the same folder and renames it over the old one, so a
    crash at any instant leaves either the old or the new checkpoint, never a torn one.

    Args:
        checkpoint_dir: the folder (created when first needed).
        durable: also ``fsync`` the file and the folder, so the checkpoint survives a power
            loss, not only a crash of the process (each save then waits for the disk).
        report: where one-line notices go (standard error when not given).
        background: write on a background thread, the latest state winning (see
            ``Checkpointer``); False writes before ``save`` returns.
    """

    def __init__(
        self,
        checkpoint_dir: str | os.PathLike[str] = "./.flowmancer",
        *,
        durable: bool = False,
        report: Callable[[str], None] | None = None,
        background: bool = True,
    ) -> None:
        super().__init__(report=report, background=background)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.durable = durable
        self._made = False

    def path(self, job: str) -> Path:
        """The checkpoint file of ``job``."""
        return self.checkpoint_dir / f"{safe_name(job)}.json"

    def location(self, job: str) -> str:
        return str(self.path(job))

    def load(self, job: str) -> Checkpoint | None:
        self.flush()
        path = self.path(job)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise CorruptCheckpointError(path, "is a folder, not a checkpoint file") from None
        except OSError as error:
            raise CorruptCheckpointError(path, f"cannot be read: {error.strerror}") from None
        return Checkpoint.from_json(data, str(path))

    def clear(self, job: str) -> None:
        self.flush()
        with contextlib.suppress(FileNotFoundError):
            self.path(job).unlink()

    def _store(self, snapshot: RunSnapshotLike, text: str, clean: bool) -> None:
        path = self.path(snapshot.job)
        if clean:
            self.clear(snapshot.job)
            return
        # A name per process: two writers never share a temporary file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = text.encode()
        try:
            if not self._made:
                self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
                self._made = True
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            if self.durable:
                folder = os.open(self.checkpoint_dir, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)
        except OSError as error:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self._made = False
            raise CheckpointWriteError(
                path, f"cannot write the checkpoint: {error.strerror or error}"
            ) from None

    def _lock_path(self, job: str) -> str:
        return str(self.checkpoint_dir / f"{safe_name(job)}.lock")
