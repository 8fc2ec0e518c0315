"""A Ctrl-C (or SIGTERM, or SIGHUP) that arrives before the runner takes it over is never lost,
and one that arrives after the job's state has settled never changes the exit status.

Python's own SIGINT handler raises KeyboardInterrupt wherever the main thread happens to be; when
that is a finalizer or a weakref callback (the import system runs some while task modules are
imported), Python prints "Exception ignored in ..." and goes on, so the job would start as if
nobody had pressed Ctrl-C. The driver's handler also remembers the signal, and the driver looks
once more just before the runner starts (and keeps Python from printing the swallowed
KeyboardInterrupt's traceback: the driver says "interrupted" in one line instead).

SIGTERM and SIGHUP (the terminal closed, the ssh connection dropped) are taken as SIGINT is, and
the driver exits with 128 + the signal's number when one stops it before the job runs.

While the runner is being set up (``asyncio.run`` making its event loop, the run's first steps)
a SIGINT is only remembered: raised in there it would leave half-made asyncio objects behind
(their finalizers then print tracebacks). Once the runner handles SIGINT itself it is told of
one that came meanwhile (``InterruptAtStart``) and aborts the run as for any Ctrl-C. From then
on, to the end of ``start()``, a signal is only remembered: once the run has ended, the driver
settles the checkpoint, then says how the job ended, and its exit status says the same. After
``start()`` has returned its status, a stop signal ends the process with that status
(``settle``): a job whose checkpoint was cleared exits 0 whenever the signal comes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = [
    "InterruptAtStart",
    "Settle",
    "deferring_from_now",
    "interrupted_by",
    "noticing_interrupts",
    "quiet_on_the_way_out",
    "raise_if_interrupted",
]

_asked: list[int] = []
_deferring: list[bool] = [False]
_STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _remember_and_raise(signum: int, frame: FrameType | None) -> None:
    _asked.append(signum)
    if not _deferring[0]:
        raise KeyboardInterrupt


def _ours_to_take(sig: int) -> bool:
    """Only over the default: a handler the application installed is left alone, and so is an
    ignored SIGHUP (nohup)."""
    current = signal.getsignal(sig)
    if sig == signal.SIGINT:
        return current is signal.default_int_handler or _settled(current)
    return current == signal.SIG_DFL or _settled(current)


def _settled(handler: object) -> bool:
    return getattr(handler, "flowmancer_default", None) is not None


class Settle:
    """Where ``start()`` leaves the exit status it returns (see ``noticing_interrupts``)."""

    def __init__(self) -> None:
        self.status: int | None = None


@contextlib.contextmanager
def noticing_interrupts(settle: bool = True) -> Iterator[Settle]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt and are remembered.

    Only over their default handlers, and only from the main thread. With ``settle``, once the
    inside has set a status (the job ended, or could not start), a stop signal arriving after
    it ends the process with that status instead of the signal's default; only in a program
    started as a script (``python main.py``, the ``flowmancer`` command): a host such as
    ``python -m pytest`` gets its handlers back as they were.
    """
    settle = settle and _started_as_script()
    _asked.clear()
    _deferring[0] = False
    ending = Settle()
    if threading.current_thread() is not threading.main_thread():
        yield ending
        return
    # What to give back: the default (also under a handler an earlier start() left, _exit_with).
    taken = {
        sig: getattr(signal.getsignal(sig), "flowmancer_default", signal.getsignal(sig))
        for sig in _STOPS
        if _ours_to_take(sig)
    }
    if not taken:
        yield ending
        return
    previous_hook = sys.unraisablehook

    def quiet_about_ours(unraisable: sys.UnraisableHookArgs) -> None:
        if not (_asked and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous_hook(unraisable)

    for sig in taken:
        signal.signal(sig, _remember_and_raise)
    sys.unraisablehook = quiet_about_ours
    try:
        yield ending
    finally:
        for sig, handler in taken.items():
            # Only if it is still ours: the runner gives back what it found, which is ours too.
            if signal.getsignal(sig) is _remember_and_raise:
                if settle and ending.status is not None:
                    signal.signal(sig, _exit_with(ending.status, handler))
                else:
                    signal.signal(sig, handler)
        if sys.unraisablehook is quiet_about_ours:
            sys.unraisablehook = previous_hook
        _asked.clear()
        _deferring[0] = False


def _started_as_script() -> bool:
    main = sys.modules.get("__main__")
    return bool(getattr(main, "__file__", None)) and getattr(main, "__spec__", None) is None


def _exit_with(status: int, default: object) -> Callable[[int, FrameType | None], None]:
    """A handler ending the process with the job's exit status: the job has ended and its state
    has settled, so the status must not change (a wrapper retrying on non-zero would run the
    whole job again). ``default`` is what it stands in for."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)

    handler.flowmancer_default = default  # type: ignore[attr-defined]
    return handler


def interrupted_by() -> str:
    """The name of the last stop signal remembered (SIGINT when none was)."""
    return signal.Signals(_asked[-1]).name if _asked else "SIGINT"


def deferring_from_now() -> None:
    """From now to the end of ``noticing_interrupts``, a stop signal is only remembered: the
    runner takes them over for the run, and once the run has ended its outcome stands."""
    _deferring[0] = True


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


class InterruptAtStart:
    """An observer for the driver's runs: when the run starts (the runner has taken SIGINT
    over by then), a SIGINT that came while it was being set up aborts it."""

    def __init__(self, abort: Callable[[], None]) -> None:
        self.abort = abort

    def on_run_start(self, start: object) -> None:
        """Pass on a SIGINT remembered since the runner began to be set up."""
        if _asked:
            self.abort()
