"""Saving a run as a base checkpoint plus a journal of what changed since.

Rewriting the whole checkpoint after every task finish costs the runner a file's worth of
rendering and a rename per finish. Instead the first save of a run writes the whole checkpoint
(the *base*, replaced atomically), and each later save appends one line holding only the tasks
and ``shared_dict`` keys that changed. When the journal outgrows the base, or the run ends, the
base is written again and the journal emptied.

Each base carries a random ``generation``; journal lines carry the generation of the base they
follow, so lines left over from before a rewrite are ignored. A line is written with a single
``write`` and ends with a newline: a line without one was cut short by a crash and is dropped,
which leaves the state of the save before it — never a torn state.

*Completion lines* (``"c": <run id>``) are appended where an attempt ran, the moment it
completed, before the runner hears of it (``completion_line``). They belong to a run, not to a
base, and are kept through rewrites of the base within that run; on reading, a task that such a
line says completed is COMPLETED whatever the lines of the runner said of it before or after
(a runner killed before its own save must not make that work be done again).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from flowmancer_dag import TaskState

from ._errors import CorruptCheckpointError
from ._record import (
    Checkpoint,
    Definition,
    RunSnapshotLike,
    TaskEntry,
    encode_entry,
    expect,
    expect_time,
    json_problem,
    lost_name,
    parse_lost,
    parse_shared,
    parse_tasks,
    render,
    task_line,
    task_line_of,
)

__all__ = [
    "Journal",
    "Write",
    "completion_head",
    "completion_line",
    "completion_tail",
    "replay",
    "revocation_line",
]

# The journal is folded into a new base once it is larger than the base and at least this big.
COMPACT_AT = 64 * 1024


@dataclasses.dataclass
class _Session:
    run_id: str
    generation: str = ""
    lines: dict[str, str] = dataclasses.field(default_factory=dict)
    shared: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> its JSON text
    lost: dict[str, str] = dataclasses.field(default_factory=dict)
    results: dict[str, str] = dataclasses.field(default_factory=dict)  # task -> its JSON text
    # Tasks that produced something that could not be saved, with what: once marked, for the
    # rest of the run (a later write over the value does not give back what they produced).
    unrestorable: dict[str, str] = dataclasses.field(default_factory=dict)
    base_size: int = 0
    journal_size: int = 0


@dataclasses.dataclass(frozen=True)
class Write:
    """What a save writes: a whole base (``base=True``) or one journal line; ``lost`` and
    ``unrestorable`` are what this save found could not be saved (to report once)."""

    base: bool
    text: str
    lost: dict[str, str]
    unrestorable: dict[str, str] = dataclasses.field(default_factory=dict)


class Journal:
    """Decides, save by save, whether to write a new base or append a journal line."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}

    def forget(self, job: str) -> None:
        """Start the next save of ``job`` with a whole base."""
        self._sessions.pop(job, None)

    def next_write(
        self,
        snapshot: RunSnapshotLike,
        variables: Mapping[str, str] | None = None,
        definitions: Mapping[str, Definition] | None = None,
        kept: Mapping[str, TaskEntry] | None = None,
    ) -> Write:
        """The write that brings the store from the previous save to ``snapshot``.

        Uses the snapshot's ``changed`` and ``changed_keys`` when it has them; without them
        (or for the first save of a run) the whole state is written as a new base, with
        ``variables`` and ``definitions`` (what the run was started with). ``kept``: entries
        written as they are for tasks the snapshot has SKIPPED (left out of a resumed run, they
        keep what the checkpoint said of them).
        """
        context = (variables or {}, definitions or {})
        kept = kept or {}
        session = self._sessions.get(snapshot.job)
        changed: AbstractSet[str] | None = getattr(snapshot, "changed", None)
        changed_keys: AbstractSet[str] | None = getattr(snapshot, "changed_keys", None)
        if (
            session is None
            or session.run_id != snapshot.run_id
            or changed is None
            or changed_keys is None
            or len(session.lines) != len(snapshot.states)
            or not all(name in session.lines for name in changed)
        ):
            session = _Session(snapshot.run_id)
            self._sessions[snapshot.job] = session
            session.lines = {name: _line(snapshot, name, kept) for name in snapshot.states}
            writers: Mapping[str, str] = getattr(snapshot, "writers", {})
            for key in list(snapshot.shared_dict):
                _encode_key(session, snapshot, key, writers)
            for name in getattr(snapshot, "results", {}):
                _encode_result(session, snapshot, name)
            session.unrestorable.update(getattr(snapshot, "unrestorable", {}))
            return self._base(session, snapshot, context, dict(session.lost))
        lost_before = dict(session.lost)
        marked_before = len(session.unrestorable)
        for name in changed:
            session.lines[name] = _line(snapshot, name, kept)
        deleted = []
        if changed_keys:
            writers = getattr(snapshot, "writers", {})
            for key in changed_keys:
                if not _encode_key(session, snapshot, key, writers) and isinstance(key, str):
                    deleted.append(key)
        results = []
        if session.results or getattr(snapshot, "results", None):
            for name in changed:
                text = _encode_result(session, snapshot, name)
                if text is not None:
                    results.append(json.dumps(name) + ":" + text)
        unrestorable = getattr(snapshot, "unrestorable", None)
        if unrestorable:
            session.unrestorable.update(unrestorable)
        newly_lost = {k: v for k, v in session.lost.items() if k not in lost_before}
        if snapshot.finished or session.journal_size > max(COMPACT_AT, session.base_size):
            return self._base(session, snapshot, context, newly_lost, marked_before)
        tasks = ",".join(session.lines[name] for name in changed)
        shared = ",".join(
            json.dumps(key) + ":" + session.shared[key]
            for key in changed_keys
            if key in session.shared
        )
        # By hand, like task lines: the generation is hex, the flags are literals. Results
        # and marks only when there are any (most runs have none).
        extra = ""
        if results:
            extra += f',"results":{{{",".join(results)}}}'
        if session.unrestorable:
            extra += f',"unrestorable":{json.dumps(session.unrestorable)}'
        line = (
            f'{{"g":"{session.generation}","updated":{time.time()!r},'
            f'"aborted":{"true" if snapshot.aborted else "false"},'
            f'"tasks":{{{tasks}}},"shared":{{{shared}}},'
            f'"deleted":{json.dumps(deleted) if deleted else "[]"},'
            f'"lost":{json.dumps(session.lost) if session.lost else "{}"}{extra}}}\n'
        )
        session.journal_size += len(line)
        marked = _newly(session, marked_before) if session.unrestorable else _NONE
        return Write(False, line, newly_lost, marked)

    def _base(
        self,
        session: _Session,
        snapshot: RunSnapshotLike,
        context: tuple[Mapping[str, str], Mapping[str, Definition]],
        lost: dict[str, str],
        marked_before: int = 0,
    ) -> Write:
        # Sixteen random hex digits; os.urandom rather than uuid, whose import (and platform's)
        # every run with a checkpoint would pay.
        session.generation = os.urandom(8).hex()
        record = Checkpoint(
            snapshot.job,
            snapshot.run_id,
            snapshot.started,
            time.time(),
            {},
            finished=snapshot.finished,
            aborted=snapshot.aborted,
            generation=session.generation,
            variables=context[0],
            definitions=context[1],
        )
        shared = (
            "{"
            + ", ".join(json.dumps(key) + ": " + text for key, text in session.shared.items())
            + "}"
        )
        results = (
            "{"
            + ", ".join(json.dumps(name) + ": " + text for name, text in session.results.items())
            + "}"
        )
        text = render(
            record,
            list(session.lines.values()),
            shared,
            session.lost,
            results,
            session.unrestorable,
        )
        session.base_size = len(text)
        session.journal_size = 0
        return Write(True, text, lost, _newly(session, marked_before))


