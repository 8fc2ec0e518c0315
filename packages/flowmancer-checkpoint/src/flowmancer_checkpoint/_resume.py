"""What a resumed run keeps and what it runs again, decided from a checkpoint and the job now.

A task that completed before is kept only when nothing it was built from is different: its
definition (class, the class's code, parameters), everything it produced was saved, and no task
upstream of it runs again (as make and Snakemake do: whatever depends on work that is redone is
redone too). Everything else runs. A task left out by the user (``--skip``) is kept as it was,
whatever changed: that is how to keep one anyway.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from flowmancer_dag import Graph, TaskState

from ._record import Checkpoint, Definition

__all__ = ["ResumePlan", "plan_resume"]

S = TaskState


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """How to resume a job from its checkpoint (or that there is nothing to resume).

    Hand ``completed``, ``restarted``, ``shared_dict`` and ``results`` to the runner. Every
    task of the job that is not in ``completed`` runs (unless the caller leaves it out).

    Attributes:
        job: the job's name; ``checkpoint``: what was read (None: a fresh start).
        completed: COMPLETED before and unchanged since: not run again.
        restarted: FAILED before: run again, their first attempt calls ``on_restart``.
        again: every other task of the old run that runs again (ABORTED, DEFAULTED, RUNNING,
            PENDING, INIT, SKIPPED), with the state it had.
        changed: COMPLETED before, but their class, its code or their parameters changed: run
            again; ``changes`` says what changed, task by task.
        added: in the job now, not in the checkpoint: run.
        dropped: in the checkpoint, no longer in the job: forgotten.
        shared_dict: the values to start from; ``lost``: keys that could not be saved, and why.
        downstream: COMPLETED before, unchanged, but a task upstream of them runs again: run
            again, with the upstream task named.
        unrestorable: COMPLETED before, but something they wrote or returned could not be
            saved: run again, with what.
        kept: tasks left out by the caller (``--skip``) that are kept COMPLETED although they
            would have run again, with why they would have.
        why: for every task that runs, why, in words (``upstream produce runs again``).
        results: the results of the tasks kept, to hand to the runner.
        variables: the ``--var`` values the run being resumed was started with.
        finally_again: ``finally`` tasks COMPLETED before that run again, because this resume
            runs other tasks (cleanup follows the work it cleans up after).
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
    downstream: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unrestorable: Mapping[str, str] = dataclasses.field(default_factory=dict)
    kept: Mapping[str, str] = dataclasses.field(default_factory=dict)
    changes: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    why: Mapping[str, str] = dataclasses.field(default_factory=dict)
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    finally_again: tuple[str, ...] = ()

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
        if self.finally_again:
            again = self.finally_again
            runs.append(f"{len(again)} finally again ({_names(again)})")
        if self.unrestorable:
            runs.append(f"{len(self.unrestorable)} not restorable ({_names(self.unrestorable)})")
        if self.downstream:
            runs.append(
                f"{len(self.downstream)} downstream of a task that runs again "
                f"({_names(self.downstream)})"
            )
        if self.added:
            runs.append(f"{len(self.added)} new ({_names(self.added)})")
        parts.append("running " + ", ".join(runs) if runs else "nothing left to run")
        if self.kept:
            parts.append(f"kept by --skip although not up to date: {_names(self.kept)}")
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


def _names(names: Iterable[str], limit: int = 5) -> str:
    # A task name with a newline or an escape code is shown escaped, never acted on.
    listed = list(names)
    shown = ", ".join(n if n.isprintable() else repr(n)[1:-1] for n in listed[:limit])
    return shown + (f", +{len(listed) - limit} more" if len(listed) > limit else "")


