"""The cyclic garbage collector while the driver starts a job: put off, then told to skip it all.

Reading, checking and building a job makes tens of thousands of objects that live as long as
the run. Each collection Python starts along the way walks them all again only to find them
alive: on a 2000-task job file that was about 40% of the time spent reading it. So the driver
collects nothing until the run starts; then the objects made so far are frozen (moved where
the collector does not look, ``gc.freeze``), which also keeps the runner's collections during
the run from touching their pages (each page touched after a fork is a page copied). They are
unfrozen when the run ends, so an embedding program collects them as usual afterwards.

Measured again (2026-12-08, Python 3.11, 2 cores, loaded: load average 11-13): a 2000-task
chain's ``python main.py -j job.yaml --dry-run`` (read, check, build, plan; no task run), 3
runs each, interleaved: 3.27 s median with this (2.70-4.67), 4.16 s without (3.75-5.08). The
same job run to its end was too noisy on that machine to show the freeze's share (37-85 s with,
16-68 s without).

A program that turned the collector off is left alone. Nothing is frozen when something already
is (the program's own objects, or, in Python 3.12, some of the interpreter's): ``gc.unfreeze``
could not give back only ours.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collecting_from_the_run", "collector_paused", "deferring_collection"]


class _State:
    deferring = False  # inside deferring_collection, the collector off
    may_freeze = False  # nothing was frozen when it began
    froze = False


_state = _State()


@contextlib.contextmanager
def deferring_collection() -> Iterator[None]:
    """No cyclic collection inside until ``collecting_from_the_run``; as it was after."""
    if _state.deferring or not gc.isenabled():
        yield
        return
    _state.deferring, _state.froze = True, False
    _state.may_freeze = gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        _state.deferring = False
        if _state.froze:
            _state.froze = False
            gc.unfreeze()
        gc.enable()


def collecting_from_the_run() -> None:
    """The run starts: freeze what was made so far and collect again (only what comes next)."""
    if _state.deferring and not gc.isenabled():
        if _state.may_freeze:
            gc.freeze()
            _state.froze = True
        gc.enable()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Within: no cyclic collection (as it was again after, also if already off).

    For reading and preparing a job outside the driver's ``deferring_collection`` (``flowmancer
    validate``, ``build`` called by a program): each burst of allocations there started a
    collection that walked every object of the job again, two thirds of the time of validating a
    job of 100,000 tasks (benchmarks/validate.py). The garbage cycles left are collected once the
    collector runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
