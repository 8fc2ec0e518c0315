"""How every state file is opened: private to its user, never through a symbolic link, never on
descriptors 0-2.

The checkpoint folder holds ``shared_dict``, which often carries tokens: it is made 0700 and its
files 0600, whatever the umask. A link planted in it (by someone else, or left over) must never
make a run truncate or overwrite the file it points to, so files are opened with ``O_NOFOLLOW``
and truncated through their descriptor, and the folder must be a real one that belongs to the
user. A state file must also never take descriptor 0, 1 or 2: a task (or whoever started the
driver) that closed one of those would otherwise get its output written into the journal.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable
from pathlib import Path

from ._errors import (
    CheckpointError,
    CheckpointWriteError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "check_not_linked",
    "open_state",
    "read_state",
    "state_folder",
]

FOLDER_MODE = 0o700
FILE_MODE = 0o600

_LINK = (
    "is a symbolic link; Flowmancer never follows links among its state files (the file it "
    "points to could be overwritten): remove it"
)
_Error = Callable[[Path, str], CheckpointError]


def state_folder(folder: Path) -> None:
    """Make ``folder`` (mode 0700) unless it exists; then check that it is a real folder of the
    user's own: not a link, not a file, not another user's.

    Raises:
        CheckpointWriteError: it cannot be made, or it is a file.
        UnsafeCheckpointError: it is a link, or another user's.
    """
    created = False
    try:
        os.mkdir(folder, FOLDER_MODE)
        created = True
    except FileExistsError:
        pass
    except FileNotFoundError:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(folder, FOLDER_MODE)
            created = True
        except FileExistsError:
            pass
        except OSError as error:
            raise CheckpointWriteError(
                folder, f"cannot create the checkpoint folder: {error.strerror or error}"
            ) from None
    except OSError as error:
        raise CheckpointWriteError(
            folder, f"cannot create the checkpoint folder: {error.strerror or error}"
        ) from None
    try:
        found = os.lstat(folder)
    except OSError as error:  # pragma: no cover - removed between the two calls
        raise CheckpointWriteError(folder, f"cannot be used: {error.strerror or error}") from None
    if stat.S_ISLNK(found.st_mode):
        raise UnsafeCheckpointError(
            folder,
            "is a symbolic link, where the checkpoint folder should be; Flowmancer keeps its "
            "state only in a real folder of your own (give that folder itself)",
        )
    if not stat.S_ISDIR(found.st_mode):
        raise CheckpointWriteError(folder, "is a file, where the checkpoint folder should be")
    if found.st_uid != os.geteuid():
        raise UnsafeCheckpointError(
            folder,
            f"belongs to another user (uid {found.st_uid}); the checkpoint folder must be your "
            "own, as it holds shared_dict",
        )
    if created:  # mkdir's mode went through the umask, which may have taken too little away
        os.chmod(folder, FOLDER_MODE)


def open_state(path: Path, flags: int, error: _Error = UnsafeCheckpointError) -> int:
    """Open a state file (created 0600) without following a link; a descriptor above 2.

    Anything but a regular file is refused; one that others can read is made private.

    Raises:
        UnsafeCheckpointError (or ``error``): a link, or not a regular file.
        OSError: the open failed.
    """
    # O_NONBLOCK: a FIFO planted under a state file's name must not hang the open.
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, FILE_MODE)
    except OSError as failure:
        if failure.errno == errno.ELOOP:
            raise error(path, _LINK) from None
        raise
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise error(path, _not_a_file(found.st_mode))
        if found.st_mode & 0o077 and found.st_uid == os.geteuid():
            os.fchmod(fd, FILE_MODE)  # written by an older Flowmancer, 0644
        if fd <= 2:
            fd = _above_stdio(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _above_stdio(fd: int) -> int:
    """``fd`` moved to the lowest free descriptor above 2 (the one given is closed)."""
    try:
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    finally:
        os.close(fd)


def read_state(path: Path) -> bytes | None:
    """The bytes of a state file, or None when there is none.

    Raises:
        CorruptCheckpointError: a link, a folder or anything else that is not a regular file,
            or unreadable.
    """
    try:
        fd = open_state(path, os.O_RDONLY, CorruptCheckpointError)
    except FileNotFoundError:
        return None
    except OSError as failure:
        raise CorruptCheckpointError(path, f"cannot be read: {failure.strerror}") from None
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError as failure:
        raise CorruptCheckpointError(path, f"cannot be read: {failure.strerror}") from None
    finally:
        os.close(fd)


def check_not_linked(path: Path, error: _Error = UnsafeCheckpointError) -> None:
    """Refuse ``path`` if it is a link or anything but a regular file (for files others open
    by name, as SQLite does its database)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(found.st_mode):
        raise error(path, _LINK)
    if not stat.S_ISREG(found.st_mode):
        raise error(path, _not_a_file(found.st_mode))


def _not_a_file(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a checkpoint file"
    return "is not a regular file (a FIFO, socket or device); Flowmancer keeps its state in files"
