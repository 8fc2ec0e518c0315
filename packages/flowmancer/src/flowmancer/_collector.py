"""The cyclic garbage collector while the driver starts a job: put off, then told to skip it all.

Reading, checking and building a job makes tens of thousands of objects that live as long as
the run. Each collection Python starts along the way walks them all again only to find them
alive: on a 2000-task job file that was about 40% of the time spent reading it. So the driver
collects nothing until the run starts; then the objects made so far are frozen (moved where
the collector does not look, ``gc.freeze``), which also keeps the runner's collections during
the run from touching their pages (each page touched after a fork is a page copied). They are
unfrozen when the run ends, so an embedding program collects them as usual afterwards.

A program that manages the collector itself (disabled it, or froze objects of its own) is left
alone.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collecting_from_the_run", "deferring_collection"]

_deferring: list[bool] = [False]
_froze: list[bool] = [False]


@contextlib.contextmanager
def deferring_collection() -> Iterator[None]:
    """No cyclic collection inside until ``collecting_from_the_run``; everything is as it was
    after."""
    if _deferring[0] or not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    _deferring[0], _froze[0] = True, False
    gc.disable()
    try:
        yield
    finally:
        _deferring[0] = False
        if _froze[0]:
            _froze[0] = False
            gc.unfreeze()
        gc.enable()


def collecting_from_the_run() -> None:
    """The run starts: freeze what was made so far and collect again (only what comes next)."""
    if _deferring[0] and not _froze[0]:
        gc.freeze()
        _froze[0] = True
        gc.enable()
