"""``SQLiteCheckpointer``: the latest checkpoint of each job plus a history of runs, in SQLite."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ._errors import CheckpointWriteError, CorruptCheckpointError
from ._record import Checkpoint, RunSnapshotLike
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
"""


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

    Args:
        checkpoint_database: the database file (its folder is created when first needed).
        durable: ``synchronous=FULL`` (survives power loss); otherwise ``NORMAL``, which in WAL
            mode survives any crash of the process.
        report: where one-line notices go (standard error when not given).
        background: write on a background thread, the latest state winning (see
            ``Checkpointer``); False writes before ``save`` returns.
    """

    def __init__(
        self,
        checkpoint_database: str | os.PathLike[str] = "./.flowmancer/checkpoint.db",
        *,
        durable: bool = False,
        report: Callable[[str], None] | None = None,
        background: bool = True,
    ) -> None:
        super().__init__(report=report, background=background)
        self.checkpoint_database = Path(checkpoint_database)
        self.durable = durable
        self._db: sqlite3.Connection | None = None
        self._history_of: str | None = None

    def location(self, job: str) -> str:
        return f"{self.checkpoint_database} (job {job!r})"

    def load(self, job: str) -> Checkpoint | None:
        self.flush()
        if not self.checkpoint_database.exists():
            return None
        with self._reading():
            row = (
                self._connect()
                .execute("SELECT body FROM flowmancer_checkpoints WHERE job = ?", (job,))
                .fetchone()
            )
        return None if row is None else Checkpoint.from_json(row[0], self.location(job))

    def clear(self, job: str) -> None:
        self.flush()
        if not self.checkpoint_database.exists():
            return
        with self._writing(), self._connect() as db:
            db.execute("DELETE FROM flowmancer_checkpoints WHERE job = ?", (job,))

    def runs(self, job: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The latest runs (of ``job``, or of every job), newest first."""
        self.flush()
        if not self.checkpoint_database.exists():
            return []
        query = "SELECT * FROM flowmancer_runs"
        args: tuple[object, ...] = ()
        if job is not None:
            query += " WHERE job = ?"
            args = (job,)
        with self._reading():
            rows = (
                self._connect()
                .execute(query + " ORDER BY started DESC, rowid DESC LIMIT ?", (*args, limit))
                .fetchall()
            )
        return [RunRecord(*row) for row in rows]

    def close(self) -> None:
        """Finish background writes and close the database (it reopens when needed)."""
        try:
            super().close()
        finally:
            self._disconnect()

    def _disconnect(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _store(self, snapshot: RunSnapshotLike, text: str, clean: bool) -> None:
        with self._writing(), self._connect() as db:
            if clean:
                db.execute("DELETE FROM flowmancer_checkpoints WHERE job = ?", (snapshot.job,))
            else:
                db.execute(
                    "INSERT INTO flowmancer_checkpoints (job, run_id, updated, body) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (job) DO UPDATE SET "
                    "run_id = excluded.run_id, updated = excluded.updated, body = excluded.body",
                    (snapshot.job, snapshot.run_id, time.time(), text),
                )
            # The history row is written when the run is first saved and when it ends; in
            # between it says "running" (and keeps saying so for a run that was killed).
            if snapshot.finished or snapshot.run_id != self._history_of:
                self._history_of = snapshot.run_id
                db.execute(
                    "INSERT INTO flowmancer_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (run_id) DO UPDATE SET ended = excluded.ended, "
                    "outcome = excluded.outcome, tasks = excluded.tasks, "
                    "completed = excluded.completed, failed = excluded.failed",
                    _history_row(snapshot, clean),
                )

    def _lock_path(self, job: str) -> str:
        return str(self.checkpoint_database.parent / f"{safe_name(job)}.lock")

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.checkpoint_database.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit, with explicit transactions from `with db:`
            # (the context manager commits or rolls back).
            db = sqlite3.connect(self.checkpoint_database, timeout=10.0, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'NORMAL'}")
                db.executescript(_SCHEMA)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as error:
            self._disconnect()
            raise CorruptCheckpointError(
                self.checkpoint_database, f"not a readable checkpoint database ({error})"
            ) from None
        except OSError as error:
            self._disconnect()
            raise CorruptCheckpointError(
                self.checkpoint_database, f"cannot be read: {error.strerror or error}"
            ) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            self._disconnect()
            raise CheckpointWriteError(
                self.checkpoint_database, f"cannot write the checkpoint: {error}"
            ) from None


def _history_row(snapshot: RunSnapshotLike, clean: bool) -> tuple[object, ...]:
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
        outcome, ended = ("succeeded" if clean else "failed"), time.time()
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
