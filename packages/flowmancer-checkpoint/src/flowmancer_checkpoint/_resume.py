"""What a resumed run keeps and what it runs again, decided from a checkpoint and the job now."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from flowmancer_dag import TaskState

from ._record import Checkpoint

__all__ = ["ResumePlan", "plan_resume"]

S = TaskState


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """How to resume a job from its checkpoint (or that there is nothing to resume).

    Hand ``completed``, ``restarted`` and ``shared_dict`` to the runner. Every task of the job
    that is not in ``completed`` runs.

    Attributes:
        job: the job's name; ``checkpoint``: what was read (None: a fresh start).
        completed: COMPLETED before and unchanged since: not run again.
        restarted: FAILED before: run again, their first attempt calls ``on_restart``.
        again: every other task of the old run that runs again (ABORTED, DEFAULTED, RUNNING,
            PENDING, INIT, SKIPPED), with the state it had.
        changed: COMPLETED before, but their class or parameters changed: run again.
        added: in the job now, not in the checkpoint: run.
        dropped: in the checkpoint, no longer in the job: forgotten.
        shared_dict: the values to start from; ``lost``: keys that could not be saved, and why.
    """

    job: str
    checkpoint: Checkpoint | None
    completed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()
    again: Mapping[str, TaskState] = dataclasses.field(default_factory=dict)
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    shared_dict: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    lost: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def fresh(self) -> bool:
        """True when there was no checkpoint: the run starts from the beginning."""
        return self.checkpoint is None

    def summary(self) -> str:
        """One line saying what is kept and what will run."""
        if self.checkpoint is None:
            return f"no checkpoint for job {self.job!r}: starting a fresh run"
        saved = datetime.datetime.fromtimestamp(self.checkpoint.updated).isoformat(
            sep=" ", timespec="seconds"
        )
        parts = [f"{len(self.completed)} completed kept"]
        runs = []
        if self.restarted:
            runs.append(f"{len(self.restarted)} failed ({_names(self.restarted)})")
        by_state: dict[str, list[str]] = {}
        for name, state in self.again.items():
            by_state.setdefault(state.value.lower(), []).append(name)
        for word, names in by_state.items():
            runs.append(f"{len(names)} {_STATE_WORD.get(word, word)} ({_names(names)})")
        if self.changed:
            runs.append(f"{len(self.changed)} changed since ({_names(self.changed)})")
        if self.added:
            runs.append(f"{len(self.added)} new ({_names(self.added)})")
        parts.append("running " + ", ".join(runs) if runs else "nothing left to run")
        if self.dropped:
            parts.append(
                f"dropped {len(self.dropped)} no longer in the job ({_names(self.dropped)})"
            )
        if self.lost:
            parts.append(f"shared_dict lost {', '.join(repr(k) for k in self.lost)} (not saved)")
        return (
            f"resuming job {self.job!r} from run {self.checkpoint.run_id} (saved {saved}): "
            + "; ".join(parts)
        )


_STATE_WORD = {
    "aborted": "aborted",
    "defaulted": "not run (upstream failed)",
    "running": "interrupted while running",
    "pending": "not started",
    "init": "not started",
    "skipped": "skipped before",
}


def _names(names: tuple[str, ...] | list[str], limit: int = 5) -> str:
    # A task name with a newline or an escape code is shown escaped, never acted on.
    shown = ", ".join(n if n.isprintable() else repr(n)[1:-1] for n in names[:limit])
    return shown + (f", +{len(names) - limit} more" if len(names) > limit else "")


def plan_resume(
    job: str, checkpoint: Checkpoint | None, fingerprints: Mapping[str, str]
) -> ResumePlan:
    """Decide what a resumed run keeps.

    Args:
        job: the job's name.
        checkpoint: what the store had (None: fresh start).
        fingerprints: each task of the job as it is now, name -> fingerprint of its definition
            (``flowmancer_exec.fingerprint``); a task whose fingerprint differs from the
            checkpoint's was changed and runs again (one saved without a fingerprint is kept).
    """
    if checkpoint is None:
        return ResumePlan(job, None)
    completed: list[str] = []
    restarted: list[str] = []
    changed: list[str] = []
    again: dict[str, TaskState] = {}
    added = [name for name in fingerprints if name not in checkpoint.tasks]
    dropped = [name for name in checkpoint.tasks if name not in fingerprints]
    for name, now in fingerprints.items():
        entry = checkpoint.tasks.get(name)
        if entry is None:
            continue
        if entry.state is S.COMPLETED:
            # No fingerprint (a checkpoint from a 0.12-style store): nothing to compare, kept.
            if entry.fingerprint is None or entry.fingerprint == now:
                completed.append(name)
            else:
                changed.append(name)
        elif entry.state is S.FAILED:
            restarted.append(name)
        else:
            again[name] = entry.state
    return ResumePlan(
        job,
        checkpoint,
        tuple(completed),
        tuple(restarted),
        again,
        tuple(changed),
        tuple(added),
        tuple(dropped),
        dict(checkpoint.shared_dict),
        dict(checkpoint.lost),
    )
