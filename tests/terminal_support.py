"""A program run on a real pseudo-terminal of a chosen width, as its controlling terminal (so a
typed Ctrl-C is echoed as ``^C`` and sends SIGINT to its foreground process group, as in a
shell), and a small screen that replays what it wrote: what a user sees at the end, and whether
a line ever wrapped while the cursor was hidden (a live display's frame wider than the
terminal, which redrawing in place would leave behind as a stale line)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["Screen", "run_on_terminal"]


def run_on_terminal(
    argv: Sequence[str],
    cwd: Path,
    columns: int,
    env: dict[str, str],
    *,
    ctrl_c_when: Callable[[], bool] | None = None,
    timeout: float = 120,
) -> tuple[int, bytes]:
    """Run ``argv`` on a new terminal ``columns`` wide; type Ctrl-C once ``ctrl_c_when()`` is
    true. Returns the exit status and everything written to the terminal."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))

    def take_the_terminal() -> None:  # in the child: the terminal becomes its controlling one
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    program = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
        preexec_fn=take_the_terminal,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    typed = ctrl_c_when is None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not typed and ctrl_c_when is not None and ctrl_c_when():
                os.write(primary, b"\x03")  # the terminal echoes ^C and signals the group
                typed = True
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    data = os.read(primary, 65536)
                except OSError:  # the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif program.poll() is not None:
                break
        status = program.wait(timeout=60)
    finally:
        if program.poll() is None:
            program.kill()
            program.wait()
        os.close(primary)
    return status, b"".join(chunks)


_CONTROL = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\x1b[=>]|[\r\n\b\x07]")


class Screen:
    """The lines a terminal ``columns`` wide shows after ``data`` was written to it (no
    scrolling limit), with what a live display needs: carriage return, new line, erase in
    line, cursor up and down, colours (ignored), the cursor hidden and shown, and automatic
    wrapping at the right margin (deferred, as xterm does)."""

    def __init__(self, data: bytes, columns: int) -> None:
        self.columns = columns
        self.lines: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self.hidden = False
        #: Lines that wrapped while the cursor was hidden (a live frame too wide).
        self.wrapped_while_live: list[str] = []
        self._pending_wrap = False
        self._feed(data.decode("utf-8", "replace"))

    def text(self) -> list[str]:
        """The screen's lines, right-trimmed, without trailing empty ones."""
        out = ["".join(line).rstrip() for line in self.lines]
        while out and not out[-1]:
            out.pop()
        return out

    def _feed(self, text: str) -> None:
        at = 0
        for match in _CONTROL.finditer(text):
            self._put(text[at : match.start()])
            self._control(match)
            at = match.end()
        self._put(text[at:])

    def _line(self) -> list[str]:
        while len(self.lines) <= self.row:
            self.lines.append([])
        return self.lines[self.row]

    def _put(self, text: str) -> None:
        for char in text:
            if self._pending_wrap:
                if self.hidden:
                    self.wrapped_while_live.append("".join(self._line()))
                self.row += 1
                self.col = 0
                self._pending_wrap = False
            line = self._line()
            while len(line) < self.col:
                line.append(" ")
            if self.col < len(line):
                line[self.col] = char
            else:
                line.append(char)
            if self.col == self.columns - 1:
                self._pending_wrap = True
            else:
                self.col += 1

    def _control(self, match: re.Match[str]) -> None:
        whole = match.group(0)
        if whole in ("\r", "\n", "\b") or match.group(2) in ("A", "B", "G", "K"):
            self._pending_wrap = False  # colours and the cursor's visibility leave it pending
        if whole == "\r":
            self.col = 0
        elif whole == "\n":
            self.row += 1
            self._line()
        elif whole == "\b":
            self.col = max(0, self.col - 1)
        elif match.group(2):
            params, final = match.group(1), match.group(2)
            count = int(params) if params.isdigit() else 1
            if params == "?25" and final in "lh":
                self.hidden = final == "l"
            elif final == "K":
                line = self._line()
                if params in ("", "0"):
                    del line[self.col :]
                elif params == "1":
                    line[: self.col] = [" "] * min(self.col, len(line))
                else:
                    line.clear()
            elif final == "A":
                self.row = max(0, self.row - count)
            elif final == "B":
                self.row += count
            elif final == "G":
                self.col = max(0, count - 1)
