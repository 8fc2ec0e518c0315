"""Watch: the end of an attempt's child that this process forked, reaped as soon as it exits."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from ._attempt_group import signal_group

__all__ = ["ChildExit"]


class ChildExit:
    """Calls ``exited(status)`` on ``loop`` once child ``pid`` has exited and been reaped.

    Before reaping, the rest of its process group is killed: until it is reaped the child is a
    zombie, which keeps its group id from being reused meanwhile.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, pid: int, exited: Callable[[int], None]
    ) -> None:
        self.loop = loop
        self.pid = pid
        self.exited = exited
        self.pidfd = -1
        self.done = False
        if hasattr(os, "pidfd_open"):
            self.pidfd = os.pidfd_open(pid)
            loop.add_reader(self.pidfd, self._on_exit)
        else:  # pragma: no cover - not Linux: SIGCHLD through a waiting thread
            loop.run_in_executor(None, self._wait_blocking)

    def _on_exit(self) -> None:
        if self.done:
            return
        self.done = True
        signal_group(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        if self.pidfd >= 0:
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
        self.exited(status)

    def _wait_blocking(self) -> None:  # pragma: no cover - not Linux
        while True:
            try:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT) is not None:
                    break
            except ChildProcessError:
                break
        self.loop.call_soon_threadsafe(self._on_exit)
