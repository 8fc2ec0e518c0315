"""What a run takes from its ``Runner``: the runner's settings, read once when the run starts.

A frozen value rather than the runner itself, so the run's parts are given only what they need
and nothing in the run imports ``_runner`` back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._interface import CheckpointStore, Executor
from ._job import PreparedJob

__all__ = ["RunSettings"]


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The runner's settings for one run (see ``Runner`` for what each means)."""

    job: str
    prepared: PreparedJob
    executor: Executor
    max_concurrency: int
    pools: Mapping[str, int]
    # The runner's own list, not a copy: an observer added before the run starts is told.
    observers: Sequence[object]
    checkpoint: CheckpointStore | None
    handle_signals: bool
    finally_grace_period: float
    shared_dict_conflicts: str
