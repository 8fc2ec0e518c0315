"""The ``Checkpoint`` record and its JSON form.

The JSON form is what both stores keep: a file holds it as is, SQLite holds it in a column.
Reading checks every field's type and names the place of the first that is wrong, so a
checkpoint edited by hand or damaged on disk gives one clear message instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from flowmancer_dag import TaskState

from ._errors import CheckpointError, CorruptCheckpointError, NewerCheckpointError
from ._tagged import UnencodableError, decode, encode

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "Definition",
    "RunSnapshotLike",
    "TaskEntry",
]

FORMAT = "flowmancer-checkpoint"
FORMAT_VERSION = 1


class RunSnapshotLike(Protocol):
    """What a store is given to save: ``flowmancer_exec.RunSnapshot`` satisfies it."""

    @property
    def job(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def states(self) -> Mapping[str, TaskState]: ...
    @property
    def attempts(self) -> Mapping[str, int]: ...
    @property
    def reasons(self) -> Mapping[str, str]: ...
    @property
    def shared_dict(self) -> Mapping[str, Any]: ...
    @property
    def finished(self) -> bool: ...
    @property
    def fingerprints(self) -> Mapping[str, str]: ...
    @property
    def aborted(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class TaskEntry:
    """One task as a checkpoint remembers it."""

    state: TaskState
    attempts: int = 0
    fingerprint: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Definition:
    """How a task was defined in the run that wrote a checkpoint, in enough detail to say what
    changed since: its class, a digest of the class's code, and for each parameter a digest of
    its value and the value as it may be shown (``***`` for a secret; never the secret itself).
    """

    task_class: str
    code: str | None = None
    parameters: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "class": self.task_class,
            "code": self.code,
            "parameters": {k: list(v) for k, v in self.parameters.items()},
        }


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Everything a resumed run needs from the run before it.

    Attributes:
        job: the job's name (one checkpoint per job).
        run_id: the run that wrote it.
        started: when that run started (seconds since the epoch); ``updated``: when saved.
        tasks: each task's state, attempts, definition fingerprint and reason.
        shared_dict: the values tasks shared, as they were when saved.
        lost: ``shared_dict`` keys that could not be saved, with why (their type).
        finished: the run had ended when this was saved; ``aborted``: it ended by abort.
        version: the format version it was written in.
        results: what tasks' ``run()`` returned, by task (those that returned None: none).
        unrestorable: tasks that wrote or returned something that could not be saved (or did
            not reach the runner), with what: a resume runs them again.
        variables: the ``--var`` values the run was started with (a resume reuses them).
        definitions: how each task was defined (see ``Definition``); empty in checkpoints of
            runs that did not say (a Runner used without the driver, earlier versions).
    """

    job: str
    run_id: str
    started: float
    updated: float
    tasks: Mapping[str, TaskEntry]
    shared_dict: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    lost: Mapping[str, str] = dataclasses.field(default_factory=dict)
    finished: bool = False
    aborted: bool = False
    version: int = FORMAT_VERSION
    generation: str = ""
    results: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    unrestorable: Mapping[str, str] = dataclasses.field(default_factory=dict)
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    definitions: Mapping[str, Definition] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: RunSnapshotLike) -> Checkpoint:
        """The checkpoint for a runner's snapshot; values that have no JSON form go to ``lost``
        (and their writers to ``unrestorable``)."""
        tasks = {
            name: TaskEntry(
                TaskState(state),
                snapshot.attempts.get(name, 0),
                snapshot.fingerprints.get(name),
                snapshot.reasons.get(name),
            )
            for name, state in snapshot.states.items()
        }
        _, lost = encode_shared(snapshot.shared_dict)
        results: Mapping[str, Any] = getattr(snapshot, "results", {})
        writers: Mapping[str, str] = getattr(snapshot, "writers", {})
        unrestorable = dict(getattr(snapshot, "unrestorable", {}))
        unrestorable.update(unrestorable_of(snapshot.shared_dict, lost, writers))
        kept_results = {}
        for task, value in results.items():
            _, why = encode_entry(task, value)
            if why is None:
                kept_results[task] = value
            else:
                unrestorable.setdefault(task, f"its result: {why}")
        return cls(
            snapshot.job,
            snapshot.run_id,
            snapshot.started,
            time.time(),
            tasks,
            {k: v for k, v in snapshot.shared_dict.items() if lost_name(k) not in lost},
            lost,
            snapshot.finished,
            snapshot.aborted,
            results=kept_results,
            unrestorable=unrestorable,
        )

    @property
    def ok(self) -> bool:
        """Every task COMPLETED or SKIPPED."""
        return all(t.state.satisfies_dependents for t in self.tasks.values())

    def to_json(self) -> str:
        """The JSON text stores keep (one line per task, so a diff of two is readable)."""
        shared, lost = encode_shared(self.shared_dict)
        shared_json = json.dumps(shared, allow_nan=False)
        results, lost_results = encode_shared(self.results)
        unrestorable = dict(self.unrestorable)
        for task, why in lost_results.items():
            unrestorable.setdefault(task, f"its result: {why}")
        return render(
            self,
            _task_lines(self.tasks),
            shared_json,
            {**self.lost, **lost},
            json.dumps(results, allow_nan=False),
            unrestorable,
        )

    @classmethod
    def from_json(cls, text: str | bytes, path: str = "<checkpoint>") -> Checkpoint:
        """Read a checkpoint, checking every field.

        Raises:
            CorruptCheckpointError: not JSON, not a checkpoint, or a field of the wrong type.
            NewerCheckpointError: written in a format newer than this version reads.
        """
        try:
            data = json.loads(text)
        except RecursionError:
            raise CorruptCheckpointError(path, "nested too deeply to be a checkpoint") from None
        except UnicodeDecodeError as error:
            raise CorruptCheckpointError(path, f"not UTF-8 text ({error.reason})") from None
        except json.JSONDecodeError as error:
            detail = (
                "empty"
                if not text.strip()
                else f"not valid JSON at line {error.lineno} column {error.colno} "
                f"({json_problem(error)}; truncated or damaged?)"
            )
            raise CorruptCheckpointError(path, detail) from None
        except ValueError as error:  # e.g. a number too long to read
            raise CorruptCheckpointError(path, f"not a readable checkpoint ({error})") from None
        try:
            return _parse(data, path)
        except (TypeError, ValueError, RecursionError) as error:
            if isinstance(error, CheckpointError):
                raise
            raise CorruptCheckpointError(path, f"not a readable checkpoint ({error})") from None


