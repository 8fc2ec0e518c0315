"""Telling the observers: state changes (gathered, flushed together), log lines, and the runner's
own lines on standard error.

An observer that fails is said once and the run goes on without its failure mattering.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Sequence
from typing import Any

from ._lifecycle import error_text
from ._records import LogRecord
from ._run_book import Book

__all__ = ["Reporter", "reason", "tell"]


class Reporter:
    """Tells ``observers`` what happens in one run, each through the methods it has."""

    __slots__ = ("book", "failed_observers", "job", "observers", "run_id")

    def __init__(self, job: str, run_id: str, observers: Sequence[object], book: Book) -> None:
        self.job = job
        self.run_id = run_id
        self.observers = observers
        self.book = book
        self.failed_observers: set[int] = set()

    def notify(self, method: str, *args: Any) -> None:
        for observer in self.observers:
            callback = getattr(observer, method, None)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception as error:
                if id(observer) not in self.failed_observers:  # once per observer
                    self.failed_observers.add(id(observer))
                    tell(
                        f"flowmancer: observer {type(observer).__name__}.{method} failed: "
                        f"{error!r}; the run goes on"
                    )

    def flush(self) -> None:
        """The state changes made since the last flush, told in order."""
        book = self.book
        changes, book.pending_changes = book.pending_changes, []
        for change in changes:
            self.notify("on_state_change", change)

    def emit(self, record: LogRecord) -> None:
        """A log line (after the state changes made before it)."""
        if self.book.pending_changes:
            self.flush()
        self.notify("on_log", record)

    def note(self, name: str, level: str, message: str) -> None:
        """A line of the runner's own in ``name``'s log."""
        self.emit(
            LogRecord(
                self.job,
                self.run_id,
                name,
                self.book.attempts[name],
                level,
                message,
                time.time(),
                "runner",
            )
        )


def reason(error: BaseException) -> str:
    """What went wrong, in words: the error's text, or its kind when it has none (MemoryError)."""
    return error_text(error) or type(error).__name__


def tell(text: str) -> None:
    """A line of the runner's own on standard error; one that cannot be written (a closed pipe,
    a hung-up terminal) is lost, never the run."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.__stderr__, flush=True)
