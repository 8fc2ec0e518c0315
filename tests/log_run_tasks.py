"""Task classes the logging tests run (module-level so that forked children and threads share
them; the name is unique across the workspace's test folders)."""

from __future__ import annotations

import os
import signal
import sys
import time

from flowmancer_exec import Task


class Chatty(Task):
    """Prints, logs, writes raw bytes to fd 1 (process executor only), then maybe fails."""

    fail: bool = False
    raw: bool = False

    def run(self) -> None:
        print(f"{self.metadata.name} says hello ✓")
        print("to stderr", file=sys.stderr)
        self.logger.warning("careful, attempt %d", self.metadata.attempt)
        if self.raw:
            os.write(1, b"bad \xff\xfe bytes\n")
        if self.fail and self.metadata.attempt == 1:
            raise ValueError("bad input")


class Lines(Task):
    """Prints ``count`` numbered lines of ``width`` characters."""

    count: int = 100
    width: int = 100

    def run(self) -> None:
        name = self.metadata.name
        for i in range(self.count):
            head = f"{name} {i:06d} "
            print(head + "x" * (self.width - len(head)))


class Long(Task):
    """Prints one line of ``size`` characters, then a short one."""

    size: int = 1_000_000

    def run(self) -> None:
        print("".join(chr(ord("a") + i % 26) for i in range(self.size)))
        print("after the long line")


class Crash(Task):
    """Prints a few lines, then dies hard: SIGKILL or os._exit(3)."""

    how: str = "sigkill"

    def run(self) -> None:
        for i in range(5):
            print(f"line {i} before the crash", flush=True)
        time.sleep(0.05)
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)
