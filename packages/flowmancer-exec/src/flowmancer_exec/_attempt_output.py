"""Watch: the three pipes of one attempt, read as data comes.

The framed channel carries the child's log lines (level, time, stream kept) and its result;
fds 1 and 2 carry raw output, split in lines. Memory stays flat however much a task prints.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from ._attempt_result import unreadable_report
from ._channel import FrameReader, LineReader, read_available
from ._interface import Attempt, Emit

__all__ = ["AttemptOutput"]


class AttemptOutput:
    """Reads an attempt's pipes on ``loop``; ``reported(report)`` is called with its result
    frame (or a failure standing in for one that could not be read)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        attempt: Attempt,
        emit: Emit,
        channel: int,
        out: int,
        err: int,
        reported: Callable[[tuple[Any, ...]], None],
    ) -> None:
        self.loop = loop
        self.attempt = attempt
        self.emit = emit
        self.out = out
        self.err = err
        self.reported = reported
        self.frames = FrameReader()
        record = attempt.record
        self.stdout = LineReader(lambda line, t: emit(record("INFO", line, t, "stdout")))
        self.stderr = LineReader(lambda line, t: emit(record("ERROR", line, t, "stderr")))
        self.fds: dict[int, Callable[[bytes], None]] = {
            channel: self._on_frames,
            out: self.stdout.feed,
            err: self.stderr.feed,
        }
        for fd in self.fds:
            os.set_blocking(fd, False)
            loop.add_reader(fd, self._readable, fd)

    def _on_frames(self, data: bytes) -> None:
        for message in self.frames.feed(data):
            if message[0] == "unreadable":
                # A frame we cannot unpickle (a class that exists only in the child, say): the
                # attempt's result may be in it, so the attempt cannot count as a success.
                self.emit(self.attempt.record("ERROR", message[1], time.time(), "runner"))
                if message[2]:
                    self.reported(unreadable_report(message[1]))
            elif message[0] == "log":
                _, level, text, when, stream = message
                self.emit(self.attempt.record(level, text, when, stream))
            elif message[0] == "result":
                self.reported(message)

    def _readable(self, fd: int) -> None:
        chunks, eof = read_available(fd)
        feed = self.fds[fd]
        for chunk in chunks:
            feed(chunk)
        if eof:
            self.loop.remove_reader(fd)

    def take_output(self) -> None:
        """The child has reported: it wrote all it will before it did. Take what is in the
        output pipes now, and a last line without a newline with it (it is part of this
        attempt's output, delivered before its end, not when the pipe closes)."""
        self._drain(self.out)
        self._drain(self.err)
        self.stdout.close()
        self.stderr.close()

    def close(self) -> None:
        """The child has exited: take the last of everything, close the pipes."""
        for fd in list(self.fds):
            self._drain(fd)
        for fd in self.fds:
            self.loop.remove_reader(fd)
            os.close(fd)
        self.stdout.close()
        self.stderr.close()

    def _drain(self, fd: int) -> None:
        """Read what is in the pipe now (a bounded number of chunks: a process that escaped
        the group could otherwise keep us here forever)."""
        feed = self.fds[fd]
        for _ in range(64):
            chunks, eof = read_available(fd)
            for chunk in chunks:
                feed(chunk)
            if eof or not chunks:
                if eof:
                    self.loop.remove_reader(fd)
                return
