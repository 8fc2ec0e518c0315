"""Small pieces every logger shares: times as text, safe file names, what a state means."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import time

__all__ = [
    "FINISHED",
    "RUN_FOLDER",
    "TimeFormat",
    "open_for_appending",
    "printable",
    "run_folder_name",
    "safe_name",
    "state_level",
]

# The states a task never leaves within a run (flowmancer_dag.TaskState.is_finished).
FINISHED = frozenset({"COMPLETED", "FAILED", "DEFAULTED", "SKIPPED", "ABORTED"})

# A run folder: its start in UTC, sortable as text, with "-2", "-3"... when two runs of a job
# start in the same millisecond. Retention deletes nothing whose name does not match this.
RUN_FOLDER = re.compile(r"\A(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z)(?:-\d+)?\Z")


def open_for_appending(path: str | os.PathLike[str], mode: int = 0o666) -> int:
    """A log file opened to append (made with ``mode`` less the umask), never through a symbolic
    link (the file it points to would be written) and never on descriptors 0-2 (a task or a
    caller that closed one would have its output written into the log)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OSError(
                errno.ELOOP,
                "is a symbolic link; Flowmancer does not write logs through links",
                os.fspath(path),
            ) from None
        raise
    if fd <= 2:
        try:
            fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
        finally:
            os.close(fd)
    return fd


def printable(text: str) -> str:
    """``text`` safe to show on a terminal: control characters (a newline, an escape code's
    ESC) written as Python escapes (``\\n``, ``\\x1b``), the rest as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def run_folder_name(t: float) -> str:
    """``2026-11-26T14-03-07.123Z`` for a time in seconds since the epoch (UTC)."""
    seconds, millis = divmod(round(t * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class TimeFormat:
    """ISO 8601 in UTC with milliseconds (``digits=3``) or microseconds (``digits=6``).

    The date-and-seconds part is cached per second: a task printing thousands of lines a second
    pays for one ``strftime`` per second, not per line.
    """

    __slots__ = ("_digits", "_scale", "_second", "_text")

    def __init__(self, digits: int = 3) -> None:
        self._digits = digits
        self._scale = 10**digits
        self._second = -1
        self._text = ""

    def __call__(self, t: float) -> str:
        # Rounded, not cut: 1795000000.001 is 1795000000.000999... as a float.
        seconds, fraction = divmod(round(t * self._scale), self._scale)
        if seconds != self._second:
            self._second = seconds
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        return f"{self._text}.{fraction:0{self._digits}d}+00:00"


_UNSAFE = re.compile(r"[%/\\\x00-\x1f\x7f]")
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; leave room for ".log" and suffixes


def safe_name(name: str) -> str:
    """``name`` as one file or folder name: no separators, no ``..``, not too long.

    Percent-encoding keeps two different names different (``a/b`` is ``a%2Fb``, ``a%2Fb`` is
    ``a%252Fb``); an over-long name is cut and given a digest of the whole.
    """
    safe = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", name)
    if safe in ("", ".", ".."):
        safe = safe.replace(".", "%2E") or "%00"
    if safe.startswith("."):  # no hidden files for tasks named ".x"
        safe = "%2E" + safe[1:]
    # Lone surrogates (possible in str, impossible in a file name) become escapes first, so
    # the length cap below measures what is really written.
    safe = safe.encode("utf-8", "backslashreplace").decode("utf-8")
    encoded = safe.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(encoded).hexdigest()[:12]
        head = encoded[: _MAX_NAME_BYTES - 13].decode("utf-8", "ignore")
        safe = f"{head}~{digest}"
    return safe


def state_level(state: str) -> str:
    """The level a change to ``state`` is shown at: ERROR for FAILED, WARNING for DEFAULTED and
    ABORTED, INFO otherwise."""
    if state == "FAILED":
        return "ERROR"
    if state in ("DEFAULTED", "ABORTED"):
        return "WARNING"
    return "INFO"
