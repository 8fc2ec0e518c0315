"""A forked process asks to die with its parent: Linux's ``prctl(PR_SET_PDEATHSIG, sig)``.

Why it exists: a runner (or fork server) killed with ``kill -9`` cannot stop its attempts, and one
left running would run beside the resumed run. Why it is looked up once, in the parent: importing
ctypes and finding the function in every child costs milliseconds. Measured with
benchmarks/fork_tricks.py (a runner-size process forks 200 children one after another, each sets
its death signal and exits; 2 cores, loaded machine, median of 5): 2.31 ms per child with the
function looked up in the parent against 2.57 ms with ctypes loaded in the child (a second, busier
run: 10.7 against 12.8 ms).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["death_signal_setter"]

_PR_SET_PDEATHSIG = 1
_setter: list[Callable[[int], object] | None] = []


def death_signal_setter() -> Callable[[int], object] | None:
    """``set(sig)``: this process gets ``sig`` when its parent dies; None where there is no
    such call (not Linux). Looked up on the first call (in the parent, before forking)."""
    if not _setter:
        found: Callable[[int], object] | None = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                prctl = ctypes.CDLL(None, use_errno=True).prctl
                found = lambda sig: prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)  # noqa: E731
            except (OSError, AttributeError):
                found = None
        _setter.append(found)
    return _setter[0]
