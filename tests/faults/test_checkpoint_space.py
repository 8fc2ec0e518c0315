"""A checkpoint folder that cannot be written, and a disk that fills up during a run.

Nothing is worth running when its restart state cannot be kept: a checkpoint folder that cannot
be written stops the run before any task, with one message naming the folder (exit 99), and
leaves what is in it as it was. A disk that fills up while tasks run cannot be foreseen: the run
goes on, says once that its checkpoint could not be saved, and the last good save stays whole
(the whole file is replaced through a temporary file; the journal may be cut at its last line),
so a resume once there is space again is clean.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from checkpoint_faults_support import (
    BIG,
    TASKS,
    build_failed,
    checkpoint_dir,
    driver,
    journal_path,
    json_path,
    kept_files,
    make_project,
    problems_of_refusal,
    problems_of_resume,
    ran,
    saved_completed,
    sqlite_completed,
)
from faults_support import assert_none_left, driver_env, new_tag

KINDS = ["file", "sqlite"]
ROOT = os.geteuid() == 0


def _system(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@contextmanager
def _restricted(apply: list[list[str]], undo: list[list[str]], what: str) -> Iterator[None]:
    """Run `apply` (skipping the test, with the reason, when the machine does not allow it),
    then always `undo`."""
    done = 0
    try:
        for command in apply:
            try:
                _system(*command)
            except (OSError, subprocess.CalledProcessError) as error:
                pytest.skip(f"{what} is not possible here: {error}")
            done += 1
        yield
    finally:
        for command in reversed(undo[:done]):  # undo[i] undoes apply[i]
            subprocess.run(command, capture_output=True, timeout=30, check=False)


def read_only(folder: Path) -> AbstractContextManager[None]:
    """`folder` mounted read-only over itself (what stops root, for whom chmod does not)."""
    return _restricted(
        [
            ["mount", "--bind", str(folder), str(folder)],
            ["mount", "-o", "remount,ro,bind", str(folder)],
        ],
        [["umount", str(folder)], ["true"]],  # the remount goes with the unmount
        "a read-only bind mount",
    )


def immutable(folder: Path) -> AbstractContextManager[None]:
    """`folder` marked immutable: no file can be made in it (root included); those in it can
    still be written, so the lock is taken and only a check before the run can tell."""
    return _restricted(
        [["chattr", "+i", str(folder)]], [["chattr", "-i", str(folder)]], "chattr +i"
    )


def refused(folder: Path, *args: str) -> list[str]:
    """Run the driver in `folder` where it must refuse to start: what is wrong if it did not."""
    before = kept_files(folder) if checkpoint_dir(folder).is_dir() else {}
    result = driver(folder, *args)
    wrong = problems_of_refusal(result, folder, str(checkpoint_dir(folder)), ["nothing was run"])
    if checkpoint_dir(folder).is_dir() and kept_files(folder) != before:
        wrong.append("the checkpoint folder was changed")
    return wrong


# What root is stripped of so that permission bits stop it as they stop everyone else.
AS_A_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("mode", [0o000, 0o555])
def test_a_checkpoint_folder_without_permission_stops_the_run_before_any_task(
    tmp_path: Path, mode: int
) -> None:
    prefix: list[str] = []
    if ROOT:  # root ignores permission bits; without these capabilities it does not
        if shutil.which("setpriv") is None:
            pytest.skip("root ignores permission bits and setpriv is not here to drop that")
        prefix = AS_A_USER
    build_failed(tmp_path)  # a checkpoint and the job's lock file are already there
    before = kept_files(tmp_path)
    checkpoint_dir(tmp_path).chmod(mode)
    try:
        # 000: the lock cannot be taken; 555: the lock can, but no file can be made
        for args in (["-r"], [], ["-r", "--fresh"]):
            result = _run(tmp_path, *args, prefix=prefix)
            where = str(checkpoint_dir(tmp_path))
            assert problems_of_refusal(result, tmp_path, where, ["nothing was run"]) == []
            assert "resuming" not in result.stderr  # it did not
    finally:
        checkpoint_dir(tmp_path).chmod(0o755)
    assert kept_files(tmp_path) == before


@pytest.mark.skipif(not ROOT, reason="mounting needs root (CI runs as root)")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("restrict", [read_only, immutable], ids=["read-only", "immutable"])
def test_a_checkpoint_folder_that_cannot_be_written_stops_the_run_before_any_task(
    tmp_path: Path, kind: str, restrict: Callable[[Path], AbstractContextManager[None]]
) -> None:
    build_failed(tmp_path, kind)
    with restrict(checkpoint_dir(tmp_path)):
        assert refused(tmp_path, "-r") == []
        assert refused(tmp_path) == []
        assert refused(tmp_path, "-r", "--fresh") == []  # nothing cleared either
    result = driver(tmp_path, "-r")  # writable again: the checkpoint was kept whole
    assert problems_of_resume(result, tmp_path, TASKS[4:]) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_where_the_checkpoint_folder_should_be_stops_the_run(
    tmp_path: Path, kind: str
) -> None:
    make_project(tmp_path, kind)
    checkpoint_dir(tmp_path).write_text("notes the user keeps here\n")
    for args in (["-r"], []):
        result = driver(tmp_path, *args)
        says = ["is a file, where the checkpoint folder should be", "nothing was run"]
        assert problems_of_refusal(result, tmp_path, str(checkpoint_dir(tmp_path)), says) == []
    assert checkpoint_dir(tmp_path).read_text() == "notes the user keeps here\n"


# -- a full disk ---------------------------------------------------------------------------------


def _file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:  # in the driver's process, before it starts Python
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG, not a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def _run(
    folder: Path, *args: str, size: int | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The driver in `folder`, under a file-size limit of `size` bytes, started by `prefix`."""
    tag = new_tag()
    try:
        return subprocess.run(
            [*(prefix or []), sys.executable, "main.py", "-j", "job.yaml", *args],
            cwd=folder,
            env=driver_env(tag),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=None if size is None else _file_size_limit(size),
        )
    finally:
        assert_none_left(tag)


