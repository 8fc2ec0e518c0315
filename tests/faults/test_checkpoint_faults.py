"""Damaged checkpoints, resumed through the real driver (`python main.py -j job.yaml -r`).

Each case damages a copy of a real checkpoint and must end in one of two ways, stated per case:
- refused: exit 99, one error line naming the damaged file and what is wrong and saying how to
  go on (`--fresh`), no traceback, no task run, and the checkpoint folder byte for byte as it was
  (the user may want to inspect or repair it);
- a clean resume: exit 0, and exactly the tasks the damaged checkpoint does not record as
  completed are run (the marker file `ran.txt` says which ran).
A checkpoint that cannot be trusted is refused: resuming from a guess could skip a task that never
completed or repeat one that did. Only what a crash itself leaves (a journal line cut short, a
journal cut at a line's end) is resumed from, as the state of the last whole save.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checkpoint_faults_support import (
    TASKS,
    Case,
    build_failed,
    build_killed,
    db_path,
    driver,
    journal_path,
    json_path,
    judge,
    kept_files,
    problems_of_refusal,
    ran,
    saved_completed,
)

JSON = ".flowmancer/damaged.json"
JOURNAL = ".flowmancer/damaged.journal"
DB = ".flowmancer/checkpoint.db"


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose run failed at t5 (file checkpoint: whole file, empty journal)."""
    folder = tmp_path_factory.mktemp("failed")
    build_failed(folder)
    return folder


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose driver was killed during t5 (file checkpoint: journal lines after it)."""
    folder = tmp_path_factory.mktemp("killed")
    build_killed(folder)
    return folder


@pytest.fixture(scope="module")
def failed_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose run failed at t5, checkpointed in SQLite."""
    folder = tmp_path_factory.mktemp("failed-sqlite")
    build_failed(folder, "sqlite")
    return folder


def cut(path: Callable[[Path], Path], fraction: float) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = path(folder).read_bytes()
        path(folder).write_bytes(data[: int(len(data) * fraction)])

    return damage


def noise(path: Callable[[Path], Path], seed: int) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        size = max(path(folder).stat().st_size, 64)
        path(folder).write_bytes(random.Random(seed).randbytes(size))

    return damage


def edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """Rewrite the whole checkpoint file as `change` makes it (its return value, when not None)."""

    def damage(folder: Path) -> None:
        data = json.loads(json_path(folder).read_bytes())
        new = change(data)
        json_path(folder).write_text(json.dumps(data if new is None else new))

    return damage


