"""``FileLogger``: one whole, readable file per task per run, whatever the tasks print."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from log_feed import T0, Feed

from flowmancer_log import FileLogger

LINE = re.compile(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00\] [A-Z]+ - ")


def only_run_dir(base: Path, job: str = "job") -> Path:
    (run_dir,) = (base / job).iterdir()
    return run_dir


def test_lines_states_and_attempt_headers_are_written_in_the_documented_format(
    tmp_path: Path,
) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger, tasks=("load",)).start(started=T0)
    feed.begin("load")
    feed.log("load", "reading rows")
    feed.log("load", "Traceback (most recent call last):\n  File 'x'\nValueError: bad", "ERROR")
    feed.change("load", "PENDING", "attempt 1 of 2 failed (ValueError: bad); next in 0 s")
    feed.change("load", "RUNNING")
    feed.log("load", "second try", "WARNING", "logger")
    feed.change("load", "COMPLETED")
    feed.end()

    run_dir = only_run_dir(tmp_path)
    assert run_dir.name == "2026-11-18T11-06-40.000Z"
    text = (run_dir / "load.log").read_text()
    assert text == (
        "[2026-11-18T11:06:40.001+00:00] INFO - INIT -> PENDING\n"
        "----- attempt 1 · 2026-11-18T11:06:40.002+00:00 -----\n"
        "[2026-11-18T11:06:40.003+00:00] INFO - reading rows\n"
        "[2026-11-18T11:06:40.004+00:00] ERROR - Traceback (most recent call last):\n"
        "  File 'x'\n"
        "ValueError: bad\n"
        "[2026-11-18T11:06:40.005+00:00] INFO - RUNNING -> PENDING (attempt 1 of 2 failed "
        "(ValueError: bad); next in 0 s)\n"
        "----- attempt 2 · 2026-11-18T11:06:40.006+00:00 -----\n"
        "[2026-11-18T11:06:40.007+00:00] WARNING - second try\n"
        "[2026-11-18T11:06:40.008+00:00] INFO - RUNNING -> COMPLETED\n"
    )


def test_the_time_written_is_the_records_not_the_writing(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger).start()
    feed.clock = 1_000_000_000.25  # 2001
    feed.log("a", "long ago")
    feed.end()
    assert "[2001-09-09T01:46:40.251+00:00] INFO - long ago" in logger.path_for("a").read_text()


def test_a_failed_task_gets_its_reason_and_tasks_that_never_ran_get_no_file(
    tmp_path: Path,
) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger, tasks=("a", "b", "c")).start()
    feed.change("c", "COMPLETED", "completed in an earlier run")
    feed.begin("a")
    feed.change("a", "FAILED", "killed by signal 9 (SIGKILL)")
    feed.change("b", "DEFAULTED", "upstream did not complete: a")
    feed.end()
    run_dir = only_run_dir(tmp_path)
    assert sorted(p.name for p in run_dir.iterdir()) == ["a.log"]
    assert (
        (run_dir / "a.log")
        .read_text()
        .endswith("ERROR - RUNNING -> FAILED (killed by signal 9 (SIGKILL))\n")
    )


def test_unicode_and_replacement_characters_and_lone_surrogates_never_crash(
    tmp_path: Path,
) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger).start()
    feed.log("a", "héllo wörld ✓ 日本語 🚀")
    feed.log("a", b"bad \xff\xfe bytes".decode("utf-8", "replace"))  # as the runner decodes
    feed.log("a", b"escaped \xff".decode("utf-8", "surrogateescape"))  # a lone surrogate
    feed.log("a", "nul \x00 and bell \x07")
    feed.end()
    data = logger.path_for("a").read_bytes()
    text = data.decode("utf-8")  # the file is valid UTF-8 throughout
    assert "héllo wörld ✓ 日本語 🚀" in text
    assert "bad \ufffd\ufffd bytes" in text
    assert "escaped \\udcff" in text
    assert "nul \x00 and bell \x07" in text


def test_very_long_lines_are_written_whole(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger).start()
    long = "x" * 3_000_000 + "END"
    feed.log("a", long)
    feed.log("a", "after")
    feed.end()
    lines = logger.path_for("a").read_text().splitlines()
    assert lines[0].endswith("] INFO - " + long)
    assert lines[1].endswith("] INFO - after")


def test_a_thousand_tasks_with_few_open_files_keep_every_line(tmp_path: Path) -> None:
    tasks = tuple(f"t{i}" for i in range(1000))
    logger = FileLogger(tmp_path, max_open_files=8)
    feed = Feed(logger, tasks=tasks).start()
    for name in tasks:
        feed.begin(name)
    for round_ in range(3):  # every task writes in turn: each write evicts another file
        for name in tasks:
            feed.log(name, f"{name} line {round_}")
            assert len(logger._open) <= 8
    for name in tasks:
        feed.change(name, "COMPLETED")
    feed.end()
    for name in ("t0", "t500", "t999"):
        lines = logger.path_for(name).read_text().splitlines()
        assert [ln.split(" - ", 1)[1] for ln in lines if LINE.match(ln)] == [
            "INIT -> PENDING",
            f"{name} line 0",
            f"{name} line 1",
            f"{name} line 2",
            "RUNNING -> COMPLETED",
        ]


def test_a_task_file_is_closed_when_the_task_finishes(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path)
    feed = Feed(logger, tasks=("a", "b")).start()
    feed.begin("a")
    feed.begin("b")
    feed.log("a", "x")
    feed.change("a", "COMPLETED")
    assert set(logger._open) == {"b"}
    assert logger.path_for("a").read_text().endswith("INFO - RUNNING -> COMPLETED\n")
    feed.log("a", "a late line")  # reopened for appending, not lost
    feed.end()
    assert logger._open == {}
    assert logger.path_for("a").read_text().endswith("INFO - a late line\n")


def test_two_runs_starting_in_the_same_millisecond_get_two_folders(tmp_path: Path) -> None:
    first, second = FileLogger(tmp_path), FileLogger(tmp_path)
    Feed(first).start(started=T0)
    Feed(second).start(started=T0)
    assert first.run_dir is not None and second.run_dir is not None
    assert first.run_dir.name == "2026-11-18T11-06-40.000Z"
    assert second.run_dir.name == "2026-11-18T11-06-40.000Z-2"


def test_job_and_task_names_cannot_leave_the_log_folder(tmp_path: Path) -> None:
    base = tmp_path / "logs"
    logger = FileLogger(base)
    tasks = ("../escape", "a/b", "a%2Fb", "..", ".hidden", "x" * 400)
    feed = Feed(logger, job="../../job", tasks=tasks).start()
    for name in tasks:
        feed.log(name, f"from {name}")
    feed.end()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]
    (job_dir,) = base.iterdir()
    assert job_dir.name == "%2E.%2F..%2Fjob"
    files = list(only_run_dir(base, job_dir.name).iterdir())
    assert len(files) == len(tasks)  # no two names share a file
    for name in tasks:
        assert logger.path_for(name).read_text().endswith(f"INFO - from {name}\n")
        assert len(logger.path_for(name).name.encode()) <= 255


def test_output_reaches_the_file_when_the_event_loop_goes_idle(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path)

    async def main() -> list[str]:
        feed = Feed(logger).start()
        feed.log("a", "one")
        seen_before = logger.path_for("a").read_text()
        await asyncio.sleep(0)  # one turn of the loop: the runner is idle
        seen_after = logger.path_for("a").read_text()
        feed.end()
        return [seen_before, seen_after]

    before, after = asyncio.run(main())
    assert before == ""  # buffered while the loop is busy
    assert after.endswith("INFO - one\n")


def test_files_are_complete_when_the_process_exits_without_ending_the_run(
    tmp_path: Path,
) -> None:
    # A driver that never reaches on_run_end (an exception, sys.exit): the exit hook closes.
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from log_feed import Feed
        from flowmancer_log import FileLogger

        async def main():
            feed = Feed(FileLogger({str(tmp_path)!r})).start()
            for i in range(5000):
                feed.log("a", f"line {{i}}")
            sys.exit(3)  # inside the loop's turn: nothing was flushed yet

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    lines = (only_run_dir(tmp_path) / "a.log").read_text().splitlines()
    assert len(lines) == 5000 and lines[-1].endswith("INFO - line 4999")


def test_a_forked_child_that_exits_normally_writes_nothing_twice(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from log_feed import Feed
        from flowmancer_log import FileLogger

        async def main():
            feed = Feed(FileLogger({str(tmp_path)!r})).start()
            feed.log("a", "before the fork")
            pid = os.fork()
            if pid == 0:
                sys.exit(0)  # a normal exit: exit hooks and finalizers run in the child
            os.waitpid(pid, 0)
            feed.log("a", "after the fork")
            feed.end()

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = (only_run_dir(tmp_path) / "a.log").read_text().splitlines()
    assert [ln.split(" - ")[1] for ln in lines] == ["before the fork", "after the fork"]


def test_relative_base_folder_is_fixed_at_run_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    logger = FileLogger()  # ./logs, retention 10 days
    feed = Feed(logger).start()
    os.mkdir(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path / "elsewhere")  # a task changing directory moves nothing
    feed.log("a", "x")
    feed.end()
    assert (only_run_dir(tmp_path / "logs") / "a.log").is_file()


def test_a_bad_open_file_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_open_files"):
        FileLogger(max_open_files=0)


def test_path_for_before_any_run_says_so() -> None:
    with pytest.raises(RuntimeError, match="no run"):
        FileLogger().path_for("a")


def test_a_flush_that_fails_when_the_loop_is_idle_is_reported_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    logger = FileLogger(tmp_path)

    def broken() -> None:
        raise OSError(28, "No space left on device")

    async def main() -> None:
        feed = Feed(logger).start()
        logger._idle._callback = broken
        for _ in range(3):
            feed.log("a", "x")
            await asyncio.sleep(0)
        feed.end()

    asyncio.run(main())
    assert capfd.readouterr().err.count("No space left on device") == 1


def test_when_the_run_folder_cannot_be_made_nothing_goes_to_the_last_one(
    tmp_path: Path,
) -> None:
    logger = FileLogger(tmp_path / "logs")
    feed = Feed(logger).start()
    feed.end()
    (tmp_path / "logs" / "job").rename(tmp_path / "moved")
    (tmp_path / "logs" / "job").write_text("a file where the job folder should be\n")
    with pytest.raises(OSError, match="exists|directory"):
        Feed(logger).start()
    before = {p: p.read_bytes() for p in (tmp_path / "moved").rglob("*") if p.is_file()}
    feed.log("a", "lost, but not written into the previous run")  # dropped: the start failed
    after = {p: p.read_bytes() for p in (tmp_path / "moved").rglob("*") if p.is_file()}
    assert after == before


def test_records_after_the_end_of_a_run_open_no_file(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path / "logs")
    feed = Feed(logger).start()
    feed.log("a", "during")
    feed.end()
    feed.log("a", "after the end")
    assert logger.path_for("a").read_text().count("after the end") == 0
    assert not logger._open


def test_a_name_of_lone_surrogates_still_makes_a_file_of_legal_length(tmp_path: Path) -> None:
    logger = FileLogger(tmp_path / "logs")
    feed = Feed(logger, tasks=("\udcff" * 60,)).start()
    feed.log("\udcff" * 60, "odd name")
    feed.end()
    (only,) = logger.run_dir.iterdir() if logger.run_dir else ()
    assert len(only.name.encode()) <= 255 and "odd name" in only.read_text()
