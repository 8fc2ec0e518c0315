"""``RunRecorder`` and ``read_record``: the run's record, written whole lines at a time and read
back the same, however short a kill left it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from log_feed import T0, Feed

from flowmancer_log import (
    FileLogger,
    RecordError,
    RunRecorder,
    find_records,
    read_record,
)

RETRY = "attempt 1 of 3 failed (ConnectionError: busy (try later)); next in 0.25 s"


def play(feed: Feed) -> None:
    feed.begin("extract")
    feed.log("extract", "reading")
    feed.change("extract", "COMPLETED")
    feed.begin("load")
    feed.change("load", "PENDING", RETRY)
    feed.change("load", "RUNNING")
    feed.change("load", "FAILED", "ValueError: bad <row>")
    feed.change("report", "DEFAULTED", "upstream did not complete: load")
    feed.end()


def recorded(base: Path, **details: object) -> Path:
    logger = FileLogger(base)
    recorder = RunRecorder(base, beside=logger, details=details)
    play(Feed(logger, recorder, tasks=("extract", "load", "report")).start(started=T0))
    assert recorder.path is not None
    return recorder.path


def test_a_run_reads_back_with_its_attempts_retry_waits_reasons_and_logs(tmp_path: Path) -> None:
    tasks = {"load": {"dependencies": ["extract"], "parameters": {"rows": 3}, "pool": "db"}}
    path = recorded(tmp_path, tasks=tasks, job_file="job.yaml", command=["main.py"])
    assert path.parent.parent == tmp_path / "job" and path.name == "run.jsonl"
    run = read_record(path)
    assert (run.job, run.run_id, run.started) == ("job", "run-1", T0)
    assert (run.status, run.exit_code, run.incomplete) == ("failed", 2, False)
    assert run.counts == {"COMPLETED": 1, "FAILED": 1, "DEFAULTED": 1}
    assert run.details["job_file"] == "job.yaml" and run.details["command"] == ["main.py"]
    load = run.tasks["load"]
    assert load.details == tasks["load"] and load.dependencies == ("extract",)
    first, second = load.attempts
    assert (first.outcome, first.reason, first.wait) == (
        "RETRY",
        "ConnectionError: busy (try later)",
        0.25,
    )
    assert (second.number, second.outcome, second.reason) == (2, "FAILED", "ValueError: bad <row>")
    assert (load.state, load.reason) == ("FAILED", "ValueError: bad <row>")
    assert load.duration == pytest.approx(second.ended - first.started)  # type: ignore[operator]
    extract = run.tasks["extract"]
    assert extract.log is not None and "reading" in extract.log.read_text()
    assert run.tasks["report"].attempts == [] and run.tasks["report"].duration is None


def test_a_record_cut_anywhere_reads_as_incomplete_up_to_its_last_whole_line(
    tmp_path: Path,
) -> None:
    whole = recorded(tmp_path / "logs").read_bytes()
    lines = whole.split(b"\n")[:-1]
    cut = tmp_path / "cut" / "run.jsonl"
    cut.parent.mkdir()
    for size in range(len(whole)):  # every length a kill -9 could leave
        cut.write_bytes(whole[:size])
        if size < len(lines[0]) + 1:
            with pytest.raises(RecordError, match="no header"):
                read_record(cut)
            continue
        run = read_record(cut)
        whole_lines = whole[:size].count(b"\n")
        events = [json.loads(x) for x in lines[2:whole_lines] if x.startswith(b"[")]
        assert run.status == ("failed" if whole_lines == len(lines) else "incomplete"), size
        assert sum(len(t.attempts) for t in run.tasks.values()) == sum(
            e[2] == "RUNNING" for e in events
        )
        assert run.last_seen == max([e[1] for e in events], default=run.started)


def test_while_a_run_goes_on_its_record_reads_as_running(tmp_path: Path) -> None:
    recorder = RunRecorder(tmp_path)  # no FileLogger: the recorder makes the folder itself
    feed = Feed(recorder, tasks=("a",)).start(started=T0)
    feed.begin("a")
    assert recorder.path is not None
    recorder.flush_files()
    assert read_record(recorder.path).status == "running"
    feed.change("a", "COMPLETED")
    feed.end()
    run = read_record(recorder.path)
    assert run.status == "succeeded" and not (recorder.path.parent / ".running").exists()


def test_a_summary_reads_the_header_and_the_end_line_only(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    summary = read_record(path, summary=True)
    assert (summary.status, summary.counts, summary.tasks) == (
        "failed",
        {"COMPLETED": 1, "FAILED": 1, "DEFAULTED": 1},
        {},
    )
    path.write_bytes(path.read_bytes().rsplit(b"\n", 2)[0] + b"\n")  # the end line lost
    summary = read_record(path, summary=True)
    assert summary.status == "incomplete" and summary.tasks  # read whole to count


@pytest.mark.parametrize(
    ("first_line", "problem"),
    [
        (b'{"kind": "start", "record": 2, "job": "j", "run_id": "r", "started": 1}\n', "format 2"),
        (b'{"kind": "tasks"}\n', "not a run record"),
        (b'{"kind": "start", "record": 1}\n', "a header without 'started'"),
        (b"<html>\n", "1: not JSON"),
    ],
)
def test_a_record_that_is_not_one_is_refused_naming_the_line(
    tmp_path: Path, first_line: bytes, problem: str
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(first_line)
    with pytest.raises(RecordError, match=problem) as raised:
        read_record(path)
    assert str(raised.value).startswith(f"{path}:1: ")


def test_a_damaged_line_in_the_middle_is_named(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    lines = path.read_bytes().split(b"\n")
    lines[4] = b'[0, "x"]'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(RecordError, match=f"{path}:5: not a state change"):
        read_record(path)


def test_records_are_found_newest_first_for_a_job_or_all(tmp_path: Path) -> None:
    for job, started in (("a", T0), ("b", T0 + 60), ("a", T0 + 120)):
        recorder = RunRecorder(tmp_path, retention_days=-1)  # T0 is long ago: keep it
        Feed(recorder, job=job, tasks=("t",)).start(started=started).end()
    (tmp_path / "a" / "not-a-run").mkdir()  # only run folders are looked at
    newest_a, oldest_a = find_records(tmp_path, "a")
    assert read_record(newest_a).started == T0 + 120 and read_record(oldest_a).started == T0
    assert [read_record(p).job for p in find_records(tmp_path)] == ["a", "b", "a"]
    assert find_records(tmp_path / "missing") == [] == find_records(tmp_path, "c")


def test_a_folder_that_cannot_be_made_costs_the_record_not_the_run(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    recorder = RunRecorder(tmp_path / "logs")
    feed = Feed(recorder, tasks=("a",)).start(started=T0)
    feed.begin("a")
    feed.change("a", "COMPLETED")
    feed.end()
    said = capfd.readouterr().err
    assert said.count("the run record could not be started") == 1
    assert "this run keeps no record" in said and recorder.path is None


def test_the_record_goes_where_the_file_logger_writes_as_its_files_are(tmp_path: Path) -> None:
    path = recorded(tmp_path / "logs")
    logs = sorted(p.name for p in path.parent.iterdir())
    assert logs == ["extract.log", "load.log", "run.jsonl"]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