def put(where: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Set the field at a dotted place (`tasks.t3.state`) to `value`."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = where.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return change


def fractions(soak: bool) -> list[float]:
    steps = 100 if soak else 20
    return [k / steps for k in range(steps)]


def test_a_cut_checkpoint_file_is_refused_at_every_length(
    failed: Path, tmp_path: Path, soak: bool
) -> None:
    why = "the whole file is replaced atomically, so a cut one is damage, never a crash"
    cases = [
        Case(
            f"cut at {f:.0%}", cut(json_path, f), "empty" if f == 0 else "not valid JSON", JSON, why
        )
        for f in fractions(soak)
    ]
    judge(failed, tmp_path, cases, saved_completed)


def test_a_journal_cut_at_any_length_resumes_from_its_whole_lines(
    killed: Path, tmp_path: Path, soak: bool
) -> None:
    why = "a crash during an append leaves exactly this: its last line is ignored"
    cases = [
        Case(f"cut at {f:.0%}", cut(journal_path, f), None, JOURNAL, why) for f in fractions(soak)
    ]
    judge(killed, tmp_path, cases, saved_completed)


def test_random_bytes_and_empty_files_are_refused(
    failed: Path, killed: Path, tmp_path: Path, soak: bool
) -> None:
    seeds = range(20 if soak else 1)
    refused = "not a checkpoint a run or a crash leaves: resuming from it would be a guess"
    # Random bytes are UTF-8 text only by a chance too rare to meet.
    json_cases = [
        Case(f"random json {seed}", noise(json_path, seed), "not UTF-8 text", JSON, refused)
        for seed in seeds
    ]
    json_cases.append(Case("empty json", cut(json_path, 0), "empty", JSON, refused))
    judge(failed, tmp_path / "json", json_cases, saved_completed)
    journal_cases = [
        Case(f"random journal {seed}", noise(journal_path, seed), "line 1", JOURNAL, refused)
        for seed in seeds
    ]
    journal_cases.append(
        Case(
            "empty journal",
            cut(journal_path, 0),
            None,
            JOURNAL,
            "a journal emptied by a rewrite, or cut before its first line: the whole file holds",
        )
    )
    judge(killed, tmp_path / "journal", journal_cases, saved_completed)


WRONG_TYPES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("the top level is a list", lambda d: [d], "(top level): expected an object"),
    ("tasks is a list", put("tasks", []), "tasks: expected an object"),
    ("a task is a string", put("tasks.t2", "COMPLETED"), "tasks.t2: expected an object"),
    ("a state that is not a state name", put("tasks.t3.state", "DONE"), "tasks.t3.state"),
    ("a state that is a number", put("tasks.t3.state", 3), "tasks.t3.state"),
    ("attempts a string", put("tasks.t1.attempts", "1"), "tasks.t1.attempts"),
    ("attempts below zero", put("tasks.t1.attempts", -1), "tasks.t1.attempts"),
    ("a fingerprint that is a number", put("tasks.t4.fingerprint", 7), "tasks.t4.fingerprint"),
    ("a reason that is a list", put("tasks.t5.reason", ["x"]), "tasks.t5.reason"),
    ("shared_dict not a mapping", put("shared_dict", [1, 2]), "shared_dict: expected an object"),
    ("a shared value badly tagged", put("shared_dict.t1", {"$datetime": "soon"}), "shared_dict.t1"),
    ("lost not a mapping", put("lost", ["t1"]), "lost: expected an object"),
    ("no format mark", lambda d: d.pop("format") and None, "not a Flowmancer checkpoint"),
    ("version a string", put("version", "1"), "version: expected an integer"),
    ("version absurd", put("version", 10**40), "version: unknown format version"),
    ("started not a time", put("started", float("nan")), "started: expected a time in seconds"),
    ("updated past any date", put("updated", 1e300), "updated: expected a time in seconds"),
    ("finished a string", put("finished", "yes"), "finished: expected true or false"),
    ("generation a number", put("generation", 5), "generation: expected a string"),
    ("a newer format version", put("version", 2), "format 2 was written by a newer Flowmancer"),
    ("another job's checkpoint", put("job", "nightly"), "of job 'nightly', not of job 'damaged'"),
]


# One per level, and those an issue names; soak runs them all.
QUICK_TYPES = {
    "the top level is a list",
    "tasks is a list",
    "a state that is not a state name",
    "attempts a string",
    "shared_dict not a mapping",
    "lost not a mapping",
    "started not a time",
    "a newer format version",
    "another job's checkpoint",
}


def test_wrong_types_at_every_level_are_refused_naming_the_place(
    failed: Path, tmp_path: Path, soak: bool
) -> None:
    why = "a field of the wrong type or another job's record cannot be resumed from safely"
    chosen = [case for case in WRONG_TYPES if soak or case[0] in QUICK_TYPES]
    cases = [Case(name, edit(change), says, JSON, why) for name, change, says in chosen]
    judge(failed, tmp_path, cases, saved_completed)


