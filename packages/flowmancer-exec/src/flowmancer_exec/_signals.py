"""The runner's SIGINT/SIGTERM/SIGHUP handling: taken for the run, given back after it.

SIGHUP (the terminal closed, the ssh connection dropped) aborts the run as SIGTERM does: running
attempts get ``on_abort`` and the grace period, and the checkpoint is saved for ``-r``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["STOP_SIGNALS", "install_signals", "restore_signals"]

# The signals that abort a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_signals(
    loop: asyncio.AbstractEventLoop, abort: Callable[[int], None]
) -> dict[int, Any]:
    """Make SIGINT, SIGTERM and SIGHUP call ``abort(signum)`` on ``loop``; returns the handlers
    replaced.

    Only from the main thread (signals are delivered there), and never over a handler the
    application's own event loop installed.
    """
    saved: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return saved
    for sig in STOP_SIGNALS:
        current = signal.getsignal(sig)
        if sig == signal.SIGHUP and current == signal.SIG_IGN:
            continue  # nohup: whoever started us asked for the run to outlive the terminal
        if getattr(current, "__name__", "") == "_sighandler_noop":
            # The application's event loop handles this signal (loop.add_signal_handler);
            # taking it over would lose that handler for good. It can call Runner.abort().
            continue
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(sig, abort, int(sig))
            saved[sig] = current
    return saved


def restore_signals(loop: asyncio.AbstractEventLoop, saved: dict[int, Any]) -> None:
    """Put back the handlers ``install_signals`` replaced."""
    for sig, handler in saved.items():
        with contextlib.suppress(ValueError, RuntimeError):
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
