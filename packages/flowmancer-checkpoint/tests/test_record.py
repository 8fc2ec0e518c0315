"""Reading a checkpoint: whole ones come back exactly; damaged ones give one clear error."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from ckpt_support import snapshot

from flowmancer_checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    CorruptCheckpointError,
    MemoryCheckpointer,
    NewerCheckpointError,
    TaskEntry,
)
from flowmancer_dag import TaskState

S = TaskState
PATH = "/work/.flowmancer/nightly.json"


def sample_text() -> str:
    store = MemoryCheckpointer()
    snap = snapshot(load="COMPLETED", report="FAILED", tidy="PENDING")
    snap = type(snap)(**{**snap.__dict__, "shared_dict": {"rows": 10, "when": {1, 2}}})
    store.save(snap)
    return store.bases["nightly"]


def test_a_saved_snapshot_reads_back_as_the_same_checkpoint() -> None:
    record = Checkpoint.from_json(sample_text(), PATH)
    assert record.version == FORMAT_VERSION
    assert (record.job, record.run_id, record.started) == (
        "nightly",
        "20261126T140307Z-1a2b3c4d",
        1764165787.25,
    )
    assert record.tasks["load"] == TaskEntry(S.COMPLETED, 1, "fp-load", None)
    assert record.tasks["report"].state is S.FAILED
    assert record.shared_dict == {"rows": 10, "when": {1, 2}}
    assert not record.finished and not record.ok
    # Its own JSON form reads back equal.
    again = Checkpoint.from_json(record.to_json(), PATH)
    assert dataclasses_equal(again, record)


def dataclasses_equal(a: Checkpoint, b: Checkpoint) -> bool:
    return a.tasks == b.tasks and a.shared_dict == b.shared_dict and a.job == b.job


def test_the_text_has_one_line_per_task() -> None:
    lines = sample_text().splitlines()
    assert sum(line.lstrip().startswith('"load"') for line in lines) == 1
    assert json.loads(sample_text())["format"] == "flowmancer-checkpoint"


@pytest.mark.parametrize("cut", range(20))
def test_a_truncated_checkpoint_is_a_clear_error_naming_the_file(cut: int) -> None:
    text = sample_text().encode()
    with pytest.raises(CorruptCheckpointError) as info:
        Checkpoint.from_json(text[: len(text) * cut // 20], PATH)
    message = str(info.value)
    assert message.startswith(PATH + ": ")
    assert "empty" in message or "not valid JSON" in message


@pytest.mark.parametrize("seed", range(10))
def test_random_bytes_are_a_clear_error(seed: int) -> None:
    data = random.Random(seed).randbytes(200 + seed * 50)
    with pytest.raises(CorruptCheckpointError, match="^/work/.flowmancer/nightly.json: "):
        Checkpoint.from_json(data, PATH)


def edited(change: Any) -> str:
    data = json.loads(sample_text())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("change", "place", "expected"),
    [
        (lambda d: d.update(version="1"), "version", "expected an integer"),
        (lambda d: d.update(version=True), "version", "expected an integer"),
        (lambda d: d.update(version=0), "version", "unknown format version 0"),
        (lambda d: d.update(job=None), "job", "expected a string, got null"),
        (lambda d: d.update(started="yesterday"), "started", "expected a number"),
        (lambda d: d.update(finished="no"), "finished", "expected true or false"),
        (lambda d: d.update(tasks=[]), "tasks", "expected an object, got []"),
        (lambda d: d["tasks"].update(load=5), "tasks.load", "expected an object, got 5"),
        (lambda d: d["tasks"]["load"].update(state="DONE"), "tasks.load.state", '"DONE"'),
        (lambda d: d["tasks"]["load"].update(attempts=1.5), "tasks.load.attempts", "integer"),
        (lambda d: d["tasks"]["load"].update(fingerprint=7), "tasks.load.fingerprint", "string"),
        (lambda d: d["tasks"]["load"].update(reason=[]), "tasks.load.reason", "string"),
        (lambda d: d.update(shared_dict=[1]), "shared_dict", "expected an object"),
        (lambda d: d["shared_dict"].update(x={"$pickle": "x"}), "shared_dict.x", "unknown tag"),
        (lambda d: d.update(lost={"k": 1}), "lost.k", "expected a string"),
        (lambda d: d.update(started=float("nan")), "started", "expected a time in seconds"),
        (lambda d: d.update(updated=1e300), "updated", "expected a time in seconds"),
        (lambda d: d["tasks"]["load"].update(attempts=-1), "tasks.load.attempts", "0 or more"),
        (lambda d: d.update(version=10**40), "version", "unknown format version"),
    ],
)
def test_a_field_of_the_wrong_type_is_named_by_its_place(
    change: Any, place: str, expected: str
) -> None:
    with pytest.raises(CorruptCheckpointError) as info:
        Checkpoint.from_json(edited(change), PATH)
    assert info.value.place == place
    assert str(info.value).startswith(f"{PATH}: {place}: ")
    assert expected in str(info.value)


@pytest.mark.parametrize("text", ["[]", "null", "{}", '{"format": "something-else"}', '"x"'])
def test_json_that_is_not_a_checkpoint_is_refused(text: str) -> None:
    with pytest.raises(CorruptCheckpointError):
        Checkpoint.from_json(text, PATH)


def test_a_newer_format_says_so_and_is_not_read() -> None:
    with pytest.raises(NewerCheckpointError) as info:
        Checkpoint.from_json(edited(lambda d: d.update(version=FORMAT_VERSION + 1)), PATH)
    assert info.value.version == FORMAT_VERSION + 1
    assert "written by a newer Flowmancer" in str(info.value)
    assert isinstance(info.value, CheckpointError)


def test_errors_survive_pickling_for_process_boundaries() -> None:
    import pickle

    error = CorruptCheckpointError(PATH, "bad", "tasks.x")
    back = pickle.loads(pickle.dumps(error))
    assert (str(back), back.place) == (str(error), "tasks.x")


def test_the_module_never_uses_pickle_or_eval() -> None:
    from pathlib import Path

    import flowmancer_checkpoint

    folder = Path(flowmancer_checkpoint.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text()
        for word in ("import pickle", "pickle.load", "eval(", "exec(", "yaml.load"):
            assert word not in text, f"{source.name} uses {word}"