def _newly(session: _Session, marked_before: int) -> dict[str, str]:
    # Marks are only ever added, in order: the new ones are the last.
    if len(session.unrestorable) == marked_before:
        return _NONE
    return dict(list(session.unrestorable.items())[marked_before:])


_NONE: dict[str, str] = {}  # never changed: what most saves report


def _line(snapshot: RunSnapshotLike, name: str, kept: Mapping[str, TaskEntry]) -> str:
    # Three of these per save on a chain: no TaskEntry made on the way.
    state = snapshot.states[name]
    if kept and state is TaskState.SKIPPED and name in kept:
        return task_line(name, kept[name])
    if state is TaskState.FAILED and name in getattr(snapshot, "ran", ()):
        state = TaskState.COMPLETED  # its run() completed; a hook after it failed the attempt
    return task_line_of(
        name,
        state.value if type(state) is TaskState else TaskState(state).value,
        snapshot.attempts.get(name, 0),
        snapshot.fingerprints.get(name),
        snapshot.reasons.get(name),
    )


def _encode_key(
    session: _Session, snapshot: RunSnapshotLike, key: Any, writers: Mapping[str, str]
) -> bool:
    """Bring ``key`` up to date in the session; False when it is gone (deleted or lost).

    A value that cannot be saved marks the task that wrote it (``writers``) unrestorable.
    """
    if key not in snapshot.shared_dict:
        session.shared.pop(key, None)
        session.lost.pop(lost_name(key), None)
        return False
    text, why = encode_entry(key, snapshot.shared_dict[key])
    if why is None:
        session.shared[key] = text
        session.lost.pop(lost_name(key), None)
        return True
    session.shared.pop(key, None)
    session.lost[lost_name(key)] = why
    writer = writers.get(key)
    if writer is not None and writer not in session.unrestorable:
        session.unrestorable[writer] = f"shared_dict[{key!r}]: {why}"
    return False