def plan_resume(
    job: str,
    checkpoint: Checkpoint | None,
    fingerprints: Mapping[str, str],
    *,
    graph: Graph[str] | None = None,
    definitions: Mapping[str, Definition] | None = None,
    finally_tasks: Iterable[str] = (),
    left_out: Iterable[str] = (),
    keep: Iterable[str] = (),
) -> ResumePlan:
    """Decide what a resumed run keeps.

    Args:
        job: the job's name.
        checkpoint: what the store had (None: fresh start).
        fingerprints: each task of the job as it is now, name -> fingerprint of its definition
            (``flowmancer_exec.fingerprint``); a task whose fingerprint differs from the
            checkpoint's was changed and runs again (one saved without a fingerprint is kept).
        graph: the job's graph (``Runner.prepared.graph``): with it, every task downstream of
            one that runs again runs again too. Without it each task is judged on its own.
        definitions: each task's ``Definition`` now, to say what changed (a parameter, with
            its old and new value, or the class's code) where the checkpoint has them too.
        finally_tasks: the tasks with trigger rule ``finally``: when any other task runs in
            the resumed run, they run again even if they completed before.
        left_out: tasks that will not run this time (``--skip``, ``--run-from``,
            ``--run-to``): never the reason something downstream runs again. One that
            completed before is kept if it is up to date; otherwise it is not (so a later
            resume runs it).
        keep: tasks among ``left_out`` the user named (``--skip``): kept COMPLETED if they
            completed before, even when they would have run again (see ``kept``).
    """
    if checkpoint is None:
        return ResumePlan(job, None)
    outside = set(left_out) | set(keep)
    keeping = set(keep)
    before = checkpoint.definitions
    now = definitions or {}
    completed: list[str] = []
    restarted: list[str] = []
    changed: list[str] = []
    changes: dict[str, tuple[str, ...]] = {}
    again: dict[str, TaskState] = {}
    downstream: dict[str, str] = {}
    unrestorable: dict[str, str] = {}
    kept: dict[str, str] = {}
    why: dict[str, str] = {}
    runs: set[str] = set()
    added = [name for name in fingerprints if name not in checkpoint.tasks]
    dropped = [name for name in checkpoint.tasks if name not in fingerprints]
    order = [n for n in graph.order() if n in fingerprints] if graph is not None else []
    order += [n for n in fingerprints if graph is None or n not in graph]
    for name in order:
        entry = checkpoint.tasks.get(name)
        if entry is not None and entry.state is S.COMPLETED:
            edits = _stale(name, entry.fingerprint, fingerprints[name], before, now)
            lost = checkpoint.unrestorable.get(name)
            upstream = _running_upstream(graph, name, runs)
            if edits is not None:
                why_not = "; ".join(edits)
            elif lost is not None:
                why_not = f"not restorable: {lost}"
            elif upstream is not None:
                why_not = f"upstream {upstream} runs again"
            else:
                completed.append(name)
                continue
            if name in keeping:
                completed.append(name)
                kept[name] = why_not
            elif name not in outside:
                runs.add(name)
                why[name] = why_not
                if edits is not None:
                    changed.append(name)
                    changes[name] = edits
                elif lost is not None:
                    unrestorable[name] = lost
                elif upstream is not None:
                    downstream[name] = upstream
            # Left out by --run-from/--run-to and not up to date: neither kept nor run (it is
            # SKIPPED, so a later resume runs it).
            continue
        if name in outside:
            continue
        runs.add(name)
        if entry is None:
            why[name] = "new since the checkpoint"
        elif entry.state is S.FAILED:
            restarted.append(name)
            why[name] = "failed" + (f" ({_short(entry.reason)})" if entry.reason else "")
        else:
            again[name] = entry.state
            word = _STATE_WORD.get(entry.state.value.lower(), entry.state.value.lower())
            why[name] = word + (f" ({_short(entry.reason)})" if entry.reason else "")
    kept_names = set(completed)
    finals = set(finally_tasks)
    finally_again: list[str] = []
    if finals:
        up_to_date = set(completed)
        if any(n not in finals and n not in up_to_date and n not in outside for n in fingerprints):
            # Cleanup follows the work it cleans up after: it runs again when anything runs.
            finally_again = [n for n in completed if n in finals and n not in outside]
            completed = [n for n in completed if n not in finally_again]
            for n in finally_again:
                why[n] = "finally, again after what this resume runs"
    kept_names = set(completed)
    return ResumePlan(
        job,
        checkpoint,
        tuple(n for n in fingerprints if n in kept_names),  # in the job's order
        tuple(restarted),
        again,
        tuple(changed),
        tuple(n for n in added if n not in outside),
        tuple(dropped),
        dict(checkpoint.shared_dict),
        dict(checkpoint.lost),
        downstream,
        unrestorable,
        kept,
        changes,
        why,
        {n: v for n, v in checkpoint.results.items() if n in kept_names},
        dict(checkpoint.variables),
        finally_again=tuple(finally_again),
    )


def _stale(
    name: str,
    then: str | None,
    now: str,
    before: Mapping[str, Definition],
    after: Mapping[str, Definition],
) -> tuple[str, ...] | None:
    """What changed in a completed task's definition (None: nothing)."""
    # No fingerprint (a checkpoint from a 0.12-style store): nothing to compare, kept.
    if then is None or then == now:
        return None
    old, new = before.get(name), after.get(name)
    unknown = ("changed since (class, code or parameters)",)
    if old is None or new is None:
        return unknown
    said: list[str] = []
    if old.task_class != new.task_class:
        said.append(f"class changed: {old.task_class} -> {new.task_class}")
    elif old.code != new.code and old.code is not None and new.code is not None:
        said.append(f"code of {new.task_class} changed")
    for key in [*old.parameters, *(k for k in new.parameters if k not in old.parameters)]:
        was, is_ = old.parameters.get(key), new.parameters.get(key)
        if was is None and is_ is not None:
            said.append(f"parameter {key} added: {is_[1]}")
        elif is_ is None and was is not None:
            said.append(f"parameter {key} removed (was {was[1]})")
        elif was is not None and is_ is not None and was[0] != is_[0]:
            said.append(f"parameter {key} changed: {was[1]} -> {is_[1]}")
    return tuple(said) or unknown


def _running_upstream(graph: Graph[str] | None, name: str, runs: set[str]) -> str | None:
    if graph is None or name not in graph:
        return None
    return next((d for d in graph.dependencies(name) if d in runs), None)


def _short(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[-1] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 3] + "..."
