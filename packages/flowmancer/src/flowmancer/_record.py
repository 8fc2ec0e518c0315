"""The run record's recorder, made for a job run by the driver (``config.record``).

``flowmancer_log.RunRecorder`` writes the record; what only the driver knows (the job file, the
command line, each task's dependencies, pool and parameters, with secrets masked) is handed to it
here, and the dry run, which never reaches the runner, is recorded here too.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._mask import mask_command, mask_parameters
from ._version import __version__

if TYPE_CHECKING:
    from flowmancer_exec import Runner
    from flowmancer_log import RunRecorder

__all__ = ["make_recorder", "record_dry_run", "recorder_of", "records_folder", "report_at_end"]

DEFAULT_LOGS = "logs"
DEFAULT_RETENTION = 10.0


def records_folder(loggers: Iterable[Any], root: Path) -> tuple[Any, Path, float]:
    """The ``FileLogger`` the record goes beside (or None), the folder job folders go in, and
    their retention in days."""
    from flowmancer_log import FileLogger

    beside = next((o for o in loggers if isinstance(o, FileLogger)), None)
    if beside is not None:
        return beside, Path(beside.base_log_dir), float(beside.retention_days)
    return None, root / DEFAULT_LOGS, DEFAULT_RETENTION


def make_recorder(
    runner: Runner,
    loggers: Iterable[Any],
    root: Path,
    job_file: str | None,
    args: argparse.Namespace,
) -> RunRecorder:
    """A recorder for ``runner``'s runs, beside the first ``FileLogger`` when there is one."""
    from flowmancer_log import RunRecorder

    beside, base, retention = records_folder(loggers, root)
    details = {
        "job_file": job_file,
        "command": mask_command(getattr(sys, "orig_argv", sys.argv)),
        "cwd": getattr(args, "caller", None) or os.getcwd(),
        "root": str(root),
        "host": socket.gethostname(),
        "user": _user(),
        "pid": os.getpid(),
        # What platform.python_version() says (the first word of sys.version), without
        # importing platform (about a millisecond of regular expressions) into every run.
        "versions": {"flowmancer": __version__, "python": sys.version.split()[0]},
        "executor": type(runner.executor).__name__.replace("Executor", "").lower(),
        "max_concurrency": runner.max_concurrency,
        # Made when the run starts and let go once written: masked copies of every task's
        # parameters are not kept in the process each attempt is forked from.
        "tasks": lambda: _tasks(runner),
    }
    typed = getattr(args, "typed", None)  # None: embedded, no command line to repeat
    if typed is not None:
        # The command as typed, split as the driver's "resume with" line splits it, so that a
        # report built later says the same command.
        head, flags = typed
        details["typed"] = {"program": mask_command(head), "flags": mask_command(flags)}
    return RunRecorder(base, retention, beside=beside, details=details)


def _tasks(runner: Runner) -> dict[str, dict[str, Any]]:
    """What the record says of each task: class, dependencies, parameters (masked), pool."""
    prepared = runner.prepared
    graph = prepared.graph
    tasks: dict[str, dict[str, Any]] = {}
    for name, spec in prepared.specs.items():
        entry: dict[str, Any] = {
            "task": getattr(prepared.classes.get(name), "__name__", str(spec.task)),
            "dependencies": list(graph.dependencies(name)),
        }
        parameters = prepared.parameters.get(name)
        if parameters:
            entry["parameters"] = mask_parameters(parameters)
        if spec.pool is not None:
            entry["pool"] = spec.pool
        if spec.max_attempts != 1:
            entry["max_attempts"] = spec.max_attempts
        tasks[name] = entry
    return tasks


def recorder_of(runner: Runner) -> RunRecorder | None:
    """The recorder among ``runner``'s observers (None: the job keeps no record)."""
    from flowmancer_log import RunRecorder

    return next((o for o in runner.observers if isinstance(o, RunRecorder)), None)


def record_dry_run(
    runner: Runner, args: argparse.Namespace, plan: Mapping[str, str], resumed_from: str | None
) -> None:
    """The record of a dry run: what each task would do; nothing ran."""
    recorder = recorder_of(runner)
    if recorder is None:
        return
    from flowmancer_exec import RunStart, new_run_id

    if resumed_from:
        recorder.details["resumed_from"] = resumed_from
    start = RunStart(runner.job, new_run_id(), runner.tasks, time.time(), bool(args.restart))
    try:
        recorder.record_plan(start, plan)
    except OSError as error:  # a dry run is not failed by its record
        print(f"flowmancer: warning: the dry run could not be recorded: {error}", file=sys.stderr)


def _user() -> str | None:
    # getpass.getuser()'s own order, without importing getpass (and termios) for it.
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(variable)
        if user:
            return user
    try:
        import pwd

        return pwd.getpwuid(os.getuid())[0]
    except Exception:  # no name for this uid (a container): the record says nothing
        return None


def report_at_end(record: Path | None) -> Path | None:
    """The report of the run just recorded in ``record``, beside it (``config.report`` or
    ``--report``); None, after a warning, when it could not be written: a run is not failed by
    its report."""
    if record is None:
        return None
    from flowmancer_log import RecordError, read_record

    from ._report import write_report

    try:
        return write_report(read_record(record))
    except (OSError, RecordError) as error:
        print(
            f"flowmancer: warning: the run's report could not be written: {error}", file=sys.stderr
        )
        return None