def _encode_result(session: _Session, snapshot: RunSnapshotLike, name: str) -> str | None:
    """Bring task ``name``'s result up to date in the session; its JSON text for a journal line
    (``null``: it has none any more), or None when nothing changed."""
    results: Mapping[str, Any] = getattr(snapshot, "results", {})
    if name not in results:
        return "null" if session.results.pop(name, None) is not None else None
    text, why = encode_entry(name, results[name])
    if why is None:
        if session.results.get(name) == text:
            return None
        session.results[name] = text
        return text
    if name not in session.unrestorable:
        session.unrestorable[name] = f"its result: {why}"
    return "null" if session.results.pop(name, None) is not None else None


def completion_line(
    run_id: str,
    task: str,
    entry: TaskEntry,
    updates: Mapping[str, Any],
    deleted: Sequence[str],
    result: Any = None,
) -> str | None:
    """One completion line: ``task`` completed with ``entry``, writing ``updates`` and deleting
    ``deleted`` from ``shared_dict``, and returning ``result`` (None: no result).

    None when a value cannot be saved: such a task cannot be restored (a resume runs it
    again), so its completion must not be recorded early; the runner's own save marks it.
    """
    shared = []
    for key, value in updates.items():
        text, why = encode_entry(key, value)
        if why is not None:
            return None
        shared.append(json.dumps(key) + ":" + text)
    result_text = None
    if result is not None:
        result_text, why = encode_entry(task, result)
        if why is not None:
            return None
    tail = completion_tail(task, entry, ",".join(shared), deleted, result_text)
    return f"{completion_head(run_id)}{time.time()!r}{tail}"


def completion_head(run_id: str) -> str:
    """What a completion line of run ``run_id`` starts with, up to its time."""
    return f'{{"c":{json.dumps(run_id)},"updated":'


def completion_tail(
    task: str,
    entry: TaskEntry,
    shared: str = "",
    deleted: Sequence[str] = (),
    result: str | None = None,
) -> str:
    """What follows the time in a completion line (``shared``: the JSON members of the updated
    ``shared_dict`` keys, comma-separated; ``result``: the task's result as JSON text)."""
    results = "" if result is None else f',"results":{{{json.dumps(task)}:{result}}}'
    return (
        f',"tasks":{{{task_line(task, entry)}}},"shared":{{{shared}}},'
        f'"deleted":{json.dumps(list(deleted)) if deleted else "[]"}{results}}}\n'
    )


def revocation_line(run_id: str, task: str, attempt: int) -> str:
    """Takes back the completion line of ``task``'s attempt ``attempt`` (a hook after ``run()``
    failed)."""
    return (
        f'{{"c":{json.dumps(run_id)},"updated":{time.time()!r},'
        f'"revoked":[{json.dumps(task)},{int(attempt)}]}}\n'
    )


def replay(base: Checkpoint, lines: Sequence[str | bytes], path: str) -> Checkpoint:
    """``base`` with the journal lines that follow it applied, in order.

    A last line without its newline was cut short by a crash and is ignored; lines of another
    generation are left over from before the base was rewritten and are ignored too.

    Raises:
        CorruptCheckpointError: a whole line that is not a valid journal entry.
    """
    tasks = dict(base.tasks)
    shared = dict(base.shared_dict)
    lost = dict(base.lost)
    results = dict(base.results)
    unrestorable = dict(base.unrestorable)
    updated, finished, aborted = base.updated, base.finished, base.aborted
    completions: list[_Completion] = []
    for number, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.endswith("\n"):
            if number == len(lines) and _cut_short(text):
                break  # the save a crash interrupted
            raise CorruptCheckpointError(
                path,
                "not a journal entry (damaged, or not written by Flowmancer)",
                f"line {number}",
            )
        place = f"line {number}"
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            # The column is the position in the line: the reader's own counts its newline as
            # the start of a second line.
            raise CorruptCheckpointError(
                path, f"not valid JSON ({json_problem(error)} at column {error.pos + 1})", place
            ) from None
        except (ValueError, RecursionError) as error:
            raise CorruptCheckpointError(path, f"not a journal entry ({error})", place) from None
        expect(data, dict, place, path, "an object")
        if "c" in data:
            if data["c"] == base.run_id:
                try:
                    completions.append(_parse_completion(data, place, path))
                except (TypeError, ValueError, RecursionError) as error:
                    if isinstance(error, CorruptCheckpointError):
                        raise
                    raise CorruptCheckpointError(
                        path, f"not a journal entry ({error})", place
                    ) from None
            continue
        if data.get("g") != base.generation:
            continue
        try:
            updated, finished, aborted, lost = _apply(data, place, path, tasks, shared, lost)
            _apply_results(data, place, path, results, unrestorable)
        except (TypeError, ValueError, RecursionError) as error:
            if isinstance(error, CorruptCheckpointError):
                raise
            raise CorruptCheckpointError(path, f"not a journal entry ({error})", place) from None
    revoked = {c.revoked for c in completions if c.revoked is not None}
    for c in completions:
        if c.revoked is None:
            _complete(c, tasks, shared, results, revoked)
    return dataclasses.replace(
        base,
        tasks=tasks,
        shared_dict=shared,
        results=results,
        unrestorable=unrestorable,
        lost=lost,
        updated=updated,
        finished=finished,
        aborted=aborted,
    )


