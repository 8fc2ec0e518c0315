"""A Flowmancer 0.12 checkpointer used as the run's checkpoint store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ._compat import (
    _LETTER,
    CheckpointContents,
    LegacyCheckpointer,
    NoCheckpointAvailableError,
    PluginAdapter,
)

__all__ = ["CheckpointerAdapter"]

_STATE_OF = {letter.value: name for name, letter in _LETTER.items()}
# 0.12's CheckpointContents has no place for task results: they ride in its shared_dict under
# this key, and are taken out again when it is read.
RESULTS_KEY = "__flowmancer_results__"


class CheckpointerAdapter(PluginAdapter):
    """Saves snapshots through a 0.12 checkpointer and reads them back for ``-r``.

    0.12 checkpoints hold no task fingerprints, so a resume keeps every task they say completed
    (a changed task is not detected, as in 0.12). Task results are kept beside ``shared_dict``.
    """

    def __init__(self, plugin: LegacyCheckpointer, lock_folder: Path) -> None:
        self.store = plugin
        self.lock_folder = lock_folder
        self.clear_on_success = True
        self._run_plugin = _Hooks(plugin)
        super().__init__(self._run_plugin, "checkpointer")  # type: ignore[arg-type]
        self.is_logger = False

    # -- the store ------------------------------------------------------------------------------

    def save(self, snapshot: Any) -> None:
        """Hand the snapshot to ``write_checkpoint`` (after a clean finish: clear it instead)."""
        if snapshot.finished and snapshot.ok and self.clear_on_success:
            self._call(lambda: self.store.clear_checkpoint(snapshot.job))
            return
        states: dict[str, set[str]] = {}
        for name, state in snapshot.states.items():
            states.setdefault(_LETTER[str(state)].value, set()).add(name)
        shared = dict(snapshot.shared_dict)
        results = getattr(snapshot, "results", None)
        if results:
            shared[RESULTS_KEY] = dict(results)
        content = CheckpointContents(snapshot.job, states, shared)
        self._call(lambda: self.store.write_checkpoint(snapshot.job, content))

    def load(self, job: str) -> Any:
        """The job's checkpoint as a ``flowmancer_checkpoint.Checkpoint`` (None: there is none)."""
        from flowmancer_checkpoint import Checkpoint, TaskEntry
        from flowmancer_dag import TaskState

        try:
            content = asyncio.run(self.store.read_checkpoint(job))
        except NoCheckpointAvailableError:
            return None
        tasks = {
            name: TaskEntry(TaskState(_STATE_OF.get(letter, "INIT")))
            for letter, names in content.states.items()
            for name in sorted(names)
        }
        now = time.time()
        shared = dict(content.shared_dict)
        results = shared.pop(RESULTS_KEY, None)
        return Checkpoint(
            job,
            "0.12-checkpoint",
            now,
            now,
            tasks,
            shared,
            results=results if isinstance(results, dict) else {},
        )

    def clear(self, job: str) -> None:
        """Forget the job's checkpoint."""
        asyncio.run(self.store.clear_checkpoint(job))

    def lock(self, job: str) -> Any:
        """The job's run lock, in ``./.flowmancer`` beside the driver."""
        from flowmancer_checkpoint import JobLock
        from flowmancer_checkpoint._store import safe_name

        return JobLock(self.lock_folder / f"{safe_name(job)}.lock", job)

    def on_state_change(self, change: Any) -> None:
        """Checkpointers hear no state changes."""

    def on_log(self, record: Any) -> None:
        """Nor log lines."""


class _Hooks:
    """The checkpointer's lifecycle hooks, for the adapter's start and end calls."""

    def __init__(self, plugin: LegacyCheckpointer) -> None:
        self.plugin = plugin
        self.on_create = plugin.on_create
        self.on_restart = plugin.on_restart
        self.on_success = plugin.on_success
        self.on_failure = plugin.on_failure
        self.on_destroy = plugin.on_destroy
        self.on_abort = plugin.on_abort

    async def update(self, event: Any) -> None:
        """Unused: checkpointers receive no events."""
