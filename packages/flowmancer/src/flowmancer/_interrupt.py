"""A Ctrl-C that arrives before the runner takes SIGINT over is never lost.

Python's own SIGINT handler raises KeyboardInterrupt wherever the main thread happens to be; when
that is a finalizer or a weakref callback (the import system runs some while task modules are
imported), Python prints "Exception ignored in ..." and goes on, so the job would start as if
nobody had pressed Ctrl-C. The driver's handler also remembers the signal, and the driver looks
once more just before the runner starts (and keeps Python from printing the swallowed
KeyboardInterrupt's traceback: the driver says "interrupted" in one line instead).

While the runner is being set up (``asyncio.run`` making its event loop, the run's first steps)
a SIGINT is only remembered: raised in there it would leave half-made asyncio objects behind
(their finalizers then print tracebacks). Once the runner handles SIGINT itself it is told of
one that came meanwhile (``InterruptAtStart``) and aborts the run as for any Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = [
    "InterruptAtStart",
    "deferring_interrupts",
    "noticing_interrupts",
    "quiet_on_the_way_out",
    "raise_if_interrupted",
]

_asked: list[int] = []
_deferring: list[bool] = [False]


def _remember_and_raise(signum: int, frame: FrameType | None) -> None:
    _asked.append(signum)
    if not _deferring[0]:
        raise KeyboardInterrupt


@contextlib.contextmanager
def noticing_interrupts() -> Iterator[None]:
    """While inside, SIGINT raises KeyboardInterrupt as usual and is also remembered.

    Only over Python's default handler, and only from the main thread: a handler the
    application installed is left alone.
    """
    _asked.clear()
    _deferring[0] = False
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    previous_hook = sys.unraisablehook

    def quiet_about_ours(unraisable: sys.UnraisableHookArgs) -> None:
        if not (_asked and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous_hook(unraisable)

    signal.signal(signal.SIGINT, _remember_and_raise)
    sys.unraisablehook = quiet_about_ours
    try:
        yield
    finally:
        # Only if it is still ours: the runner gives back what it found, which is ours too.
        if signal.getsignal(signal.SIGINT) is _remember_and_raise:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if sys.unraisablehook is quiet_about_ours:
            sys.unraisablehook = previous_hook
        _asked.clear()
        _deferring[0] = False


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a SIGINT came since `noticing_interrupts` began, even one
    whose KeyboardInterrupt Python swallowed."""
    if _asked:
        raise KeyboardInterrupt


@contextlib.contextmanager
def quiet_on_the_way_out() -> Iterator[None]:
    """Once the inside is over (the job ran, or could not start), a SIGINT to the driver's
    handler is only remembered until ``noticing_interrupts`` ends: raised while the driver puts
    things back (the working folder, the garbage collector) it would cut that short and print a
    traceback after the job's result."""
    try:
        yield
    finally:
        _deferring[0] = True


@contextlib.contextmanager
def deferring_interrupts() -> Iterator[None]:
    """While inside, a SIGINT to the driver's handler is remembered, not raised."""
    before = _deferring[0]
    _deferring[0] = True
    try:
        yield
    finally:
        _deferring[0] = before


class InterruptAtStart:
    """An observer for the driver's runs: when the run starts (the runner has taken SIGINT
    over by then), a SIGINT that came while it was being set up aborts it."""

    def __init__(self, abort: Callable[[], None]) -> None:
        self.abort = abort

    def on_run_start(self, start: object) -> None:
        """Pass on a SIGINT remembered since the runner began to be set up."""
        if _asked:
            self.abort()
