"""Saves between whole checkpoints go to a journal: one line each, replayed on reading."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from ckpt_support import BACKENDS, Snapshot, snapshot

from flowmancer_checkpoint import Checkpointer, CorruptCheckpointError, FileCheckpointer
from flowmancer_dag import TaskState

S = TaskState
NAMES = [f"t{i:02d}" for i in range(40)]


def step(i: int, **shared: object) -> Snapshot:
    """The chain's state after ``i`` finishes, saying what changed since step ``i - 1``."""
    snap = snapshot(**{n: ("COMPLETED" if k < i else "INIT") for k, n in enumerate(NAMES)})
    return dataclasses.replace(
        snap,
        shared_dict={"done": i, **shared},
        changed={NAMES[i - 1]} if i else None,
        changed_keys={"done", *shared} if i else None,
    )


def states(store: Checkpointer) -> list[str]:
    record = store.load("nightly")
    assert record is not None
    return [record.tasks[n].state.value for n in NAMES]


def test_each_save_after_the_first_appends_one_line_and_reads_back_whole(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    base = store.path("nightly").read_bytes()
    for i in range(1, 11):
        store.save(step(i))
    assert store.path("nightly").read_bytes() == base  # the whole file was not rewritten
    assert len(store.journal_path("nightly").read_text().splitlines()) == 10
    record = store.load("nightly")
    assert record is not None and record.shared_dict == {"done": 10}
    assert states(store) == ["COMPLETED"] * 10 + ["INIT"] * 30


def test_the_last_save_of_a_run_writes_the_whole_checkpoint_and_empties_the_journal(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(5):
        store.save(step(i))
    store.save(dataclasses.replace(step(5), finished=True))
    assert store.journal_path("nightly").read_bytes() == b""
    record = store.load("nightly")
    assert record is not None and record.finished and record.shared_dict == {"done": 5}


def test_a_large_journal_is_folded_into_a_new_whole_checkpoint(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    for i in range(1, 40):
        store.save(step(i, blob="x" * 8000))  # 8 kB lines: the journal outgrows 64 kB
    assert store.journal_path("nightly").stat().st_size < 64 * 1024 + 9000
    assert states(store) == ["COMPLETED"] * 39 + ["INIT"]


def test_a_line_cut_short_by_a_crash_leaves_the_save_before_it(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(4):
        store.save(step(i))
    journal = store.journal_path("nightly")
    whole = journal.read_bytes()
    for cut in range(1, len(whole.splitlines()[-1])):
        journal.write_bytes(whole[:-cut])
        record = store.load("nightly")
        assert record is not None and record.shared_dict == {"done": 2}


def test_lines_left_from_before_a_rewrite_are_ignored(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(4):
        store.save(step(i))
    stale = store.journal_path("nightly").read_bytes()
    store.save(dataclasses.replace(step(4), changed=None))  # no hint: a whole rewrite
    journal = store.journal_path("nightly")
    journal.write_bytes(stale)  # as if the crash came between the rename and the truncate
    record = store.load("nightly")
    assert record is not None and record.shared_dict == {"done": 4}


def test_a_damaged_line_inside_the_journal_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(4):
        store.save(step(i))
    journal = store.journal_path("nightly")
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b'{"g": oops}\n' + lines[2])
    with pytest.raises(CorruptCheckpointError) as info:
        store.load("nightly")
    assert str(info.value).startswith(f"{journal}: line 2: not valid JSON")


def test_deleted_and_unsaveable_keys_are_journalled_too(backend: str, tmp_path: Path) -> None:
    notices: list[str] = []
    store = type(BACKENDS[backend](tmp_path))(tmp_path / "c.db", report=notices.append)
    store.save(step(0, keep=1, drop=2))
    store.save(dataclasses.replace(step(1, keep=1), changed_keys={"done", "drop"}))
    store.save(dataclasses.replace(step(2, keep=1, conn=object()), changed_keys={"conn"}))
    record = store.load("nightly")
    assert record is not None
    assert record.shared_dict == {"done": 1, "keep": 1}  # "done" was not said to change
    assert record.lost == {"conn": "object cannot be saved as JSON"}
    assert len(notices) == 1 and "shared_dict['conn']" in notices[0]


def test_a_journal_line_with_a_bad_deleted_list_is_a_clear_error(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(3):
        store.save(step(i))
    journal = store.journal_path("nightly")
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text(lines[0].replace('"deleted":[]', '"deleted":[[1]]') + lines[1])
    with pytest.raises(CorruptCheckpointError, match="line 1"):
        store.load("nightly")


def test_a_completion_recorded_where_the_attempt_ran_survives_a_runner_that_never_saved_it(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    first = step(0)
    store.save(first)
    record = store.completion_recorder(first)
    # In a forked child, as the process executor does: the runner is killed before its save.
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's exit code is what is checked
        try:
            record.completed(NAMES[0], 2, {"rows": 42, "when": dt.date(2026, 11, 26)}, ("done",))
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    # A save of the runner written after the child's line still says RUNNING for that task
    # (its snapshot was taken before it heard of the finish): the completion wins.
    store.save(dataclasses.replace(step(0), states={**first.states, NAMES[0]: S.RUNNING}))
    loaded = store.load("nightly")
    assert loaded is not None
    assert loaded.tasks[NAMES[0]].state is S.COMPLETED
    assert loaded.tasks[NAMES[0]].attempts == 2
    assert loaded.tasks[NAMES[0]].fingerprint == f"fp-{NAMES[0]}"
    assert loaded.shared_dict == {"rows": 42, "when": dt.date(2026, 11, 26)}
    assert states(store)[1:] == ["INIT"] * (len(NAMES) - 1)


def test_a_record_prepared_before_the_attempt_started_is_the_same_line_as_one_made_after(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    record = store.completion_recorder(step(0))
    prepared = record.prepare(NAMES[0], 2)  # in the runner, before the attempt starts
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's exit code is what is checked
        try:
            prepared.completed(NAMES[0], 2, {}, ())
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    record.completed(NAMES[0], 2, {}, ())
    made_there, made_here = store.journal_path("nightly").read_text().splitlines()
    without_time = re.compile(r'"updated":[-+.e0-9]+')
    assert without_time.sub("", made_there) == without_time.sub("", made_here)
    # What the prepared line cannot say (shared_dict changes, another attempt) is rendered
    # where the attempt ran, as without preparing; taking one back works the same.
    record.prepare(NAMES[1], 1).completed(NAMES[1], 1, {"rows": 7}, ("done",))
    record.prepare(NAMES[2], 1).completed(NAMES[2], 3, {}, ())
    late = record.prepare(NAMES[3], 1)
    late.completed(NAMES[3], 1, {}, ())
    late.revoked(NAMES[3], 1)
    loaded = store.load("nightly")
    assert loaded is not None
    assert [loaded.tasks[n].state.value for n in NAMES[:4]] == ["COMPLETED"] * 3 + ["INIT"]
    assert [loaded.tasks[n].attempts for n in NAMES[:3]] == [2, 1, 3]
    assert loaded.tasks[NAMES[0]].fingerprint == f"fp-{NAMES[0]}"
    assert loaded.shared_dict == {"rows": 7}


def test_completion_lines_are_kept_when_the_base_is_rewritten_during_the_run(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    record = store.completion_recorder(step(0))
    record.completed(NAMES[5], 1, {}, ())
    store.save(step(1))
    store.save(dataclasses.replace(step(2), changed=None))  # a whole base again
    assert states(store)[:6] == ["COMPLETED", "COMPLETED", "INIT", "INIT", "INIT", "COMPLETED"]
    # The run's last save writes everything the runner knows and empties the journal.
    store.clear_on_success = False
    store.save(dataclasses.replace(step(3), finished=True))
    assert store.journal_path("nightly").read_bytes() == b""


def test_completion_lines_of_another_run_are_ignored(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    record = store.completion_recorder(dataclasses.replace(step(0), run_id="an-older-run"))
    record.completed(NAMES[3], 1, {"stale": True}, ())
    loaded = store.load("nightly")
    assert loaded is not None
    assert loaded.tasks[NAMES[3]].state is S.INIT
    assert "stale" not in loaded.shared_dict


def test_a_completion_taken_back_because_a_later_hook_failed_does_not_count(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    store.save(step(0))
    record = store.completion_recorder(step(0))
    record.completed(NAMES[1], 1, {"half": True}, ())
    record.revoked(NAMES[1], 1)
    record.completed(NAMES[1], 2, {}, ())  # the retry completed
    record.completed(NAMES[2], 1, {"gone": True}, ())
    record.revoked(NAMES[2], 1)
    loaded = store.load("nightly")
    assert loaded is not None
    assert loaded.tasks[NAMES[1]].state is S.COMPLETED
    assert loaded.tasks[NAMES[1]].attempts == 2
    assert loaded.tasks[NAMES[2]].state is S.INIT
    assert "gone" not in loaded.shared_dict


def test_a_last_line_that_no_crash_could_leave_is_refused(tmp_path: Path) -> None:
    store = FileCheckpointer(tmp_path)
    for i in range(3):
        store.save(step(i))
    journal = store.journal_path("nightly")
    whole = journal.read_bytes()
    saved = states(store)
    journal.write_bytes(whole + b'{"g":"0123')  # a save cut short: ignored
    assert states(store) == saved
    journal.write_bytes(whole + b"\x8f\x01garbage")  # not the start of any journal line
    with pytest.raises(CorruptCheckpointError, match="line 3: not a journal entry"):
        store.load("nightly")


def test_results_and_unrestorable_tasks_are_journalled_and_read_back(
    backend: str, tmp_path: Path
) -> None:
    store = type(BACKENDS[backend](tmp_path))(tmp_path / "c.db", report=lambda _: None)
    store.save(step(0))
    store.save(dataclasses.replace(step(1), results={NAMES[0]: {"rows": 3}}))
    store.save(
        dataclasses.replace(
            step(2, frame=object()),
            results={NAMES[0]: {"rows": 3}, NAMES[1]: object()},
            changed_keys={"frame"},
            writers={"frame": NAMES[1]},
        )
    )
    record = store.load("nightly")
    assert record is not None
    assert record.results == {NAMES[0]: {"rows": 3}}
    assert set(record.unrestorable) == {NAMES[1]}
    # A task that runs again has no result any more.
    store.save(dataclasses.replace(step(3), results={}, changed={NAMES[0]}))
    record = store.load("nightly")
    assert record is not None and record.results == {}
    assert set(record.unrestorable) == {NAMES[1]}  # marked for the rest of the run


def test_a_completion_with_a_value_that_cannot_be_saved_is_not_recorded_early(
    tmp_path: Path,
) -> None:
    store = FileCheckpointer(tmp_path)
    first = step(0)
    store.save(first)
    recorder = store.completion_recorder(first)
    recorder.completed(NAMES[0], 1, {"frame": object()}, ())
    recorder.completed(NAMES[1], 1, {}, (), object())
    recorder.completed(NAMES[2], 1, {}, (), {"rows": 3})
    loaded = store.load("nightly")
    assert loaded is not None
    # Such a task cannot be restored: recorded as completed it would be kept by a resume.
    assert [loaded.tasks[n].state for n in NAMES[:3]] == [S.INIT, S.INIT, S.COMPLETED]
    assert loaded.results == {NAMES[2]: {"rows": 3}}