@dataclasses.dataclass(frozen=True)
class _Completion:
    """A completion line, checked: the attempt it records, or the attempt it takes back."""

    tasks: dict[str, TaskEntry]
    shared: dict[str, Any]
    deleted: list[str]
    revoked: tuple[str, int] | None = None
    results: dict[str, Any] = dataclasses.field(default_factory=dict)


def _parse_completion(data: dict[str, Any], place: str, path: str) -> _Completion:
    expect_time(data.get("updated"), place + ".updated", path)
    if "revoked" in data:
        pair = expect(data["revoked"], list, place + ".revoked", path, "[task, attempt]")
        if len(pair) != 2 or not isinstance(pair[0], str) or type(pair[1]) is not int:
            raise CorruptCheckpointError(path, "expected [task, attempt]", place + ".revoked")
        return _Completion({}, {}, [], (pair[0], pair[1]))
    tasks = parse_tasks(data.get("tasks", {}), place + ".tasks", path)
    shared = parse_shared(data.get("shared", {}), place + ".shared", path)
    deleted = expect(data.get("deleted", []), list, place + ".deleted", path, "a list")
    for key in deleted:
        expect(key, str, place + ".deleted", path, "a list of keys")
    results = parse_shared(data.get("results", {}), place + ".results", path)
    return _Completion(tasks, shared, deleted, None, results)


def _complete(
    completion: _Completion,
    tasks: dict[str, TaskEntry],
    shared: dict[str, Any],
    results: dict[str, Any],
    revoked: AbstractSet[tuple[str, int]],
) -> None:
    """Apply one completion line, unless the runner's own lines already had its task done or
    the attempt was taken back."""
    if all(
        (name in tasks and tasks[name].state is TaskState.COMPLETED)
        or (name, entry.attempts) in revoked
        for name, entry in completion.tasks.items()
    ):
        return
    tasks.update(completion.tasks)
    shared.update(completion.shared)
    results.update(completion.results)
    for key in completion.deleted:
        shared.pop(key, None)


# Every journal line starts with one of these (the runner's lines, completion lines); a line cut
# short by a crash still does (or is a part of it). A power loss can also leave the unwritten
# tail as zeros.
_LINE_STARTS = ('{"g":"', '{"c":')


def _cut_short(text: str) -> bool:
    """True when ``text`` can be the start of a journal line whose write was interrupted."""
    return any(
        text.startswith(start) or start.startswith(text) for start in _LINE_STARTS
    ) or not text.strip("\0")


def _apply(
    data: dict[str, Any],
    place: str,
    path: str,
    tasks: dict[str, TaskEntry],
    shared: dict[str, Any],
    lost: dict[str, str],
) -> tuple[float, bool, bool, dict[str, str]]:
    """Apply one journal entry to ``tasks`` and ``shared``; its time, flags and lost keys."""
    tasks.update(parse_tasks(data.get("tasks", {}), place + ".tasks", path))
    shared.update(parse_shared(data.get("shared", {}), place + ".shared", path))
    for key in expect(data.get("deleted", []), list, place + ".deleted", path, "a list"):
        expect(key, str, place + ".deleted", path, "a list of keys")
        shared.pop(key, None)
    lost = parse_lost(data.get("lost", {}), place + ".lost", path)
    updated = expect_time(data.get("updated"), place + ".updated", path)
    finished = expect(data.get("finished", False), bool, place, path, "true or false")
    aborted = expect(data.get("aborted", False), bool, place, path, "true or false")
    return updated, finished, aborted, lost


def _apply_results(
    data: dict[str, Any],
    place: str,
    path: str,
    results: dict[str, Any],
    unrestorable: dict[str, str],
) -> None:
    """Apply a journal entry's results (null: the task has none any more) and marks."""
    for name, value in parse_shared(data.get("results", {}), place + ".results", path).items():
        if value is None:
            results.pop(name, None)
        else:
            results[name] = value
    if "unrestorable" in data:  # the whole map, when there is one
        unrestorable.update(parse_lost(data["unrestorable"], place + ".unrestorable", path))
