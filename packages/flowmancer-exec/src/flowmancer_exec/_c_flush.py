"""Flush the C library's stdio buffers before ``os._exit`` (which skips its exit handlers).

Why: ``printf`` output still buffered in a C extension would otherwise be lost when a forked child
ends with ``os._exit``. Why ``fflush`` is looked up once, in the runner: so each child does not pay
for ``dlopen``, nor for ctypes working out the function (a fresh fork would write to a few dozen of
the runner's pages doing so). Measured with benchmarks/fork_tricks.py (a runner-size process forks
200 children one after another, each flushes and exits; 2 cores, loaded machine, median of 5): 2.35
ms per child with ``fflush`` looked up in the runner against 2.51 ms with ctypes loaded in the
child (a second, busier run: 9.3 against 9.8 ms).
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

__all__ = ["LIBC", "flush_c_stdio"]


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None


#: The C library, loaded once in the runner (None where there is none to load).
LIBC = _libc()
_FFLUSH = getattr(LIBC, "fflush", None)


def flush_c_stdio() -> None:
    """``fflush(NULL)``: write out every C stream's buffer (nothing where there is no libc)."""
    if _FFLUSH is not None:
        with contextlib.suppress(Exception):
            _FFLUSH(None)
