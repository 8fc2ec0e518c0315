"""Retention: old run folders go, everything else stays, nothing outside the log folder is
touched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from log_feed import Feed

from flowmancer_log import FileLogger
from flowmancer_log._format import run_folder_name
from flowmancer_log._retention import expired_runs, remove_expired_runs

DAY = 86400.0


def make_run(job_dir: Path, started: float, suffix: str = "") -> Path:
    folder = job_dir / (run_folder_name(started) + suffix)
    folder.mkdir(parents=True)
    (folder / "task.log").write_text("old\n")
    (folder / "nested").mkdir()
    (folder / "nested" / "more.log").write_text("old\n")
    return folder


def run_once(base: Path, retention_days: float, job: str = "job") -> FileLogger:
    logger = FileLogger(base, retention_days)
    feed = Feed(logger, job=job).start(started=time.time())
    feed.log("a", "new")
    feed.end()
    return logger


def test_run_folders_older_than_the_retention_are_removed_at_run_end(tmp_path: Path) -> None:
    now = time.time()
    job_dir = tmp_path / "job"
    old = [make_run(job_dir, now - d * DAY) for d in (11, 30, 400)]
    old.append(make_run(job_dir, now - 11 * DAY, "-2"))
    young = [make_run(job_dir, now - d * DAY) for d in (0.5, 9.9)]
    logger = FileLogger(tmp_path, retention_days=10)
    feed = Feed(logger).start(started=now)
    feed.log("a", "x")
    feed.end()
    assert logger.run_dir is not None
    assert sorted(job_dir.iterdir()) == sorted([*young, logger.run_dir])


def test_negative_retention_keeps_everything(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    ancient = make_run(job_dir, time.time() - 5000 * DAY)
    run_once(tmp_path, -1)
    assert ancient.is_dir()
    assert len(list(job_dir.iterdir())) == 2


def test_zero_retention_keeps_only_the_run_that_just_ended(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    make_run(job_dir, time.time() - 60)
    logger = run_once(tmp_path, 0)
    assert list(job_dir.iterdir()) == [logger.run_dir]


def test_only_folders_named_like_runs_are_ever_removed(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    keep = [
        job_dir / "2020-01-01",  # a date, but not our format
        job_dir / "2020-01-01T00-00-00.000Z.bak",
        job_dir / "notes",
        job_dir / "2020-01-01T00-00-00.000Z-x",
    ]
    for folder in keep:
        folder.mkdir()
    file_named_like_a_run = job_dir / "2020-01-01T00-00-00.001Z"
    file_named_like_a_run.write_text("a file, not a folder\n")
    run_once(tmp_path, 1)
    for path in [*keep, file_named_like_a_run]:
        assert path.exists(), path


def test_links_are_never_followed_out_of_the_log_folder(tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data.txt").write_text("keep me\n")
    base = tmp_path / "logs"
    job_dir = base / "job"
    job_dir.mkdir(parents=True)
    # A link named like an old run, pointing outside.
    link = job_dir / "2020-01-01T00-00-00.000Z"
    link.symlink_to(outside, target_is_directory=True)
    # An old run holding a link to the outside: the link goes, its target stays.
    old = job_dir / "2020-01-02T00-00-00.000Z"
    old.mkdir()
    (old / "link").symlink_to(outside, target_is_directory=True)
    run_once(base, 1)
    assert link.is_symlink()
    assert not old.exists()
    assert (outside / "data.txt").read_text() == "keep me\n"


def test_a_job_folder_linked_to_elsewhere_is_not_cleaned(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    ancient = make_run(elsewhere, 0.0)  # 1970
    base = tmp_path / "logs"
    base.mkdir()
    (base / "job").symlink_to(elsewhere, target_is_directory=True)
    run_once(base, 1)
    assert ancient.is_dir()


def test_other_jobs_folders_are_left_to_their_own_runs(tmp_path: Path) -> None:
    other = make_run(tmp_path / "other-job", 0.0)
    run_once(tmp_path, 1, job="job")
    assert other.is_dir()


def test_age_is_read_from_names_without_looking_inside(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    now = 2_000_000_000.0
    folders = [make_run(job_dir, now - d * DAY) for d in (1, 2, 3, 4)]
    for folder in folders:  # file times say "new": they do not count
        os.utime(folder / "task.log", (now, now))
    assert expired_runs(job_dir, 2.5, now) == folders[2:][::-1]
    assert expired_runs(job_dir, 2.5, now, keep={folders[3].name}) == [folders[2]]
    assert expired_runs(tmp_path / "missing", 1, now) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root removes anything")
def test_a_folder_that_cannot_be_removed_whole_is_not_reported_removed(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    stuck = make_run(job_dir, 0.0)
    os.chmod(stuck / "nested", 0o500)  # its file cannot be unlinked (unless we are root)
    try:
        removed = remove_expired_runs(tmp_path, job_dir, 1, now=DAY * 10)
        assert stuck.exists() and stuck not in removed
    finally:
        if (stuck / "nested").exists():
            os.chmod(stuck / "nested", 0o700)


def test_a_folder_another_run_still_writes_in_is_never_removed(tmp_path: Path) -> None:
    live = FileLogger(tmp_path, 10)
    Feed(live, job="job").start(started=time.time() - 30 * DAY)  # a run begun long ago, alive
    assert live.run_dir is not None and (live.run_dir / ".running").exists()
    ended = run_once(tmp_path, 0)  # keeps only its own run... but not a live one
    assert live.run_dir.is_dir() and ended.run_dir is not None
    dead = make_run(tmp_path / "job", time.time() - 40 * DAY)
    (dead / ".running").touch()  # left by a run that was killed: nobody holds it
    run_once(tmp_path, 0)
    assert not dead.exists() and live.run_dir.is_dir()


@pytest.mark.parametrize("days", ["10", None, True, float("nan")])
def test_a_retention_that_is_not_a_number_is_refused_at_once(tmp_path: Path, days: object) -> None:
    with pytest.raises(TypeError, match="retention_days must be a number of days"):
        FileLogger(tmp_path, days)  # type: ignore[arg-type]


def test_an_endless_retention_keeps_everything(tmp_path: Path) -> None:
    old = make_run(tmp_path / "job", 0.0)
    for days in (float("inf"), 1e12):
        run_once(tmp_path, days)
    assert old.is_dir()
