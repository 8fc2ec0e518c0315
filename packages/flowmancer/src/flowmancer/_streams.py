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
import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO, cast

__all__ = [
    "hardy_stdio",
    "json_stderr",
    "json_stderr_fd",
    "printable",
    "reserve_stdio",
]


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

    def __init__(self, stream: TextIO | _Hardy, lock: threading.Lock | None = None) -> None:
        self._stream: Any = stream
        self._partial = ""
        self._lock = lock or threading.Lock()

    @property
    def wrapped(self) -> TextIO:
        """The stream written to."""
        return cast("TextIO", self._stream)

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
        import json

        text = json.dumps(_event(line, kind="message"), ensure_ascii=False) + "\n"
        with self._lock:  # never inside a raw line the catcher writes at the same moment
            self._stream.write(text)
            self._stream.flush()

    def flush(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False  # nothing may draw on it as on a terminal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# Where the JSON lines go while ``json_stderr`` is on: the real standard error, kept on a
# descriptor of its own once descriptor 2 has become the pipe that catches raw writes.
_json_fd: int | None = None


def json_stderr_fd() -> int:
    """The descriptor JSON lines are written to: standard error as it was when the run started
    (descriptor 2 itself when ``json_stderr`` is off)."""
    return 2 if _json_fd is None else _json_fd


@contextlib.contextmanager
def json_stderr(on: bool) -> Iterator[None]:
    """With ``on``, while inside, standard error holds nothing but JSON objects, one per line:
    every line written to ``sys.stderr`` (and ``sys.__stderr__``) becomes one (see
    ``_JsonLines``), and so does every line written straight to descriptor 2 — by a C library,
    a thread-executor task's ``os.write(2, ...)``, a child process it started — which a pipe in
    descriptor 2's place catches (``kind: output``). The run's own JSON lines are written to the
    real standard error (``json_stderr_fd``)."""
    if not on:
        yield
        return
    global _json_fd
    catcher = _RawCatcher.start()
    if catcher is None:  # no descriptors left for the pipe: Python-level lines only
        with _wrapping(("stderr", "__stderr__"), _JsonLines):
            yield
        return
    _json_fd = catcher.real
    saved = {name: getattr(sys, name) for name in ("stderr", "__stderr__")}
    real = os.fdopen(
        os.dup(catcher.real), "w", buffering=1, encoding="utf-8", errors="backslashreplace"
    )
    wrapped = _JsonLines(_Hardy(real), lock=catcher.lock)
    sys.stderr = sys.__stderr__ = wrapped  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            wrapped.flush()
        for name, stream in saved.items():
            if getattr(sys, name) is wrapped:
                setattr(sys, name, stream)
        catcher.stop()
        with contextlib.suppress(OSError, ValueError):
            real.close()
        _json_fd = None


class _RawCatcher:
    """Descriptor 2 replaced by a pipe; a thread turns each line that comes through it into a
    JSON object on the real standard error (kept on a descriptor above 2)."""

    # How long the end of a run waits for the last raw lines: a grandchild that double-forked
    # out of its task's reach may hold the pipe open for ever, and must not hold the driver.
    _DRAIN_SECONDS = 2.0

    def __init__(self, real: int, reader: int) -> None:
        self.real = real
        self.lock = threading.Lock()
        self._reader = reader
        self._thread = threading.Thread(target=self._pump, name="flowmancer-raw-stderr")
        self._thread.daemon = True

    @classmethod
    def start(cls) -> _RawCatcher | None:
        try:
            real = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 3)
        except OSError:
            return None
        try:
            reader, writer = os.pipe()
        except OSError:
            os.close(real)
            return None
        with contextlib.suppress(OSError):
            sys.stderr.flush()
        os.dup2(writer, 2)  # inheritable: child processes write into the pipe too
        os.close(writer)
        catcher = cls(real, reader)
        catcher._thread.start()
        return catcher

    def _pump(self) -> None:
        partial = b""
        while True:
            try:
                chunk = os.read(self._reader, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            for line in lines:
                self._say(line)
        if partial:
            self._say(partial)
        with contextlib.suppress(OSError):
            os.close(self._reader)

    def _say(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="backslashreplace")
        _write_json_line(self.real, _event(line, kind="output"), self.lock)

    def stop(self) -> None:
        """Descriptor 2 back to the real standard error; the pipe's last lines said (waiting a
        moment at most for writers the run did not end)."""
        with contextlib.suppress(OSError):
            os.dup2(self.real, 2)  # closes our end of the pipe
        self._thread.join(self._DRAIN_SECONDS)
        if not self._thread.is_alive():
            with contextlib.suppress(OSError):
                os.close(self.real)


def _event(line: str, kind: str) -> dict[str, str]:
    import datetime  # only under --log-format json: not on every driver's start

    level = "info"
    if line.startswith(("flowmancer: error:", "Traceback")):
        level = "error"
    elif line.startswith("flowmancer: warning:") or "Warning:" in line:
        level = "warning"
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
    return {"timestamp": now, "level": level, "kind": kind, "event": line}


def _write_json_line(fd: int, event: dict[str, str], lock: threading.Lock) -> None:
    """One JSON object and a newline in one write, never interleaved with another's line."""
    import json

    data = (json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    with lock:
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            _to_devnull(fd)  # a closed pipe (| head): the rest goes nowhere, quietly
