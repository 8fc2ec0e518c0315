"""The driver's standard streams: never the reason a job fails, and never shared with a state
file.

``python main.py ... | head -c 20`` closes the pipe under the driver; a terminal that hangs up
takes standard error with it; a thread task may close descriptor 2. Whatever the driver then
fails to say is lost, never the job: its result, exit status and checkpoint are what they would
have been. The first write that fails points the descriptor at ``/dev/null``, so later writes
(the runner's, a C library's, Python's own at exit) go nowhere quietly.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["hardy_stdio", "json_stderr", "printable", "reserve_stdio"]


def printable(text: str) -> str:
    """A name as it is safe to print: control characters (a newline, an escape code's ESC)
    written as Python escapes (``\\n``, ``\\x1b``), the rest as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def reserve_stdio() -> None:
    """Point descriptors 0, 1 and 2 at ``/dev/null`` where they are closed (a driver started
    with ``>&-``): the next file opened would otherwise take the number, and what is written to
    standard output would go into it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _to_devnull(fd)


def _to_devnull(fd: int) -> None:
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


class _Hardy:
    """A text stream whose writes never fail: the first that does points its descriptor at
    ``/dev/null`` and is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @property
    def wrapped(self) -> TextIO:
        """The stream written to."""
        return self._stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._lost()
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._lost()

    def _lost(self) -> None:
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return  # not a descriptor of ours (a StringIO, a closed object): nothing to mend
        _to_devnull(fd)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # what was buffered goes to /dev/null, not to Python's exit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def hardy_stdio() -> Iterator[None]:
    """While inside, ``sys.stdout`` and ``sys.stderr`` (and their ``__std*__`` originals, which
    the runner writes to) never raise on a write; on the way out, they are flushed and given
    back."""
    with _wrapping(("stdout", "stderr", "__stdout__", "__stderr__"), _Hardy):
        yield


@contextlib.contextmanager
def _wrapping(names: tuple[str, ...], kind: type[_Hardy | _JsonLines]) -> Iterator[None]:
    """``sys.<name>`` wrapped in ``kind`` while inside; flushed and given back after (unless
    something else replaced it meanwhile)."""
    saved = {name: getattr(sys, name) for name in names}
    for name, stream in saved.items():
        if stream is not None and not isinstance(stream, kind):
            setattr(sys, name, kind(stream))
    try:
        yield
    finally:
        for name, stream in saved.items():
            current = getattr(sys, name)
            if isinstance(current, kind):
                current.flush()
                if current.wrapped is stream:
                    setattr(sys, name, stream)


class _JsonLines:
    """Standard error under ``--log-format json``: each line the driver (or the runner, or a
    warning) writes there becomes one JSON object, beside the JSON lines of the run's logger,
    so that the stream holds nothing else (``kind: message``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""

    @property
    def wrapped(self) -> TextIO:
        """The stream written to."""
        return self._stream

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _line(self, line: str) -> None:
        import datetime  # only under --log-format json: not on every driver's start
        import json

        level = "info"
        if line.startswith(("flowmancer: error:", "Traceback")):
            level = "error"
        elif line.startswith("flowmancer: warning:") or "Warning:" in line:
            level = "warning"
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        event = {"timestamp": now, "level": level, "kind": "message", "event": line}
        self._stream.write(json.dumps(event, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False  # nothing may draw on it as on a terminal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def json_stderr(on: bool) -> Iterator[None]:
    """With ``on``, while inside, every line written to ``sys.stderr`` (and ``sys.__stderr__``)
    is a JSON object (see ``_JsonLines``)."""
    if not on:
        yield
        return
    with _wrapping(("stderr", "__stderr__"), _JsonLines):
        yield
