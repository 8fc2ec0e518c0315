"""Python's cyclic garbage collector paused while a job is read and prepared.

Reading, checking and preparing a big job makes millions of objects that all stay alive, and
each burst of allocations started a collection that walked all of them again: two thirds of
the time of ``flowmancer validate`` on a job of 100,000 tasks. Nothing made there needs the
collector meanwhile; the garbage cycles it leaves are collected once it runs again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Within: no cyclic garbage collection (as it was again after, also if already off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
