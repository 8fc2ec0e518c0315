"""Both stores behind one set of tests: save, load, clear, atomic replacement, the job lock."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ckpt_support import BACKENDS, Snapshot, snapshot

from flowmancer_checkpoint import (
    Checkpointer,
    CheckpointWriteError,
    CorruptCheckpointError,
    FileCheckpointer,
    SQLiteCheckpointer,
)
from flowmancer_dag import TaskState

S = TaskState


def test_a_saved_run_loads_back_and_other_jobs_are_apart(store: Checkpointer) -> None:
    assert store.load("nightly") is None
    store.save(snapshot(load="COMPLETED", report="FAILED"))
    store.save(snapshot("weekly", load="RUNNING"))
    record = store.load("nightly")
    assert record is not None
    assert {n: t.state for n, t in record.tasks.items()} == {
        "load": S.COMPLETED,
        "report": S.FAILED,
    }
    weekly = store.load("weekly")
    assert weekly is not None and weekly.tasks["load"].state is S.RUNNING


def test_the_latest_save_wins(store: Checkpointer) -> None:
    store.save(snapshot(load="RUNNING", report="INIT"))
    store.save(snapshot(load="COMPLETED", report="RUNNING"))
    record = store.load("nightly")
    assert record is not None and record.tasks["load"].state is S.COMPLETED


def test_a_clean_finish_clears_the_checkpoint_and_a_failed_one_keeps_it(
    store: Checkpointer,
) -> None:
    store.save(snapshot(load="COMPLETED", report="FAILED", finished=True))
    kept = store.load("nightly")
    assert kept is not None and kept.finished
    store.save(snapshot(load="COMPLETED", report="SKIPPED", finished=True))
    assert store.load("nightly") is None


def test_clear_forgets_the_job(store: Checkpointer) -> None:
    store.save(snapshot(load="FAILED"))
    store.clear("nightly")
    store.clear("nightly")  # clearing nothing is fine
    assert store.load("nightly") is None


def test_a_value_without_json_form_is_reported_once_by_key_and_the_rest_is_kept(
    backend: str, tmp_path: Path
) -> None:
    notices: list[str] = []
    store = type(BACKENDS[backend](tmp_path))(tmp_path / "c" / "x.db", report=notices.append)
    snap = snapshot(load="COMPLETED")
    snap = Snapshot(**{**snap.__dict__, "shared_dict": {"rows": 3, "conn": object()}})
    store.save(snap)
    store.save(snap)
    assert len(notices) == 1
    assert "shared_dict['conn'] is left out of the checkpoint of job 'nightly'" in notices[0]
    record = store.load("nightly")
    assert record is not None
    assert record.shared_dict == {"rows": 3}
    assert record.lost == {"conn": "object cannot be saved as JSON"}


def test_job_names_with_any_characters_get_their_own_checkpoint(store: Checkpointer) -> None:
    for job in ("a/b", "../escape", "ünï cödé", ".hidden", ""):
        store.save(snapshot(job, load="FAILED"))
    for job in ("a/b", "../escape", "ünï cödé", ".hidden", ""):
        record = store.load(job)
        assert record is not None and record.job == job
    if isinstance(store, FileCheckpointer):
        assert all(p.parent == store.checkpoint_dir for p in store.checkpoint_dir.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_folder_is_a_clear_error_and_the_old_checkpoint_stays(
    store: Checkpointer, tmp_path: Path
) -> None:
    store.save(snapshot(load="FAILED"))
    folder = tmp_path / "ckpt"
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointWriteError, match="cannot write the checkpoint"):
            store.save(snapshot(load="COMPLETED"))
    finally:
        folder.chmod(0o700)
    record = store.load("nightly")
    assert record is not None and record.tasks["load"].state is S.FAILED


def test_a_folder_that_cannot_be_made_is_a_clear_error(backend: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    store = type(BACKENDS[backend](tmp_path))(tmp_path / "file" / "sub" / "c.db")
    with pytest.raises(CheckpointWriteError, match="cannot create the checkpoint folder"):
        store.save(snapshot(load="FAILED"))


def test_a_file_size_limit_is_a_clear_error_and_the_old_checkpoint_stays(
    backend: str, tmp_path: Path
) -> None:
    # A full disk, as a process sees it: writes fail part-way. Run in a child with RLIMIT_FSIZE.
    code = f"""
        import resource, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from ckpt_support import BACKENDS, Snapshot, snapshot
        from flowmancer_checkpoint import CheckpointWriteError
        store = BACKENDS[{backend!r}](__import__("pathlib").Path({str(tmp_path)!r}))
        store.save(snapshot(load="FAILED"))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        big = snapshot(load="COMPLETED")
        big = Snapshot(**{{**big.__dict__, "shared_dict": {{"x": "y" * 100000}}}})
        try:
            store.save(big)
        except CheckpointWriteError as error:
            print("refused:", error)
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "cannot write the checkpoint" in out.stdout
    record = BACKENDS[backend](tmp_path).load("nightly")
    assert record is not None and record.tasks["load"].state is S.FAILED


