"""Writing checkpoints off the runner's thread: the latest state wins, one write in flight.

A save renders its text on the caller's thread (cheap: only changed tasks are rendered again)
and leaves the write to one background thread. While a write is in flight, newer saves replace
each other in a one-slot mailbox per job, so the disk sees at most one write per job at a time
and never falls behind by more than one state. ``flush`` waits until everything handed over is
on disk and raises the first write error, if any, so a failure is never silent.

The thread only makes system calls (open, write, rename, fsync, SQLite): it holds no lock a
forked task process could need, so forking beside it is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Writer"]

Job = Callable[[], None]


class Writer:
    """One background thread running the latest write of each job."""

    def __init__(self, name: str = "flowmancer-checkpoint") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._pending: dict[str, Job] = {}
        self._busy = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def submit(self, key: str, write: Job) -> None:
        """Run ``write`` soon, replacing a not-yet-started write of the same ``key``.

        Raises:
            Exception: the error of an earlier write that failed (reported once).
        """
        with self._cond:
            self._raise_error()
            self._pending[key] = write
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every submitted write has run; raise the first error among them."""
        with self._cond:
            while self._pending or self._busy:
                self._cond.wait()
            self._raise_error()

    def close(self) -> None:
        """Flush, then stop the thread (a later submit starts a new one)."""
        with self._cond:
            while self._pending or self._busy:
                self._cond.wait()
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join()
        with self._cond:
            self._raise_error()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._pending and self._thread is me:
                    self._cond.wait()
                if not self._pending:
                    return  # closed
                key = next(iter(self._pending))
                write = self._pending.pop(key)
                self._busy = True
            try:
                write()
            except BaseException as error:  # kept for the caller; the thread goes on
                with self._cond:
                    if self._error is None:
                        self._error = error
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
