"""Snapshots and stores for the checkpoint tests (a module of its own: `conftest` is taken)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from flowmancer_checkpoint import Checkpointer, FileCheckpointer, SQLiteCheckpointer
from flowmancer_dag import TaskState


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Stands in for flowmancer_exec.RunSnapshot (this package's tests run without exec)."""

    job: str
    run_id: str
    started: float
    states: Mapping[str, TaskState]
    attempts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    reasons: Mapping[str, str] = dataclasses.field(default_factory=dict)
    shared_dict: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    finished: bool = False
    fingerprints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    aborted: bool = False
    changed: AbstractSet[str] | None = None
    changed_keys: AbstractSet[str] | None = None
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    writers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unrestorable: Mapping[str, str] = dataclasses.field(default_factory=dict)


def snapshot(job: str = "nightly", finished: bool = False, **states: str) -> Snapshot:
    return Snapshot(
        job,
        "20261126T140307Z-1a2b3c4d",
        1764165787.25,
        {name: TaskState(s) for name, s in states.items()},
        attempts=dict.fromkeys(states, 1),
        fingerprints={name: f"fp-{name}" for name in states},
        finished=finished,
    )


Factory = Callable[[Path], Checkpointer]
BACKENDS: dict[str, Factory] = {
    "file": lambda folder: FileCheckpointer(folder / "ckpt"),
    "sqlite": lambda folder: SQLiteCheckpointer(folder / "ckpt" / "checkpoint.db"),
}
