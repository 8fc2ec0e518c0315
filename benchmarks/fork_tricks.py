"""What each trick of the process executor's forked child saves, measured where it matters.

A process the size of the runner (flowmancer's whole stack imported) forks children one after
another; each child does one thing and exits; the time per child (fork, the thing, exit, reap)
is printed for each way of doing it. The numbers quoted in ``_c_signal``, ``_death_signal``,
``_c_flush`` and ``_copy_on_write`` come from this script.

    python benchmarks/fork_tricks.py [--children 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable

import yaml

import flowmancer
import flowmancer_checkpoint
import flowmancer_exec
import flowmancer_log

_MODULES = (flowmancer, flowmancer_checkpoint, flowmancer_exec, flowmancer_log, yaml)
_C = importlib.import_module("_signal")
_LIBC = ctypes.CDLL(None, use_errno=True)
_FFLUSH = _LIBC.fflush
_PRCTL = _LIBC.prctl


def _python_signal() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _c_signal() -> None:
    _C.pthread_sigmask(signal.SIG_SETMASK, set())
    _C.signal(signal.SIGTERM, 0)


def _freeze_then_collect() -> None:
    gc.freeze()
    gc.collect()


CASES: dict[str, Callable[[], object]] = {
    "nothing": lambda: None,
    "signal.pthread_sigmask + signal.signal": _python_signal,
    "_signal's C functions": _c_signal,
    "ctypes CDLL + fflush in the child": lambda: ctypes.CDLL(None).fflush(None),
    "fflush looked up in the parent": lambda: _FFLUSH(None),
    "ctypes CDLL + prctl in the child": lambda: ctypes.CDLL(None).prctl(1, 9, 0, 0, 0),
    "prctl looked up in the parent": lambda: _PRCTL(1, 9, 0, 0, 0),
    "gc.collect() in the child": gc.collect,
    "gc.freeze(); gc.collect() in the child": _freeze_then_collect,
}


def per_child(body: Callable[[], object], n: int) -> float:
    """Milliseconds per child doing ``body``."""
    start = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            body()
            os._exit(0)
        os.waitpid(pid, 0)
    return (time.perf_counter() - start) / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="the forked child's tricks, one by one")
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    gc.collect()
    found: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeat):  # interleaved: a busy spell hits every case alike
        for name, body in CASES.items():
            found[name].append(per_child(body, args.children))
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; ms per child, median (min)")
    for name, values in found.items():
        print(f"  {name:42} {statistics.median(values):7.3f} ({min(values):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
