"""Reading a job file's bytes: only from a regular file, and only up to a bound.

``-j /dev/zero``, a FIFO nobody writes to or a file of gigabytes would otherwise hang the driver
or read without end before anything could be said about it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_JOB_FILE_BYTES", "Unreadable", "read_job_bytes", "why_not_a_job_file"]

# The largest job file read (and what its aliases may add when expanded, see _yaml): a job of
# 10,000 tasks is about 1 MiB.
MAX_JOB_FILE_BYTES = 16 * 1024 * 1024

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Unreadable(Exception):
    """The file cannot be a job file; ``str()`` says why, without the file's name."""


def _too_big(size: str) -> str:
    return (
        f"is {size} bytes, more than a job file may be ({MAX_JOB_FILE_BYTES:,} bytes, "
        f"{MAX_JOB_FILE_BYTES / (1024 * 1024):g} MiB; split it with include:)"
    )


def why_not_a_job_file(found: os.stat_result) -> str | None:
    """Why a file of this kind and size is not read as a job file (None: it is read)."""
    mode = found.st_mode
    if stat.S_ISDIR(mode):
        return "is a folder, not a job file"
    for test, kind in _KINDS:
        if test(mode):
            return f"is {kind}, not a job file (job files are read only from regular files)"
    if found.st_size > MAX_JOB_FILE_BYTES:
        return _too_big(f"{found.st_size:,}")
    return None


def read_job_bytes(path: Path) -> bytes:
    """The bytes of a job file.

    Raises:
        FileNotFoundError: there is no such file.
        Unreadable: not a regular file, too big, or a read failed.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except IsADirectoryError:  # pragma: no cover - directories open read-only on Linux
        raise Unreadable("is a folder, not a job file") from None
    except OSError as error:
        raise Unreadable(f"cannot be read: {error.strerror or error}") from None
    try:
        why = why_not_a_job_file(os.fstat(fd))
        if why is not None:
            raise Unreadable(why)
        chunks: list[bytes] = []
        size = 0
        # The size stat gave may be wrong (a file in /proc says 0, a file still growing): read
        # one byte past the bound at most.
        while size <= MAX_JOB_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_JOB_FILE_BYTES + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise Unreadable(_too_big(f"more than {MAX_JOB_FILE_BYTES:,}"))
    except OSError as error:
        raise Unreadable(f"cannot be read: {error.strerror or error}") from None
    finally:
        os.close(fd)
