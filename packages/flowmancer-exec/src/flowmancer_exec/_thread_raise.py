"""Stopping a thread: an exception raised in it from another thread, through CPython's C API
(``PyThreadState_SetAsyncExc``, reached with ctypes), the one way Python offers.

Not a speed trick: the thread executor's only means to interrupt an attempt's ``run()``. It
lands at the thread's next Python instruction, so a thread blocked in C code (a ``sleep``, a
socket read) sees it only once that returns; ``ThreadExecutor`` wakes an async hook's loop for
it and gives up on a thread that does not stop within the grace period.
"""

from __future__ import annotations

import ctypes
import threading

__all__ = ["raise_in"]


def raise_in(thread: threading.Thread, exception: type[BaseException]) -> None:
    """Raise ``exception`` in ``thread`` at its next Python instruction.

    Never called with NULL to take a request back: on Python 3.11 that leaves the interpreter's
    "async exception pending" flag set with no thread to clear it, which starves the event loop
    whenever a trace or profile function is active (coverage, debuggers, cProfile).
    """
    if thread.ident is None or not thread.is_alive():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(exception)
    )
