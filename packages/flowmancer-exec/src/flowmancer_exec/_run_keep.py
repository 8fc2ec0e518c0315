"""Keeping the run: its snapshot, saved to the checkpoint store once the loop is idle after task
finishes, and the completion recorders that attempts use to record their own completion early,
where they ran (see ``CheckpointStore.completion_recorder``).

A store that fails is said once (a full disk fails every save after the first), and the run goes
on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ._interface import CheckpointStore, CompletionRecorder
from ._job import PreparedJob
from ._records import RunSnapshot
from ._run_abort import Abort
from ._run_book import Book
from ._run_report import reason, tell
from ._shared import SharedState

__all__ = ["Keeper"]


class Keeper:
    """Snapshots and saves one run. ``dirty``: something finished since the last save;
    ``unsaved_keys``: the ``shared_dict`` keys changed since then; ``ran``: tasks FAILED after
    their ``run()`` had completed (a resume keeps what ``run()`` did)."""

    __slots__ = (
        "abort",
        "book",
        "data",
        "dirty",
        "job",
        "prepare_recorder",
        "prepared",
        "ran",
        "recorder",
        "run_id",
        "save_failing",
        "saved_once",
        "started",
        "store",
        "unsaved_keys",
    )

    def __init__(
        self,
        job: str,
        run_id: str,
        started: float,
        store: CheckpointStore | None,
        prepared: PreparedJob,
        book: Book,
        data: SharedState,
        abort: Abort,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.started = started
        self.store = store
        self.prepared = prepared  # its fingerprints are worked out at the first snapshot
        self.book = book
        self.data = data
        self.abort = abort
        self.dirty = False
        self.unsaved_keys: set[str] = set()
        self.ran: set[str] = set()
        self.saved_once = False
        self.recorder: CompletionRecorder | None = None
        self.prepare_recorder: Callable[[str, int], CompletionRecorder] | None = None
        self.save_failing = False  # the last save failed (and said so)

    def snapshot(self, finished: bool = False) -> RunSnapshot:
        data = self.data
        book = self.book
        return RunSnapshot(
            self.job,
            self.run_id,
            self.started,
            book.state_column.view(book.index),
            book.attempt_column.view(book.index),
            dict(book.reasons),
            dict(data.values),
            finished,
            self.prepared.fingerprints,
            self.abort.aborts > 0,
            frozenset(book.unsaved) if self.saved_once else None,
            frozenset(self.unsaved_keys) if self.saved_once else None,
            # Copies, like shared_dict's; most runs have none of these.
            dict(data.results) if data.results else _NONE,
            dict(data.writer) if data.writer else _NONE,
            dict(data.unrestorable) if data.unrestorable else _NONE,
            frozenset(self.ran),
        )

    def begin_recording(self) -> None:
        """After the first save: the store's completion recorder, if it has one."""
        self.recorder = self.completion_recorder()
        self.prepare_recorder = getattr(self.recorder, "prepare", None)

    def completion_recorder(self) -> CompletionRecorder | None:
        make = getattr(self.store, "completion_recorder", None)
        if make is None:
            return None
        try:
            recorder: CompletionRecorder | None = make(self.snapshot())
        except Exception as error:
            tell(f"flowmancer: the checkpoint store failed: {reason(error)}")
            return None
        return recorder

    def recorder_for(self, name: str, number: int) -> CompletionRecorder | None:
        if self.prepare_recorder is None:
            return self.recorder
        try:
            return self.prepare_recorder(name, number)
        except Exception:  # it can still record, only not prepared
            return self.recorder

    def save(self, finished: bool = False) -> None:
        store = self.store
        self.dirty = False
        if store is None:
            return
        snapshot = self.snapshot(finished)
        self.book.unsaved.clear()
        self.unsaved_keys.clear()
        self.saved_once = True
        try:
            store.save(snapshot)
        except Exception as error:
            # Once per run: a full disk fails every save after the first, and a line per
            # finish would bury what the user needs to know.
            if not self.save_failing:
                tell(
                    f"flowmancer: the checkpoint could not be saved: {reason(error)}; it "
                    "keeps the last state saved before, so a resume (-r) runs again what "
                    "finished since (the run goes on; further failures to save are not reported)"
                )
            self.save_failing = True
        else:
            if self.save_failing:
                tell("flowmancer: the checkpoint is saved again")
            self.save_failing = False


_NONE: Mapping[str, Any] = MappingProxyType({})
