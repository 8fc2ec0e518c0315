"""An attempt's process group: stopped on request (SIGTERM, grace period, SIGKILL) and ended
with the attempt, whatever of it is left."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from ._children import live_processes

__all__ = ["GroupStop", "end_group", "group_alive", "signal_group"]


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to the group (nothing if it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class GroupStop:
    """Stopping one attempt's group: the first ``stop()`` sends SIGTERM and SIGKILL after the
    grace period; a second kills at once. ``cancel()`` once the child has exited."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pgid: int, grace: float) -> None:
        self.loop = loop
        self.pgid = pgid
        self.grace = grace
        self.stopped = False
        self.timer: asyncio.TimerHandle | None = None

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            signal_group(self.pgid, signal.SIGTERM)
            self.timer = self.loop.call_later(self.grace, self.kill)
        else:
            self.kill()

    def kill(self) -> None:
        self.cancel()
        signal_group(self.pgid, signal.SIGKILL)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


async def end_group(pgid: int) -> None:
    """Kill what is left of an attempt's process group and wait until it is gone (at most 2 s).

    Members are killed with SIGKILL and reaped by whoever is their parent now (init, once their
    own parent has died); a zombie among them counts as gone.
    """
    deadline = time.monotonic() + 2.0
    while group_alive(pgid) and time.monotonic() < deadline:
        signal_group(pgid, signal.SIGKILL)
        await asyncio.sleep(0.005)


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):  # pragma: no cover - not Linux: trust kill()
        return True
    return any(group == pgid for _, _, group in live_processes())
