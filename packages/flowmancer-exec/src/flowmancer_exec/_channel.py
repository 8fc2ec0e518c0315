"""The pipes between an attempt and the runner: framed messages, and raw output split in lines.

Messages are length-prefixed pickles. They only ever travel from a child process this runner
forked to the runner itself, so unpickling them trusts nothing it did not create.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["ChannelWriter", "FrameReader", "LineReader", "LineWriter"]

_HEADER = struct.Struct("<I")
# A line longer than this is cut into pieces, so one endless line cannot grow memory without end.
MAX_LINE = 64 * 1024
_CHUNK = 256 * 1024


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class ChannelWriter:
    """The child's end: sends one framed message per call (blocking when the pipe is full)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        # Threads of a task send too (self.logger, print): a frame larger than the pipe's
        # atomic size written by two at once would be interleaved and garble the channel.
        # Reentrant, for a signal handler that logs while a frame is being written.
        self._lock = threading.RLock()

    def send(self, message: tuple[Any, ...]) -> None:
        """Send ``message`` (a tuple of picklable values)."""
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        frame = _HEADER.pack(len(payload)) + payload
        with self._lock:
            _write_all(self.fd, frame)


_Text = TypeVar("_Text", str, bytes)


def _pieces(text: _Text, end: int) -> Iterator[_Text]:
    """``text[:end]`` in pieces of MAX_LINE (the last one shorter if ``end`` is not a multiple)."""
    for start in range(0, end, MAX_LINE):
        yield text[start : min(start + MAX_LINE, end)]


class LineWriter(io.TextIOBase):
    """A text stream (for ``sys.stdout``/``sys.stderr``) that sends each complete line as a
    record the moment it is written, so its time is when it was produced.

    A ``TextIOBase``, so that what tasks and libraries call on ``sys.stdout`` besides
    ``write`` (``writelines``, ``buffer.write``, ``closed``, ``readable``) works as on a file.
    """

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, send: Callable[[str, float], None], fd: int | None = None) -> None:
        super().__init__()
        self._send = send
        self._fd = fd
        self._partial = ""
        self._bytes: _BytesWriter | None = None
        # Threads a task starts share its sys.stdout: without the lock two of them would read
        # the same partial line and one's text would be lost or sent twice. Reentrant, for a
        # signal handler that prints while a write is under way.
        self._lock = threading.RLock()

    @property
    def buffer(self) -> _BytesWriter:
        """The binary side: bytes written here are decoded as UTF-8 and sent as lines too."""
        if self._bytes is None:
            self._bytes = _BytesWriter(self)
        return self._bytes

    def write(self, text: str) -> int:
        """Buffer ``text``; every complete line goes out now."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            return self._write(text)

    def _write(self, text: str) -> int:
        data = self._partial + text
        if "\n" not in data and len(data) < MAX_LINE:
            self._partial = data
            return len(text)
        lines = data.split("\n")
        partial = lines.pop()
        now = time.time()
        send = self._send
        for line in lines:
            if len(line) <= MAX_LINE:
                send(line, now)
            else:
                for piece in _pieces(line, len(line)):
                    send(piece, now)
        # Sliced by index: cutting the front off again and again would copy the rest each time,
        # and a task writing one line of 100 MB would spend minutes on it.
        end = len(partial) - len(partial) % MAX_LINE
        for piece in _pieces(partial, end):
            send(piece, now)
        self._partial = partial[end:]
        return len(text)

    def flush(self) -> None:
        """Complete lines are never held back; a partial line waits for its end or ``close``."""

    def close(self) -> None:
        """Send a final partial line, if any (the stream stays usable)."""
        with self._lock:
            if self._bytes is not None:
                self._bytes.finish()
            if self._partial:
                self._send(self._partial, time.time())
                self._partial = ""

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def writable(self) -> bool:
        """Always writable."""
        return True

    def fileno(self) -> int:
        """The real descriptor behind this stream (a captured pipe), for code that needs one
        (faulthandler, subprocess)."""
        if self._fd is None:
            raise OSError("this stream has no file descriptor")
        return self._fd


class _BytesWriter:
    """``LineWriter.buffer``: bytes in, decoded incrementally (a character split across two
    writes stays whole), then on to the text stream."""

    def __init__(self, text: LineWriter) -> None:
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Send ``data`` on as text; returns the number of bytes taken."""
        with self._text._lock:  # the decoder's state is shared too
            self._text.write(self._decoder.decode(bytes(data)))
        return len(data)

    def writelines(self, lines: Iterable[bytes]) -> None:
        """Write each of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Complete lines are never held back."""

    def writable(self) -> bool:
        """Always writable."""
        return True

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def fileno(self) -> int:
        """The descriptor of the text stream, if it has one."""
        return self._text.fileno()

    def finish(self) -> None:
        """Pass on the end of an incomplete character, as a replacement."""
        self._text.write(self._decoder.decode(b"", final=True))


class FrameReader:
    """The runner's end of a channel: feed it bytes, get whole messages back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        """Every message completed by ``data``."""
        buffer = self._buffer
        buffer += data
        messages = []
        start = 0
        size = _HEADER.size
        while len(buffer) - start >= size:
            (length,) = _HEADER.unpack_from(buffer, start)
            end = start + size + length
            if len(buffer) < end:
                break
            try:
                messages.append(pickle.loads(buffer[start + size : end]))
            except Exception as error:
                # Say whether it was the result, so that the attempt cannot pass for a success.
                was_result = b"result" in buffer[start + size : start + size + 40]
                messages.append(
                    ("unreadable", f"a message could not be read: {error!r}", was_result)
                )
            start = end
        del buffer[:start]
        return messages


class LineReader:
    """Splits raw bytes from a file descriptor into lines, decoding them as UTF-8."""

    def __init__(self, emit: Callable[[str, float], None]) -> None:
        self._emit = emit
        self._partial = b""

    def feed(self, data: bytes) -> None:
        """Emit every complete line in ``data`` (and over-long pieces)."""
        now = time.time()
        data = self._partial + data
        lines = data.split(b"\n")
        partial = lines.pop()
        emit = self._emit
        for line in lines:
            for piece in _pieces(line, len(line)) if len(line) > MAX_LINE else (line,):
                emit(piece.decode("utf-8", "replace"), now)
        end = len(partial) - len(partial) % MAX_LINE
        for piece in _pieces(partial, end):
            emit(piece.decode("utf-8", "replace"), now)
        self._partial = partial[end:]

    def close(self) -> None:
        """Emit what is left of a last line without a newline."""
        if self._partial:
            self._emit(self._partial.decode("utf-8", "replace"), time.time())
            self._partial = b""


def read_available(fd: int) -> tuple[list[bytes], bool]:
    """Everything readable now from a non-blocking ``fd``, and whether it reached end of file."""
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return chunks, False
        except OSError:
            return chunks, True
        if not data:
            return chunks, True
        chunks.append(data)
        if len(chunks) >= 4:  # let other attempts have a turn; the reader is called again
            return chunks, False