def _fill_up(folder: Path, kind: str, size: int | None) -> set[str]:
    """Run the job with t4 growing the checkpoint past what fits and t6 failing; check what the
    run says and what it kept; return the tasks its checkpoint still records as completed."""
    make_project(folder, kind)
    (folder / "big-t4").write_text(str(BIG))
    (folder / "fail-t6").touch()
    result = _run(folder, size=size)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output  # t6 failed, t7 and t8 defaulted
    assert "Traceback" not in output
    notes = [line for line in result.stderr.splitlines() if "could not be saved" in line]
    assert len(notes) == 1, output  # once, not at every save that failed after it
    assert str(checkpoint_dir(folder)) in notes[0], notes[0]
    assert any(why in notes[0] for why in ("File too large", "No space left", "disk full")), notes
    assert "resume (-r) runs again what finished since" in notes[0]
    assert ran(folder) == TASKS[:5]
    if kind == "file":
        # t4 copied the checkpoint to before/ as it started; the whole file was not touched
        # since, and the journal only grew (its last line may be cut).
        before = folder / "before"
        assert json_path(folder).read_bytes() == (before / json_path(folder).name).read_bytes()
        kept = (before / journal_path(folder).name).read_bytes()
        assert journal_path(folder).read_bytes().startswith(kept)
        (folder / "before-project").mkdir()
        shutil.copytree(before, folder / "before-project" / ".flowmancer")
        completed = saved_completed(folder)
        assert saved_completed(folder / "before-project") <= completed
    else:
        completed = sqlite_completed(folder)
    # What was saved before t4 is all there; t4's own finish could not be.
    assert {"t1", "t2"} <= completed <= {"t1", "t2", "t3"}, completed
    (folder / "fail-t6").unlink()
    (folder / "ran.txt").unlink()
    return completed


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_size_limit_during_a_run_keeps_the_last_good_checkpoint(
    tmp_path: Path, kind: str
) -> None:
    completed = _fill_up(tmp_path, kind, BIG * 3 // 4)
    result = driver(tmp_path, "-r")  # no limit now: the space is back
    assert problems_of_resume(result, tmp_path, set(TASKS) - completed) == []


@pytest.mark.skipif(not ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_a_full_disk_during_a_run_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    folder = checkpoint_dir(tmp_path)
    folder.mkdir()
    with _restricted(
        [["mount", "-t", "tmpfs", "-o", "size=64k", "flowmancer-full", str(folder)]],
        [["umount", str(folder)]],
        "a tmpfs of 64 KiB",
    ):
        completed = _fill_up(tmp_path, "file", None)
        _system("mount", "-o", "remount,size=4m", str(folder))  # the space is back
        result = driver(tmp_path, "-r")
        assert problems_of_resume(result, tmp_path, set(TASKS) - completed) == []
