"""A job file named on the ``flowmancer`` command line, read as the driver reads it (shared by
the commands in ``_cli`` and ``_runs``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._discover import DEFAULT_FOLDERS
from ._driver import Flowmancer, Stop, job_file_status
from ._jobfile._problems import JobFileError, Problem

__all__ = ["_loaded", "project_root"]


def _loaded(
    job_arg: str, variables: list[str], found: list[Problem] | None = None
) -> tuple[Flowmancer, Path]:
    """The job file read; with ``found``, its problems are added there, for ``_built`` to
    report with those of the later checks (as the driver does), instead of raised.

    Raises:
        Stop: the job file cannot be read (exit status 2 when it is not there or is a
            folder, else 99), each problem at its place.
    """
    from ._args import _var
    from ._jobfile._load import read_job

    job = Path(job_arg).absolute()
    root = project_root(job)
    driver = Flowmancer()
    for text in variables:
        try:
            key, value = _var(text)
        except argparse.ArgumentTypeError as error:
            print(f"flowmancer: error: --var: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        driver.set_jobdef_var(key, value)
    driver._root = root
    try:
        if found is None:
            driver.load_job_definition(job, str(root))
        else:
            driver._job, driver._marks = read_job(
                job, app_root=root, variables=driver._vars, found=found
            )
    except JobFileError as error:
        # Said here, where the job file is known: 2 when it is not there, else 99 (the
        # command line's first bare word may be a flag's value: report --run ID JOB).
        raise Stop(error.problems, exit_status=job_file_status(job)) from None
    return driver, root


def project_root(job: Path) -> Path:
    """The folder a driver beside the project's ``tasks`` would have: the job file's, or the
    nearest above it, up to the current folder, holding one of the folders discovery reads."""
    here = Path.cwd()
    folder = job.parent
    if folder != here and here not in folder.parents:
        return folder
    for candidate in (folder, *folder.parents):
        if any((candidate / name).is_dir() for name in DEFAULT_FOLDERS):
            return candidate
        if candidate == here:
            break
    return folder