def encode_shared(shared: Mapping[Any, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``shared_dict`` as JSON data, and the keys left out because they have no JSON form."""
    out: dict[str, Any] = {}
    lost: dict[str, str] = {}
    for key, value in shared.items():
        text, why = encode_entry(key, value)
        if why is None:
            out[key] = json.loads(text)
        else:
            lost[lost_name(key)] = why
    return out, lost


def lost_name(key: Any) -> str:
    """How a ``shared_dict`` key left out of a checkpoint is named: a text key as it is, any
    other by its repr and type (the key ``1`` must not be taken for the key ``"1"``)."""
    return key if isinstance(key, str) else f"{key!r} ({type(key).__name__})"


def unrestorable_of(
    shared: Mapping[Any, Any], lost: Mapping[str, str], writers: Mapping[Any, str]
) -> dict[str, str]:
    """The tasks that wrote (as ``writers`` names them) the keys of ``shared`` that are
    ``lost``, with what was lost."""
    out: dict[str, str] = {}
    for key in shared:
        why = lost.get(lost_name(key))
        task = writers.get(key) if why is not None else None
        if task is not None and task not in out:
            out[task] = f"shared_dict[{key!r}]: {why}"
    return out


def encode_entry(key: Any, value: Any) -> tuple[str, str | None]:
    """One ``shared_dict`` entry's value as JSON text, or why it cannot be saved."""
    if not isinstance(key, str):
        return "", f"its key is of type {type(key).__name__}; checkpoints keep only text keys"
    try:
        return json.dumps(encode(value), allow_nan=False), None
    except UnencodableError as error:
        return "", str(error)
    except RecursionError:
        return "", "nested too deeply (or contains itself)"
    except (ValueError, TypeError, OverflowError) as error:  # e.g. an int of 5,000 digits
        return "", f"{type(value).__name__} cannot be saved as JSON: {error}"


def task_line(name: str, entry: TaskEntry) -> str:
    """One task's line of the JSON text: ``"name": {"state": ..., "attempts": ..., ...}``."""
    return task_line_of(name, entry.state.value, entry.attempts, entry.fingerprint, entry.reason)


def task_line_of(
    name: str, state: str, attempts: int, fingerprint: str | None, reason: str | None
) -> str:
    """``task_line`` from the entry's parts (``state``: a ``TaskState`` value)."""
    # Formatted by hand: this runs for every task finish, and json.dumps of a dict costs
    # several times more. Only the name, fingerprint and reason can need escaping.
    return (
        f'{_text(name)}: {{"state": "{state}", "attempts": {int(attempts)}, '
        f'"fingerprint": {_text(fingerprint)}, "reason": {_text(reason)}}}'
    )


# What json.dumps does for a str, without its Python-level dispatch (same text: ASCII, escaped).
_quote = json.encoder.encode_basestring_ascii


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _task_lines(tasks: Mapping[str, TaskEntry]) -> Iterator[str]:
    for name, entry in tasks.items():
        yield task_line(name, entry)


def render(
    record: Checkpoint,
    task_lines: Iterator[str] | list[str],
    shared_json: str,
    lost: Mapping[str, str],
    results_json: str = "{}",
    unrestorable: Mapping[str, str] | None = None,
) -> str:
    """The JSON text of ``record`` from its task lines, ``shared_dict`` and results already
    rendered (``record``'s own are not looked at)."""
    head = {
        "format": FORMAT,
        "version": record.version,
        "job": record.job,
        "run_id": record.run_id,
        "started": record.started,
        "updated": record.updated,
        "finished": record.finished,
        "aborted": record.aborted,
        "generation": record.generation,
    }
    # Written only when there is something to say: a checkpoint without them reads the same.
    if record.variables:
        head["variables"] = dict(record.variables)
    if record.definitions:
        head["definitions"] = {n: d.to_data() for n, d in record.definitions.items()}
    parts = [json.dumps(head)[:-1], ',\n"tasks": {\n  ', ",\n  ".join(task_lines), "\n},\n"]
    parts.append('"shared_dict": ' + shared_json + ",\n")
    if results_json != "{}":
        parts.append('"results": ' + results_json + ",\n")
    if unrestorable:
        parts.append('"unrestorable": ' + json.dumps(dict(unrestorable)) + ",\n")
    parts.append('"lost": ' + json.dumps(dict(lost)) + "\n}\n")
    return "".join(parts)


# -- reading ------------------------------------------------------------------------------------

_STATES = ", ".join(s.value for s in TaskState)
_NEWEST_PLAUSIBLE = 10_000


def expect(value: Any, kind: type | tuple[type, ...], place: str, path: str, what: str) -> Any:
    """``value`` when it is of ``kind``; otherwise a ``CorruptCheckpointError`` at ``place``."""
    # bool is an int in Python but not a number in a checkpoint
    if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _as_tuple(kind)):
        return value
    raise CorruptCheckpointError(path, f"expected {what}, got {json.dumps(value)[:60]}", place)


def json_problem(error: json.JSONDecodeError) -> str:
    """What the JSON reader found wrong, without its dangling "... at" (we say where)."""
    return error.msg.removesuffix(" at").removesuffix(" starting").lower()


def expect_time(value: Any, place: str, path: str) -> float:
    """A moment in seconds since the epoch that a date can be made of (not NaN, not 1e300)."""
    seconds = float(expect(value, (int, float), place, path, "a number"))
    try:
        datetime.datetime.fromtimestamp(seconds)
    except (ValueError, OverflowError, OSError):
        raise CorruptCheckpointError(
            path, f"expected a time in seconds, got {json.dumps(value)[:60]}", place
        ) from None
    return seconds


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _parse(data: Any, path: str) -> Checkpoint:
    expect(data, dict, "(top level)", path, "an object")
    if data.get("format") != FORMAT:
        raise CorruptCheckpointError(path, f'not a Flowmancer checkpoint (no "format": "{FORMAT}")')
    version = expect(data.get("version"), int, "version", path, "an integer")
    if version > _NEWEST_PLAUSIBLE:  # damage, not a Flowmancer from the far future
        raise CorruptCheckpointError(path, f"unknown format version {str(version)[:20]}", "version")
    if version > FORMAT_VERSION:
        raise NewerCheckpointError(path, version, FORMAT_VERSION)
    if version < 1:
        raise CorruptCheckpointError(path, f"unknown format version {version}", "version")
    job = expect(data.get("job"), str, "job", path, "a string")
    run_id = expect(data.get("run_id"), str, "run_id", path, "a string")
    started = expect_time(data.get("started"), "started", path)
    updated = expect_time(data.get("updated"), "updated", path)
    finished = expect(data.get("finished", False), bool, "finished", path, "true or false")
    aborted = expect(data.get("aborted", False), bool, "aborted", path, "true or false")
    tasks = parse_tasks(data.get("tasks"), "tasks", path)
    shared = parse_shared(data.get("shared_dict", {}), "shared_dict", path)
    lost = parse_lost(data.get("lost", {}), "lost", path)
    generation = expect(data.get("generation", ""), str, "generation", path, "a string")
    # Added in 0.13 while its format stayed 1: absent in checkpoints written before them.
    results = parse_shared(data.get("results", {}), "results", path)
    unrestorable = parse_lost(data.get("unrestorable", {}), "unrestorable", path)
    variables = parse_lost(data.get("variables", {}), "variables", path)
    definitions = parse_definitions(data.get("definitions", {}), "definitions", path)
    return Checkpoint(
        job,
        run_id,
        started,
        updated,
        tasks,
        shared,
        lost,
        finished,
        aborted,
        version,
        generation,
        results,
        unrestorable,
        variables,
        definitions,
    )


def parse_tasks(raw_tasks: Any, where: str, path: str) -> dict[str, TaskEntry]:
    """Task entries as written by ``task_line``, each checked."""
    expect(raw_tasks, dict, where, path, "an object")
    tasks: dict[str, TaskEntry] = {}
    for name, raw in raw_tasks.items():
        place = f"{where}.{name}"
        expect(raw, dict, place, path, "an object")
        state = raw.get("state")
        if state not in TaskState.__members__:
            raise CorruptCheckpointError(
                path, f"expected one of {_STATES}, got {json.dumps(state)[:60]}", place + ".state"
            )
        attempts = expect(raw.get("attempts", 0), int, place + ".attempts", path, "an integer")
        if attempts < 0:
            raise CorruptCheckpointError(
                path, f"expected 0 or more attempts, got {attempts}", place + ".attempts"
            )
        fp = expect(
            raw.get("fingerprint"), (str, type(None)), place + ".fingerprint", path, "a string"
        )
        reason = expect(raw.get("reason"), (str, type(None)), place + ".reason", path, "a string")
        tasks[name] = TaskEntry(TaskState(state), attempts, fp, reason)
    return tasks


def parse_shared(raw_shared: Any, where: str, path: str) -> dict[str, Any]:
    """``shared_dict`` values from tagged JSON, each checked."""
    expect(raw_shared, dict, where, path, "an object")
    shared: dict[str, Any] = {}
    for key, value in raw_shared.items():
        try:
            shared[key] = decode(value)
        except (ValueError, TypeError, RecursionError) as error:
            raise CorruptCheckpointError(path, str(error), f"{where}.{key}") from None
    return shared


def parse_lost(lost: Any, where: str, path: str) -> dict[str, str]:
    """A map of text to text (``lost``: key -> why it was not saved; ``variables``; ...)."""
    expect(lost, dict, where, path, "an object")
    for key, why in lost.items():
        expect(why, str, f"{where}.{key}", path, "a string")
    return dict(lost)


def parse_definitions(raw: Any, where: str, path: str) -> dict[str, Definition]:
    """The ``definitions`` map, each entry checked."""
    expect(raw, dict, where, path, "an object")
    out: dict[str, Definition] = {}
    for name, entry in raw.items():
        place = f"{where}.{name}"
        expect(entry, dict, place, path, "an object")
        task_class = expect(entry.get("class"), str, place + ".class", path, "a string")
        code = expect(entry.get("code"), (str, type(None)), place + ".code", path, "a string")
        raw_parameters = expect(
            entry.get("parameters", {}), dict, place + ".parameters", path, "an object"
        )
        parameters: dict[str, tuple[str, str]] = {}
        for key, pair in raw_parameters.items():
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise CorruptCheckpointError(
                    path,
                    f"expected [digest, shown value], got {json.dumps(pair)[:60]}",
                    f"{place}.parameters.{key}",
                )
            parameters[key] = (pair[0], pair[1])
        out[name] = Definition(task_class, code, parameters)
    return out
