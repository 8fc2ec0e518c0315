"""Removing the run folders of a job that are older than the retention period.

Age is read from the folder's name (its run's start, sortable as text), never from the files
inside, so a folder of 10,000 runs costs one directory listing and no ``stat`` per file. Only
real folders (not symbolic links) whose name is a run folder's are removed, and only below the
job's folder, which itself must lie inside the base folder once links are resolved.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Collection
from pathlib import Path

from ._format import RUN_FOLDER, open_for_appending, run_folder_name, safe_name

__all__ = [
    "expired_runs",
    "hold_live",
    "is_live",
    "make_run_folder",
    "release_live",
    "remove_expired_runs",
]

DAY = 86400.0


def expired_runs(
    job_dir: Path, retention_days: float, now: float, keep: Collection[str] = ()
) -> list[Path]:
    """The run folders in ``job_dir`` that started more than ``retention_days`` before ``now``.

    Negative ``retention_days`` keeps everything; names in ``keep`` are never returned.
    """
    if retention_days < 0:
        return []
    cutoff = run_folder_name(now - retention_days * DAY)
    found = []
    try:
        entries = os.scandir(job_dir)
    except OSError:  # no folder yet, or not ours to read: nothing to remove
        return []
    with entries:
        for entry in entries:
            match = RUN_FOLDER.match(entry.name)
            if match is None or entry.name in keep or match.group(1) >= cutoff:
                continue
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            found.append(job_dir / entry.name)
    return sorted(found)


def remove_expired_runs(
    base_dir: Path,
    job_dir: Path,
    retention_days: float,
    now: float | None = None,
    keep: Collection[str] = (),
) -> list[Path]:
    """Remove what ``expired_runs`` finds, if ``job_dir`` lies inside ``base_dir``.

    Returns the folders removed. A folder that cannot be removed whole is left as it is.
    """
    if retention_days < 0:
        return []
    try:
        inside = job_dir.resolve().is_relative_to(base_dir.resolve())
    except OSError:
        return []
    if not inside:  # the job's folder is a link to elsewhere: not ours to clean
        return []
    removed = []
    for folder in expired_runs(job_dir, retention_days, time.time() if now is None else now, keep):
        if not is_live(folder) and _rmtree(folder):
            removed.append(folder)
    return removed


LIVE = ".running"


def make_run_folder(base_dir: Path, job: str, started: float) -> tuple[Path, int | None]:
    """A new folder for a run of ``job`` under ``base_dir``: ``<job>/<run start>`` (with
    ``-2``… if taken), marked live (see ``hold_live``); returns it and the mark's descriptor."""
    job_dir = base_dir / safe_name(job)
    job_dir.mkdir(parents=True, exist_ok=True)
    stamp = run_folder_name(started)
    folder = job_dir / stamp
    n = 1
    while True:
        try:
            folder.mkdir()  # atomic: two runs starting together never share a folder
        except FileExistsError:
            n += 1
            folder = job_dir / f"{stamp}-{n}"
            continue
        # Retention by another run of this job must not remove a folder in use.
        return folder, hold_live(folder)


def hold_live(folder: Path) -> int | None:
    """Mark ``folder`` as the folder of a run in progress; returns the descriptor to keep open.

    The mark is an ``flock`` on ``folder/.running``: the kernel drops it when the run's process
    (and the task processes it forked) are gone, so a killed run never keeps its folder forever.
    """
    try:
        fd = open_for_appending(folder / LIVE, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release_live(folder: Path, fd: int | None) -> None:
    """Drop the mark ``hold_live`` made."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.unlink(folder / LIVE)
        os.close(fd)


def is_live(folder: Path) -> bool:
    """True while another run still writes into ``folder`` (another process of the same job, or
    a run longer than the retention period)."""
    try:
        fd = os.open(folder / LIVE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _rmtree(folder: Path) -> bool:
    """Remove ``folder`` and what it holds; False if some of it could not be removed.

    ``rmtree`` never follows a link inside the folder: it removes the link itself.
    """
    import shutil  # only when something expired

    failed: list[object] = []

    def note(*args: object) -> None:
        failed.append(args[1])

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=note)
    else:  # onerror is deprecated from 3.12 on, and onexc does not exist before it
        shutil.rmtree(folder, onerror=note)
    return not failed
