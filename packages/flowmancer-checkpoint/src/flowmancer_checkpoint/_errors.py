"""Every exception flowmancer_checkpoint raises.

Each names the file (or database) it is about and says what is wrong in words a user can act on;
none of them needs a traceback to be understood.
"""

from __future__ import annotations

import os

__all__ = [
    "CheckpointError",
    "CheckpointLockedError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "NewerCheckpointError",
    "UnsafeCheckpointError",
]


class CheckpointError(Exception):
    """Something is wrong with a checkpoint; ``path`` names the file or database."""

    def __init__(self, path: str | os.PathLike[str], detail: str) -> None:
        self.path = os.fspath(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.detail))


class CorruptCheckpointError(CheckpointError):
    """The checkpoint cannot be read: truncated, not JSON, wrong types, not a database.

    ``place`` says where in the record the problem is (``tasks.load.state``), when known.
    Nothing has been changed; the user decides whether to delete it or start afresh.
    """

    def __init__(self, path: str | os.PathLike[str], detail: str, place: str = "") -> None:
        self.place = place
        super().__init__(path, f"{place}: {detail}" if place else detail)
        self.detail = detail

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.detail, self.place))


class NewerCheckpointError(CheckpointError):
    """The checkpoint was written by a newer Flowmancer, in a format this one does not know."""

    def __init__(self, path: str | os.PathLike[str], version: int, supported: int) -> None:
        self.version = version
        self.supported = supported
        super().__init__(
            path,
            f"checkpoint format {version} was written by a newer Flowmancer; this one reads "
            f"format {supported} and older (upgrade, or start afresh)",
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.version, self.supported))


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (folder not writable, disk full, ...).

    The previous checkpoint, if any, is still whole: writes replace it atomically.
    """


class UnsafeCheckpointError(CheckpointWriteError):
    """A state file or folder is not safe to write: a symbolic link, not a regular file, or a
    folder that is not the user's own. Nothing was written through it."""


class CheckpointLockedError(CheckpointError):
    """Another run of the same job holds the job's lock.

    ``pid`` is the process that took it (the driver of that run) and ``alive`` whether it still
    runs; when it does not, a task process it started is still alive and holds the lock.
    """

    def __init__(
        self, path: str | os.PathLike[str], job: str, pid: int | None, alive: bool
    ) -> None:
        self.job = job
        self.pid = pid
        self.alive = alive
        if pid is None:
            who = "another run"
        elif alive:
            who = f"another run (pid {pid})"
        else:
            who = f"a task process left by an earlier run (its driver, pid {pid}, has exited)"
        super().__init__(
            path,
            f"job {job!r} is already running: {who} holds its lock; wait for it to finish "
            "or stop it, then try again",
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.job, self.pid, self.alive))