WRITER = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from ckpt_support import BACKENDS, Snapshot, snapshot
store = BACKENDS[{backend!r}](Path({folder!r}))
names = [f"t{{i:03d}}" for i in range(200)]
i = 0
while True:
    i += 1
    states = {{n: ("COMPLETED" if k < i % 200 else "INIT") for k, n in enumerate(names)}}
    snap = snapshot(**states)
    shared = {{"i": i % 200, "pad": "x" * (i % 5000)}}
    # What changed since the save before: as the runner says it (journal lines), or all.
    hint = {{names[(i - 1) % 200], names[i % 200 - 1]}} if i % 200 else None
    store.save(Snapshot(**{{**snap.__dict__, "shared_dict": shared, "changed": hint,
                           "changed_keys": {{"i", "pad"}} if hint else None}}))
    if i == 1:
        print("ready", flush=True)
"""


def test_kill_9_at_any_moment_of_saving_leaves_a_whole_checkpoint(
    backend: str, tmp_path: Path
) -> None:
    rng = random.Random(20261126)
    code = WRITER.format(tests=os.path.dirname(__file__), backend=backend, folder=str(tmp_path))
    for _ in range(20):
        writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        record = BACKENDS[backend](tmp_path).load("nightly")
        assert record is not None
        done = sum(t.state is S.COMPLETED for t in record.tasks.values())
        assert len(record.tasks) == 200
        assert done == record.shared_dict["i"]  # tasks and shared_dict from the same save


def test_durable_saves_read_back_the_same(backend: str, tmp_path: Path) -> None:
    cls = type(BACKENDS[backend](tmp_path))
    store = cls(tmp_path / "d" / "c.db", durable=True)
    store.save(snapshot(load="FAILED"))
    record = store.load("nightly")
    assert record is not None and record.tasks["load"].state is S.FAILED


def test_sqlite_keeps_a_history_of_runs_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteCheckpointer(tmp_path / "c.db")
    failed = snapshot(load="COMPLETED", report="FAILED", finished=True)
    store.save(snapshot(load="RUNNING", report="INIT"))
    assert [r.outcome for r in store.runs("nightly")] == ["running"]
    store.save(failed)
    store.save(
        Snapshot(
            **{
                **failed.__dict__,
                "run_id": "second",
                "started": failed.started + 60,
                "states": {"load": S.COMPLETED, "report": S.COMPLETED},
            }
        )
    )
    runs = store.runs("nightly")
    assert [(r.run_id, r.outcome, r.completed, r.failed) for r in runs] == [
        ("second", "succeeded", 2, 0),
        ("20261126T140307Z-1a2b3c4d", "failed", 1, 1),
    ]
    assert all(r.ended is not None for r in runs)
    assert store.load("nightly") is None  # cleared by the clean finish; history kept
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "c.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_lives_beside_a_flowmancer_0_12_database(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # 0.12's pickles' table
        db.execute("CREATE TABLE checkpoint (id INTEGER PRIMARY KEY, name TEXT, contents BLOB)")
        db.execute("INSERT INTO checkpoint (name, contents) VALUES ('nightly', x'80049500')")
    db.close()
    store = SQLiteCheckpointer(path)
    assert store.load("nightly") is None
    store.save(snapshot(load="FAILED"))
    assert store.load("nightly") is not None


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + b"\x07" * 300, os.urandom(4096)])
def test_a_damaged_database_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "checkpoint.db"
    path.write_bytes(content)
    store = SQLiteCheckpointer(path)
    # An empty file is a database cut to nothing (we never leave one): not "no checkpoint",
    # which would run again what had completed.
    expected = "is empty" if not content else "not a readable checkpoint database"
    with pytest.raises(CorruptCheckpointError, match=f"^{path}: {expected}"):
        store.load("nightly")
    assert path.read_bytes() == content  # nothing overwritten


def test_a_checkpoint_path_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    (tmp_path / "nightly.json").mkdir()
    with pytest.raises(CorruptCheckpointError, match="is a folder"):
        store.load("nightly")


def test_keys_that_are_not_text_are_left_out_and_the_checkpoint_stays_readable(
    store: Checkpointer,
) -> None:
    store.report = lambda _: None
    snap = snapshot(load="COMPLETED")
    shared = {1: "one", ("a", 2): "pair", "ok": 1, "big": 10**5000}
    store.save(Snapshot(**{**snap.__dict__, "shared_dict": shared}))
    store.save(
        Snapshot(**{**snap.__dict__, "shared_dict": shared, "changed": set(), "changed_keys": {1}})
    )
    record = store.load("nightly")
    assert record is not None and record.shared_dict == {"ok": 1}
    # Named by repr and type: never confused with a text key of the same spelling.
    assert set(record.lost) == {"1 (int)", "('a', 2) (tuple)", "big"}
    assert "key is of type int" in record.lost["1 (int)"]


def test_a_report_that_raises_never_leaves_the_journal_behind_the_disk(
    store: Checkpointer,
) -> None:
    def broken(_: str) -> None:
        raise RuntimeError("the notice could not be shown")

    store.report = broken
    names = {"a": "RUNNING", "b": "RUNNING", "c": "RUNNING"}
    base = snapshot(**names)
    store.save(base)
    after = snapshot(a="RUNNING", b="COMPLETED", c="COMPLETED")
    store.save(
        Snapshot(
            **{
                **after.__dict__,
                "shared_dict": {"x": object()},
                "changed": {"b", "c"},
                "changed_keys": {"x"},
            }
        )
    )
    record = store.load("nightly")
    assert record is not None
    assert {n: t.state.value for n, t in record.tasks.items()} == {
        "a": "RUNNING",
        "b": "COMPLETED",
        "c": "COMPLETED",
    }


def test_loading_never_changes_a_0_12_database(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE checkpoint (id INTEGER PRIMARY KEY, name TEXT)")
    before = path.read_bytes()
    store = SQLiteCheckpointer(path)
    assert store.load("nightly") is None and store.runs() == []
    assert path.read_bytes() == before and not (tmp_path / "checkpoint.db-wal").exists()


def test_a_busy_database_is_said_to_be_busy_not_corrupt(tmp_path: Path) -> None:
    from flowmancer_checkpoint import CheckpointError

    path = tmp_path / "checkpoint.db"
    store = SQLiteCheckpointer(path, busy_timeout=0.1)
    store.save(snapshot(load="FAILED"))
    store.close()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("PRAGMA journal_mode = DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(CheckpointError, match="busy") as info:
            store.load("nightly")
        assert not isinstance(info.value, CorruptCheckpointError)
        holder.execute("ROLLBACK")


@pytest.mark.parametrize("cut", range(1, 20))
def test_a_truncated_checkpoint_in_a_store_is_a_clear_error(
    store: Checkpointer, tmp_path: Path, cut: int
) -> None:
    store.save(snapshot(load="COMPLETED", report="FAILED"))
    store.close()
    if isinstance(store, FileCheckpointer):
        path = store.path("nightly")
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) * cut // 20])
    else:
        with contextlib.closing(sqlite3.connect(tmp_path / "ckpt" / "checkpoint.db")) as db, db:
            (body,) = db.execute("SELECT body FROM flowmancer_checkpoints").fetchone()
            db.execute(
                "UPDATE flowmancer_checkpoints SET body = ?", (body[: len(body) * cut // 20],)
            )
    with pytest.raises(CorruptCheckpointError, match="not valid JSON|empty"):
        store.load("nightly")


@pytest.mark.parametrize(
    "text",
    ["[" * 100000, '{"format": "flowmancer-checkpoint", "version": 1' + "0" * 5000 + "}"],
)
def test_pathological_json_is_a_clear_error(tmp_path: Path, text: str) -> None:
    from flowmancer_checkpoint import Checkpoint

    with pytest.raises(CorruptCheckpointError):
        Checkpoint.from_json(text, "x.json")


def test_another_jobs_checkpoint_under_this_name_is_refused(store: Checkpointer) -> None:
    store.save(snapshot("weekly", load="COMPLETED"))
    if isinstance(store, FileCheckpointer):
        store.path("weekly").rename(store.path("nightly"))
    else:
        assert isinstance(store, SQLiteCheckpointer)
        with contextlib.closing(sqlite3.connect(store.checkpoint_database)) as db, db:
            db.execute("UPDATE flowmancer_checkpoints SET job = 'nightly'")
    with pytest.raises(CorruptCheckpointError, match="of job 'weekly', not of job 'nightly'"):
        store.load("nightly")


@pytest.mark.parametrize("table", ["flowmancer_checkpoints", "flowmancer_journal"])
def test_a_database_missing_one_of_its_tables_is_refused_not_taken_as_new(
    tmp_path: Path, table: str
) -> None:
    store = SQLiteCheckpointer(tmp_path / "c.db")
    store.save(snapshot(load="FAILED", finished=True))
    store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "c.db")) as db, db:
        db.execute(f"DROP TABLE {table}")
    with pytest.raises(CorruptCheckpointError, match=f"table {table} is missing"):
        SQLiteCheckpointer(tmp_path / "c.db").load("nightly")


def test_clearing_a_damaged_database_moves_it_aside_and_starts_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"not a database at all" * 100)
    notices: list[str] = []
    store = SQLiteCheckpointer(path, report=notices.append)
    with pytest.raises(CorruptCheckpointError, match="not a usable checkpoint database"):
        store.prepare()
    store.clear("nightly")
    (moved,) = tmp_path.glob("c.db.damaged-*")
    assert moved.read_bytes() == b"not a database at all" * 100
    assert len(notices) == 1 and moved.name in notices[0]
    store.save(snapshot(load="FAILED"))
    assert store.load("nightly") is not None
