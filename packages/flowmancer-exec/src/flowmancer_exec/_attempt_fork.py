"""Start: fork one attempt's child, its three pipes wired, in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import NamedTuple

from ._c_signal import c_sigmask
from ._child import Load, child_main
from ._death_signal import death_signal_setter
from ._interface import Attempt
from ._signals import STOP_SIGNALS

__all__ = ["Forked", "fork_attempt"]

_STOP_SIGNALS = set(STOP_SIGNALS)


class Forked(NamedTuple):
    """A started child: its pid (= its process group) and the read ends of its pipes."""

    pid: int
    channel: int
    out: int
    err: int


def fork_attempt(
    attempt: Attempt, load: Load | None = None, keep: tuple[int, ...] = (), yield_cpu: bool = True
) -> Forked:
    """Fork a child that runs ``attempt`` (see ``child_main``) and return at once.

    The child dies with this process (where the system can say so) and is in a process group of
    its own. ``keep``: descriptors of this process the child closes first (a fork server's
    socket, say). ``yield_cpu``: give the child the CPU at once (not in a fork server, whose
    answer to the driver comes first). Nothing is left open or running when this raises.
    """
    fds: list[int] = []
    pid = 0
    try:
        for _ in range(3):
            fds.extend(os.pipe())
        channel_r, channel_w, out_r, out_w, err_r, err_w = fds
        # Until the child has left the runner's signal handling behind, a stop signal reaching
        # it would be written to the runner's wakeup socket and read as the runner's own: keep
        # them pending in both until each side is ready.
        blocked = c_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        die_with = death_signal_setter()
        parent = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                for fd in (channel_r, out_r, err_r, *keep):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                if die_with is not None:
                    # Die with the parent: one killed with kill -9 cannot stop its attempts,
                    # and one left running would run beside the resumed run.
                    die_with(signal.SIGKILL)
                    if os.getppid() != parent:  # it died before we asked
                        os._exit(70)
                child_main(attempt, channel_w, out_w, err_w, blocked, load)
            with contextlib.suppress(OSError):
                os.setpgid(pid, pid)  # the child does it too; whoever is first wins the race
        finally:
            c_sigmask(signal.SIG_SETMASK, blocked)
        if yield_cpu:
            # Let the child have the CPU now: on a busy machine it would otherwise wait for
            # the parent's bookkeeping, which is not on anyone's critical path.
            os.sched_yield()
        for fd in (channel_w, out_w, err_w):
            os.close(fd)
            fds.remove(fd)
        return Forked(pid, channel_r, out_r, err_r)
    except BaseException:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        raise
