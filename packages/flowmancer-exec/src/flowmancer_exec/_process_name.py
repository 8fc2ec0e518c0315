"""The name a process shows in ``ps`` and ``/proc/<pid>/comm`` (Linux's ``PR_SET_NAME``).

The fork server names itself ``flowmancer-fork`` so that it can be told apart from the driver
(a task looking for its driver from its parent, ``ps``); the attempts it forks take back the
driver's name.
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["FORK_SERVER_NAME", "process_name", "set_process_name"]

#: What the fork server is called (15 bytes at most: the kernel's limit).
FORK_SERVER_NAME = "flowmancer-fork"
_PR_SET_NAME = 15


def process_name() -> str:
    """This process's name ("" where there is none to read)."""
    try:
        with open("/proc/self/comm", encoding="utf-8", errors="replace") as f:
            return f.read().rstrip("\n")
    except OSError:
        return ""


def set_process_name(name: str) -> None:
    """Rename this process (nothing where the system cannot)."""
    if not sys.platform.startswith("linux") or not name:
        return
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(name[:15])
