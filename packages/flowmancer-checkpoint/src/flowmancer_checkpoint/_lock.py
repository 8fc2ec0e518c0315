"""One run of a job at a time: an advisory lock the kernel drops when its holder dies.

``flock`` locks belong to the open file, so they vanish with the last process holding the file
open — a driver killed with ``kill -9`` never leaves a lock that blocks the next run. Task
processes forked by the driver share the open file, so a task still running after its driver
died keeps the job locked until it ends: a resumed run must not run beside it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from ._errors import CheckpointError, CheckpointLockedError, CheckpointWriteError
from ._files import open_state, state_folder

__all__ = ["JobLock"]


class JobLock:
    """Held while a run of ``job`` is in progress; a context manager.

    Raises (on enter):
        CheckpointLockedError: another process holds it.
        CheckpointWriteError: the lock file cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str], job: str) -> None:
        self.path = Path(path)
        self.job = job
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True between acquiring and releasing."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise at once (never waits)."""
        if self._fd is not None:
            return
        state_folder(self.path.parent)
        try:
            fd = open_state(self.path, os.O_RDWR | os.O_CREAT)
        except CheckpointError:
            raise
        except OSError as error:
            raise CheckpointWriteError(
                self.path, f"cannot create the lock file: {error.strerror or error}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _holder(fd)
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise CheckpointLockedError(self.path, self.job, holder, _alive(holder)) from None
            raise CheckpointWriteError(self.path, f"cannot lock: {error.strerror}") from None
        # Who holds it, for the message another run will show.
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": time.time()}).encode(), 0)
        except OSError as error:  # a full disk: nothing else of the run could be saved either
            os.close(fd)
            raise CheckpointWriteError(
                self.path, f"cannot write the lock file: {error.strerror or error}"
            ) from None
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (the file stays: removing it would race with a new holder)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _holder(fd: int) -> int | None:
    try:
        pid = json.loads(os.pread(fd, 4096, 0) or b"{}").get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes, but it cannot hold the lock either; good enough.
    return True
