"""``SQLiteCheckpointer``: the latest checkpoint of each job plus a history of runs, in SQLite."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._errors import (
    CheckpointError,
    CheckpointWriteError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
)
from ._files import check_not_linked, open_state, state_folder
from ._record import RunSnapshotLike
from ._store import Checkpointer, safe_name

__all__ = ["RunRecord", "SQLiteCheckpointer"]

# Our own table names: Flowmancer 0.12 kept pickles in a table called "checkpoint" at the same
# default path, and we must neither read those nor trip over them.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS flowmancer_checkpoints (
    job TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    updated REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flowmancer_runs (
    run_id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    outcome TEXT NOT NULL,
    tasks INTEGER NOT NULL,
    completed INTEGER NOT NULL,
    failed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS flowmancer_runs_by_job ON flowmancer_runs (job, started);
CREATE TABLE IF NOT EXISTS flowmancer_journal (
    job TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flowmancer_journal_by_job ON flowmancer_journal (job, seq);
"""


# Each table and its columns, as _SCHEMA makes them.
_TABLES = {
    "flowmancer_checkpoints": ("job", "run_id", "updated", "body"),
    "flowmancer_runs": (
        "run_id",
        "job",
        "started",
        "ended",
        "outcome",
        "tasks",
        "completed",
        "failed",
    ),
    "flowmancer_journal": ("job", "seq", "line"),
}


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run in the history: when, how it ended, and how many tasks did what.

    ``outcome`` is ``running`` while it runs (and stays so for a run that was killed),
    then ``succeeded``, ``failed`` or ``aborted``.
    """

    run_id: str
    job: str
    started: float
    ended: float | None
    outcome: str
    tasks: int
    completed: int
    failed: int


class SQLiteCheckpointer(Checkpointer):
    """Keeps checkpoints in an SQLite database (WAL mode): one row per job, and run history.

    The job's row holds the whole checkpoint; between whole writes, each save adds one short
    journal row (see ``Checkpointer``), each save one transaction.

    Args:
        checkpoint_database: the database file (its folder is created when first needed).
        durable: ``synchronous=FULL`` (survives power loss); otherwise ``NORMAL``, which in WAL
            mode survives any crash of the process.
        report: where one-line notices go (standard error when not given).
        busy_timeout: seconds to wait for another process's lock on the database.
    """

    def __init__(
        self,
        checkpoint_database: str | os.PathLike[str] = "./.flowmancer/checkpoint.db",
        *,
        durable: bool = False,
        report: Callable[[str], None] | None = None,
        busy_timeout: float = 10.0,
    ) -> None:
        super().__init__(report=report)
        self.busy_timeout = busy_timeout
        self.checkpoint_database = Path(checkpoint_database).absolute()
        self.durable = durable
        self._db: sqlite3.Connection | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._history_of: str | None = None

    def location(self, job: str) -> str:
        return f"{self.checkpoint_database} (job {job!r})"

    def runs(self, job: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The latest runs (of ``job``, or of every job), newest first."""
        self._check_files(CorruptCheckpointError)
        if not self.checkpoint_database.exists():
            return []
        query = "SELECT * FROM flowmancer_runs"
        args: tuple[object, ...] = ()
        if job is not None:
            query += " WHERE job = ?"
            args = (job,)
        rows = self._query(query + " ORDER BY started DESC, rowid DESC LIMIT ?", (*args, limit))
        return [RunRecord(*row) for row in rows]

    def close(self) -> None:
        """Close the database connection (it reopens when needed)."""
        self._disconnect()

    def _disconnect(self) -> None:
        db, self._db = self._db, None
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if db is not None:
            db.close()

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """Rows of a read, on a read-only connection: reading never changes the database (a
        Flowmancer 0.12 database is not converted to WAL just by being looked at)."""
        uri = f"{self.checkpoint_database.absolute().as_uri()}?mode=ro"
        with (
            self._reading(),
            contextlib.closing(sqlite3.connect(uri, uri=True, timeout=self.busy_timeout)) as db,
        ):
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return []  # a new, empty or 0.12 database: nothing of ours in it
                raise

    def _read(self, job: str) -> tuple[str, list[str], str] | None:
        self._check_files(CorruptCheckpointError)
        if not self.checkpoint_database.exists():
            return None
        if self._db is not None:  # our own writes may be pending in an open transaction
            self._db.commit()
        # SQLite takes an empty file for an empty database, but we never leave one: it is a
        # database cut to nothing, and "no checkpoint" would run again what had completed.
        if self.checkpoint_database.is_file() and self.checkpoint_database.stat().st_size == 0:
            raise CorruptCheckpointError(
                self.checkpoint_database, "is empty (0 bytes), not a checkpoint database"
            )
        tables = {
            name
            for (name,) in self._query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'flowmancer%'",
                (),
            )
        }
        if not tables:
            return None  # a new database, or one of Flowmancer 0.12: nothing of ours in it
        missing = sorted(set(_TABLES) - tables)
        if missing:  # our tables are made together: one gone means damage or a hand at work
            raise CorruptCheckpointError(
                self.checkpoint_database,
                f"not a readable checkpoint database (table {', '.join(missing)} is missing)",
            )
        rows = self._query("SELECT body FROM flowmancer_checkpoints WHERE job = ?", (job,))
        if not rows:
            return None
        lines = self._query(
            "SELECT line FROM flowmancer_journal WHERE job = ? ORDER BY seq", (job,)
        )
        return rows[0][0], [line for (line,) in lines], self.location(job)

    def _write_base(self, job: str, text: str) -> None:
        with self._writing(), self._connect() as db:
            db.execute(
                "INSERT INTO flowmancer_checkpoints (job, run_id, updated, body) "
                "VALUES (?, '', ?, ?) ON CONFLICT (job) DO UPDATE SET "
                "updated = excluded.updated, body = excluded.body",
                (job, time.time(), text),
            )
            db.execute("DELETE FROM flowmancer_journal WHERE job = ?", (job,))

    def _append(self, job: str, line: str) -> None:
        with self._writing(), self._connect() as db:
            db.execute("INSERT INTO flowmancer_journal (job, line) VALUES (?, ?)", (job, line))

    def _remove(self, job: str) -> None:
        if not self.checkpoint_database.exists():
            return
        with self._writing(), self._connect() as db:
            db.execute("DELETE FROM flowmancer_checkpoints WHERE job = ?", (job,))
            db.execute("DELETE FROM flowmancer_journal WHERE job = ?", (job,))

    def prepare(self) -> None:
        """Open the database, make its tables and check them: what a run needs before its first
        task, so that a database that cannot take a checkpoint stops the run before it starts.

        Raises:
            CheckpointWriteError: it cannot be written (folder, permissions, disk).
            CorruptCheckpointError: it is damaged, or its tables are not ours.
        """
        with self._writing():
            self._connect()
        self._disconnect()  # not carried into the task processes forked next

    def clear(self, job: str) -> None:
        """Forget the job's checkpoint; a damaged database is moved aside (never deleted: it
        may hold other jobs' checkpoints and history) and a new one is started."""
        try:
            self.prepare()
        except CorruptCheckpointError as error:
            moved = self._move_aside()
            self._journal.forget(job)
            self.report(f"{error}; moved it to {moved.name} beside it and started a new one")
            return
        super().clear(job)

    def _move_aside(self) -> Path:
        self._disconnect()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved = self.checkpoint_database.with_name(
            f"{self.checkpoint_database.name}.damaged-{stamp}"
        )
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.checkpoint_database}{suffix}")
            with self._writing(), contextlib.suppress(FileNotFoundError):
                os.replace(source, f"{moved}{suffix}")
        return moved

    def save(self, snapshot: RunSnapshotLike) -> None:
        """Keep ``snapshot`` (see ``Checkpointer.save``) and the run's line in the history."""
        super().save(snapshot)
        # The history row is written when the run is first saved and when it ends; in between
        # it says "running" (and keeps saying so for a run that was killed).
        if snapshot.finished or snapshot.run_id != self._history_of:
            self._history_of = snapshot.run_id
            with self._writing(), self._connect() as db:
                db.execute(
                    "INSERT INTO flowmancer_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (run_id) DO UPDATE SET ended = excluded.ended, "
                    "outcome = excluded.outcome, tasks = excluded.tasks, "
                    "completed = excluded.completed, failed = excluded.failed",
                    _history_row(snapshot),
                )
        if snapshot.finished:
            self._disconnect()

    def _lock_path(self, job: str) -> str:
        return str(self.checkpoint_database.parent / f"{safe_name(job)}.lock")

    def check_files(self, job: str) -> None:
        state_folder(self.checkpoint_database.parent)
        self._check_files(UnsafeCheckpointError)
        check_not_linked(Path(self._lock_path(job)))

    def _check_files(self, error: type[CheckpointError]) -> None:
        """SQLite opens its files by name, following links: refuse a link in their place."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            check_not_linked(Path(f"{self.checkpoint_database}{suffix}"), error)

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            state_folder(self.checkpoint_database.parent)
            self._check_files(CheckpointWriteError)
            made = False
            with contextlib.suppress(FileExistsError):
                # Made here, private (0600): SQLite gives its -wal and -shm files the mode of
                # the database, and would make the database itself as the umask says.
                os.close(open_state(self.checkpoint_database, os.O_RDWR | os.O_CREAT | os.O_EXCL))
                made = True
            # Each write runs in `with db:`, which commits it (or rolls it back) at once.
            db = sqlite3.connect(
                self.checkpoint_database, timeout=self.busy_timeout, check_same_thread=False
            )
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
                db.executescript(_SCHEMA)
                self._check_columns(db)
            except BaseException:
                db.close()
                if made:  # an empty file would read as a database cut to nothing
                    with contextlib.suppress(OSError):
                        if self.checkpoint_database.stat().st_size == 0:
                            self.checkpoint_database.unlink()
                raise
            self._db = db
            # A checkpointer dropped without close() must not leave its connection to the
            # garbage collector (Python 3.13 warns about that).
            self._finalizer = weakref.finalize(self, db.close)
        return self._db

    def _check_columns(self, db: sqlite3.Connection) -> None:
        for table, columns in _TABLES.items():
            found = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
            if found != columns:
                raise CorruptCheckpointError(
                    self.checkpoint_database,
                    f"not a usable checkpoint database (table {table} has the columns "
                    f"{', '.join(found)}; expected {', '.join(columns)})",
                )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise CheckpointError(
                    self.checkpoint_database,
                    "the database is busy (another process holds a lock on it); try again",
                ) from None
            if "unable to open" in str(error):  # a reader of a WAL database writes beside it
                raise CheckpointWriteError(
                    self.checkpoint_database,
                    f"cannot open the database ({error}): SQLite must be able to write in "
                    "its folder, even to read",
                ) from None
            raise CorruptCheckpointError(
                self.checkpoint_database, f"not a readable checkpoint database ({error})"
            ) from None
        except sqlite3.DatabaseError as error:
            raise CorruptCheckpointError(
                self.checkpoint_database, f"not a readable checkpoint database ({error})"
            ) from None
        except OSError as error:
            raise CorruptCheckpointError(
                self.checkpoint_database, f"cannot be read: {error.strerror or error}"
            ) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except CorruptCheckpointError:
            self._disconnect()
            raise
        except (sqlite3.Error, OSError) as error:
            self._disconnect()
            if type(error) is sqlite3.DatabaseError:  # not a database, or a damaged one
                raise CorruptCheckpointError(
                    self.checkpoint_database, f"not a usable checkpoint database ({error})"
                ) from None
            # SQLite says "disk I/O error" for a write that failed for want of space or over
            # a file-size limit; it has the reason only as an errno it does not show.
            hint = " (is the disk full?)" if "disk I/O error" in str(error) else ""
            raise CheckpointWriteError(
                self.checkpoint_database, f"cannot write the checkpoint: {error}{hint}"
            ) from None


def _history_row(snapshot: RunSnapshotLike) -> tuple[object, ...]:
    completed = failed = 0
    for state in snapshot.states.values():
        if state.satisfies_dependents:
            completed += 1
        elif state.is_finished:
            failed += 1
    if not snapshot.finished:
        outcome, ended = "running", None
    elif snapshot.aborted:
        outcome, ended = "aborted", time.time()
    else:
        outcome = "succeeded" if completed == len(snapshot.states) else "failed"
        ended = time.time()
    return (
        snapshot.run_id,
        snapshot.job,
        snapshot.started,
        ended,
        outcome,
        len(snapshot.states),
        completed,
        failed,
    )