def _journal_line(number: int, change: Callable[[str], str]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        lines = journal_path(folder).read_text().splitlines(keepends=True)
        lines[number - 1] = change(lines[number - 1])
        journal_path(folder).write_text("".join(lines))

    return damage


def test_damaged_journal_lines_are_refused_naming_the_line(
    killed: Path, tmp_path: Path, soak: bool
) -> None:
    why = "a whole line that is not a journal entry is damage: its save cannot be known"
    stale = "a line of an older generation is left from before a rewrite: ignored by design"
    cases = [
        Case(
            "line 1 a list",
            _journal_line(1, lambda _: "[]\n"),
            "line 1: expected an object",
            JOURNAL,
            why,
        ),
        Case(
            "line 2 not JSON",
            _journal_line(2, lambda _: "{oops\n"),
            "line 2: not valid JSON",
            JOURNAL,
            why,
        ),
        Case("an empty line", _journal_line(2, lambda line: "\n" + line), "line 2", JOURNAL, why),
        Case(
            "tasks a list",
            _journal_line(
                1,
                lambda line: line.replace('"tasks":{', '"tasks":[{', 1).replace(
                    '},"shared"', '}],"shared"', 1
                ),
            ),
            "line 1.tasks: expected an object",
            JOURNAL,
            why,
        ),
        Case(
            "a state not a state name",
            _journal_line(1, lambda line: line.replace("COMPLETED", "DONE")),
            "line 1.tasks.t1.state",
            JOURNAL,
            why,
        ),
        Case(
            "updated a string",
            _journal_line(1, lambda line: line.replace('"updated":', '"updated":"soon","was":', 1)),
            "line 1.updated",
            JOURNAL,
            why,
        ),
        Case(
            "a stale generation",
            _journal_line(1, lambda line: line.replace('"g":"', '"g":"0', 1)),
            None,
            JOURNAL,
            stale,
        ),
    ]
    judge(killed, tmp_path, cases if soak else cases[1::2] + cases[-1:], saved_completed)


def test_a_refused_checkpoint_is_left_behind_by_fresh(failed: Path, tmp_path: Path) -> None:
    """The way out the message names works: `-r --fresh` starts over and runs everything."""
    folder = tmp_path / "project"
    shutil.copytree(failed, folder)
    cut(json_path, 0.5)(folder)
    result = driver(folder, "-r", "--fresh")
    assert result.returncode == 0, result.stderr
    assert ran(folder) == TASKS


# -- SQLite ------------------------------------------------------------------------------------


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        db = sqlite3.connect(db_path(folder))
        try:
            db.execute(statement)
            db.commit()
        finally:
            db.close()

    return damage


def _sqlite_completed(folder: Path) -> set[str]:
    # What the run that failed at t5 completed: a clean resume of a damaged database that
    # still reads must have lost none of it.
    return set(TASKS[:4])


def test_damaged_sqlite_databases_are_refused(
    failed_sqlite: Path, tmp_path: Path, soak: bool
) -> None:
    refused = "a database that cannot be read whole cannot say what completed"
    unreadable = "not a readable checkpoint database"
    cases = [
        Case(
            f"cut at {f:.0%}",
            cut(db_path, f),
            unreadable,
            DB,
            "a cut database; when the cut spares every page a resume needs, it may resume",
            clean_ok=True,
        )
        for f in (fractions(soak)[1:] if soak else [0.2, 0.4, 0.6, 0.8, 0.95])
    ]
    cases += [
        Case(f"random {seed}", noise(db_path, seed), unreadable, DB, refused)
        for seed in range(10 if soak else 1)
    ]
    cases += [
        Case("empty", cut(db_path, 0), "is empty", DB, "we never leave an empty database"),
        Case(
            "no checkpoints table",
            _sql("DROP TABLE flowmancer_checkpoints"),
            "table flowmancer_checkpoints is missing",
            DB,
            "our tables are made together: a missing one is damage, not a new database",
        ),
        Case(
            "no journal table",
            _sql("DROP TABLE flowmancer_journal"),
            "table flowmancer_journal is missing",
            DB,
            "without its journal the checkpoint may be older than the run: refused",
        ),
        Case(
            "a renamed column",
            _sql("ALTER TABLE flowmancer_checkpoints RENAME COLUMN body TO b"),
            "no such column: body",
            DB,
            refused,
        ),
        Case(
            "a body that is not a checkpoint",
            _sql("UPDATE flowmancer_checkpoints SET body = '[1]'"),
            "(top level): expected an object",
            DB,
            refused,
        ),
    ]
    judge(failed_sqlite, tmp_path, cases, _sqlite_completed)


def test_fresh_moves_a_damaged_database_aside_and_starts_over(
    failed_sqlite: Path, tmp_path: Path
) -> None:
    """`-r --fresh` on a database that is not one: it is moved aside (it may hold other jobs'
    checkpoints, so it is never deleted) and the job runs from the start."""
    folder = tmp_path / "project"
    shutil.copytree(failed_sqlite, folder)
    noise(db_path, 7)(folder)
    damaged = db_path(folder).read_bytes()
    plain = driver(folder)  # without -r too: a run that could not save must not start
    assert problems_of_refusal(plain, folder, str(db_path(folder)), ["not a usable"]) == []
    assert kept_files(folder) == {"checkpoint.db": damaged}
    result = driver(folder, "-r", "--fresh")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "moved it to" in result.stderr
    assert ran(folder) == TASKS
    (moved,) = db_path(folder).parent.glob("checkpoint.db.damaged-*")
    assert moved.read_bytes() == damaged
