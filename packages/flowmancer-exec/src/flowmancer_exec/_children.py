"""What a thread-executor attempt leaves behind in the runner's process: the child processes it
started, and process-wide limits it lowered.

The process executor ends everything an attempt started with the attempt's process group. A task
on a thread shares the runner's process and group, so its children are found instead: Linux
lists each thread's children in ``/proc/self/task/<tid>/children``. At the end of an attempt the
children its thread started (and their descendants) get SIGTERM, the grace period to exit, then
SIGKILL. A grandchild that left the family (a daemon that double-forked, whose parent has exited)
is no one's child any more and cannot be found.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from collections.abc import Iterable, Iterator

__all__ = ["Limits", "end_children", "has_children", "live_processes"]


def has_children() -> bool:
    """Whether this process has any child at all, running or not yet reaped (one system call;
    the common case of a thread task that started none costs no more)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:  # pragma: no cover - not allowed to wait: assume there may be some
        return True
    return True


def _children_of_thread(tid: int) -> list[int]:
    try:
        with open(f"/proc/self/task/{tid}/children", "rb") as f:
            return [int(pid) for pid in f.read().split()]
    except (OSError, ValueError):  # not Linux, or a kernel without the list
        return []


def live_processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process that still runs (zombies do not), from
    ``/proc`` (nothing where there is none)."""
    with contextlib.suppress(OSError), os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] not in (b"Z", b"X"):
                yield int(entry.name), int(fields[1]), int(fields[2])


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live process."""
    return {pid: parent for pid, parent, _ in live_processes()}


def _family(roots: Iterable[int]) -> set[int]:
    """``roots`` that still run, and every live descendant of theirs."""
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    stack = [pid for pid in roots if pid in parents]
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def end_children(tids: Iterable[int], grace: float) -> list[int]:
    """End the children the threads ``tids`` started and their descendants: SIGTERM, up to
    ``grace`` seconds to exit, then SIGKILL. Returns the pids signalled (empty: none ran).

    Children are not reaped here: the task's ``subprocess.Popen`` (or whoever started them)
    still may, and a process reaped under it would report a wrong exit status.
    """
    tids = list(tids)
    roots = [pid for tid in tids for pid in _children_of_thread(tid)]
    family = _family(roots) if roots else set()
    if not family:
        return []
    # Frozen first, so that none can start another while the family is counted (a shell that
    # has not yet started its own children, say), then counted again until no one is new.
    while True:
        _signal(family, signal.SIGSTOP)
        roots = [pid for tid in tids for pid in _children_of_thread(tid)]
        more = _family([*roots, *family]) - family
        if not more:
            break
        family |= more
    _signal(family, signal.SIGTERM)
    _signal(family, signal.SIGCONT)
    deadline = time.monotonic() + grace
    left = family
    while left and time.monotonic() < deadline:
        time.sleep(0.005)
        left = family & set(_parents())
    _signal(left, signal.SIGKILL)
    return sorted(family)


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


# The limits that, lowered by a task for the whole process, break the runner's own work: memory
# for the checkpoint and the loggers, file sizes and descriptors for their files.
_LIMITS = {
    getattr(resource, name): name
    for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
    if hasattr(resource, name)
}


class Limits:
    """The process's resource limits when the executor started, to put back after an attempt
    on a thread lowered them (a thread cannot have limits of its own)."""

    def __init__(self) -> None:
        self.saved = {which: resource.getrlimit(which) for which in _LIMITS}

    def restore(self) -> list[str]:
        """Raise every limit lowered since back (as far as the hard limit now allows); the
        names of those that were lowered."""
        lowered = []
        for which, (soft, hard) in self.saved.items():
            now_soft, now_hard = resource.getrlimit(which)
            if (now_soft, now_hard) == (soft, hard):
                continue
            lowered.append(_LIMITS[which])
            with contextlib.suppress(ValueError, OSError):  # a hard limit only root raises
                resource.setrlimit(which, (soft, hard))
                continue
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (_at_most(soft, now_hard), now_hard))
        return lowered


def _at_most(limit: int, hard: int) -> int:
    if hard == resource.RLIM_INFINITY:
        return limit
    if limit == resource.RLIM_INFINITY:
        return hard
    return min(limit, hard)
