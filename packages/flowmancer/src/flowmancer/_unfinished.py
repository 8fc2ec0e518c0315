"""Which job file each unfinished run of a project came from, for ``python main.py -r``.

The checkpoint of a job is found by the job's name, which is in its job file; ``-r`` without
``-j`` has no job file to read it from. So when a run starts, the driver leaves a note in the
project's state folder (``.flowmancer/`` beside the driver), ``<job>.jobfile``, naming the job
file (relative to the project when it is inside it, so that a copy of the project resumes its
own), whatever checkpointer the job uses; the note goes when the job's checkpoint is cleared
after a whole run that succeeded. A note is plain JSON, written atomically, and kept as every
state file is (``flowmancer_checkpoint``'s rules: 0600 in a 0700 folder of the user's own, never
through a link, never on descriptors 0-2).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

__all__ = ["Unfinished", "forget", "note", "unfinished"]

FOLDER = ".flowmancer"
SUFFIX = ".jobfile"


class Unfinished:
    """An unfinished run: its job's name and the job file it came from."""

    __slots__ = ("job", "job_file")

    def __init__(self, job: str, job_file: Path) -> None:
        self.job = job
        self.job_file = job_file

    def __repr__(self) -> str:
        return f"Unfinished({self.job!r}, {str(self.job_file)!r})"


def _path(root: Path, job: str) -> Path:
    from flowmancer_checkpoint._store import safe_name

    return root / FOLDER / f"{safe_name(job)}{SUFFIX}"


def note(root: Path, job: str, job_file: Path) -> None:
    """Remember that a run of ``job`` from ``job_file`` is under way (replacing any note).

    Raises:
        OSError, flowmancer_checkpoint.CheckpointError: it could not be written.
    """
    from flowmancer_checkpoint._files import open_state, state_folder

    folder = root / FOLDER
    state_folder(folder)
    # Relative to the project when inside it: a copy of the project resumes its own job file.
    where = _normal(job_file)
    with contextlib.suppress(ValueError):
        where = where.relative_to(_normal(root))
    text = json.dumps({"job": job, "job_file": str(where)}) + "\n"
    temporary = folder / f".note-{os.getpid()}.tmp"
    fd = open_state(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, _path(root, job))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def forget(root: Path, job: str, job_file: Path | None = None) -> None:
    """The run of ``job`` is over: drop its note, and any other note for the same job file
    (left by the job under a name it no longer has)."""
    with contextlib.suppress(OSError):
        _path(root, job).unlink()
    if job_file is None:
        return
    where = _normal(job_file)
    for path, entry in _notes(root):
        if entry.job_file == where:
            with contextlib.suppress(OSError):
                path.unlink()


def unfinished(root: Path) -> list[Unfinished]:
    """The project's unfinished runs whose job file still exists, once per job file, by the
    job's name. Notes that cannot be read are passed over."""
    found: dict[Path, Unfinished] = {}
    for _, entry in _notes(root):
        if entry.job_file.exists():
            found.setdefault(entry.job_file, entry)
    return list(found.values())


def _notes(root: Path) -> list[tuple[Path, Unfinished]]:
    folder = root / FOLDER
    try:
        paths = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except OSError:
        return []
    notes = [(path, _read(path)) for path in paths]
    return [(path, entry) for path, entry in notes if entry is not None]


def _read(path: Path) -> Unfinished | None:
    from flowmancer_checkpoint import CheckpointError
    from flowmancer_checkpoint._files import read_state

    try:
        raw = read_state(path)
        entry = json.loads(raw) if raw is not None else None
    except (CheckpointError, ValueError):
        return None
    if not isinstance(entry, dict):
        return None
    job, job_file = entry.get("job"), entry.get("job_file")
    if not isinstance(job, str) or not isinstance(job_file, str) or not job_file:
        return None
    return Unfinished(job, _normal(path.parent.parent / job_file))  # in the project, or absolute


def _normal(path: Path) -> Path:
    return Path(os.path.normpath(path.absolute()))
