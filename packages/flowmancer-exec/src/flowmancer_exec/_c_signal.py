"""Signal mask and handlers set through the C functions of ``_signal``, not ``signal``'s wrappers.

Why: ``signal``'s Python wrappers turn every number they return into a ``Signals`` enum member,
which costs more than the call itself and, in a fresh fork, touches (so copies) a few dozen of the
runner's pages; the C functions take and return plain numbers, which is all a forked child needs.
Measured with benchmarks/fork_tricks.py (a runner-size process forks 200 children one after
another, each child makes the calls and exits; 2 cores, loaded machine, median of 5): on the first
run, 2.53 ms per child with the C functions against 3.31 ms with ``signal``'s wrappers and 2.72 ms
for a child doing nothing; a second run, on a busier machine, put all three within noise of each
other (10-11 ms). Kept: it never measured slower.
"""

from __future__ import annotations

import importlib
import signal
from typing import Any

__all__ = ["c_sigmask", "c_signal"]


def _c_signal_functions() -> tuple[Any, Any]:
    try:
        c = importlib.import_module("_signal")
        return c.pthread_sigmask, c.signal
    except (ImportError, AttributeError):  # pragma: no cover - another Python implementation
        return signal.pthread_sigmask, signal.signal


#: ``pthread_sigmask(how, signals)`` and ``signal(number, handler)`` taking plain numbers.
c_sigmask, c_signal = _c_signal_functions()
