"""``Flowmancer``: the driver users start from ``main.py`` (compatible with Flowmancer 0.12)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# _interrupt is imported with the driver, not in start(): a Ctrl-C landing in an import there,
# before the driver's SIGINT handler is in place, would be Python's own traceback.
from ._collector import deferring_collection
from ._interrupt import interrupted_by, noticing_interrupts, quiet_on_the_way_out
from ._jobfile._problems import (
    JobFileError,
    Mark,
    Problem,
    describe,
    file_order,
    without_consequences,
)
from ._jobfile._schema import JobDefinition, TaskDefinition
from ._remember import RecordingEnviron
from ._streams import hardy_stdio, json_stderr, reserve_stdio
from .exceptions import USAGE, NoTasksLoadedError
from .exceptions import CannotStartError as Stop

__all__ = [
    "CANNOT_START",
    "Flowmancer",
    "Stop",
    "job_file_status",
    "joined",
    "together",
]

CANNOT_START = 99
DEFAULT_JOB_FILE = "job.yaml"


class Flowmancer:
    """Loads a job (a job file, or tasks added in Python) and runs it.

    Args:
        test: do not read the command line (for tests and embedding).
        debug: show the traceback of an unexpected error of ours.
    """

    def __init__(self, *, test: bool = False, debug: bool = False) -> None:
        self._test = test
        self._debug = debug
        self._vars: dict[str, str] = {}
        self._job: JobDefinition | None = None
        self._marks: Mapping[str, Mark] = {}
        self._added: dict[str, TaskDefinition] = {}
        self._added_classes: dict[str, Any] = {}
        self._root = Path.cwd()

    # -- building the job -----------------------------------------------------------------------

    def set_jobdef_var(self, key: str, value: str) -> None:
        """Give ``$VAR{key}`` a value for the next job file loaded."""
        self._vars[_text(key, "key")] = _text(value, "value")

    def unset_jobdef_var(self, key: str) -> None:
        """Forget a value given with ``set_jobdef_var``."""
        del self._vars[_text(key, "key")]

    def load_job_definition(
        self,
        j: JobDefinition | str | os.PathLike[str],
        app_root_dir: str | None = None,
        jobdef_type: str = "yaml",
    ) -> Flowmancer:
        """Read a job file (or take a ``JobDefinition``); its tasks join any added in Python.

        Raises:
            JobFileError: every problem in the file, each at its file, line and column.
        """
        from ._jobfile._load import read_job

        if jobdef_type != "yaml":
            raise ValueError(f"unknown job file type {jobdef_type!r} (only 'yaml')")
        root = Path(app_root_dir).absolute() if app_root_dir else self._root
        if isinstance(j, JobDefinition):
            self._job, self._marks = j, {}
        else:
            self._job, self._marks = read_job(j, app_root=root, variables=self._vars)
        return self

    def get_job_definition(self) -> JobDefinition:
        """The job as loaded (and with the tasks added in Python)."""
        job = self._job or JobDefinition()
        job.tasks = {**job.tasks, **self._added}
        return job

    def add_executor(
        self,
        name: str,
        task_class: str | type,
        deps: Sequence[str] | None = None,
        max_attempts: int = 1,
        backoff: float = 0,
        parameters: Mapping[str, Any] | None = None,
    ) -> Flowmancer:
        """Add a task in Python (as in 0.12): by class or by its registered name."""
        variant = task_class if isinstance(task_class, str) else task_class.__name__
        if not isinstance(task_class, str):
            self._added_classes[name] = task_class
        self._added[name] = TaskDefinition(
            variant,
            list(deps or []),
            dict(parameters or {}),
            max_attempts=max_attempts,
            backoff=float(backoff),
        )
        return self

    # -- running --------------------------------------------------------------------------------

    def start(
        self,
        default_jobdef_path: str | None = None,
        default_jobdef_type: str = "yaml",
        raise_exception_on_failure: bool = False,
    ) -> int:
        """Run the job; returns the number of tasks that did not complete (0: all did).

        Returns 99 when the job cannot start (the reason is printed: file, place, problem).
        """
        reserve_stdio()
        # Under test (embedded), signals are given back as they were once start() returns.
        with noticing_interrupts(settle=not self._test) as ending, hardy_stdio():
            ending.status = self._parse_and_start(
                default_jobdef_path, default_jobdef_type, raise_exception_on_failure
            )
            return ending.status

    def _parse_and_start(
        self, default_jobdef_path: str | None, default_jobdef_type: str, raise_on_failure: bool
    ) -> int:
        try:
            # The import too: a signal can land while it runs (start() has already begun).
            from ._args import parse_args

            args = parse_args([] if self._test else None)
        except KeyboardInterrupt:
            if raise_on_failure:
                raise
            return _interrupted()
        if self._test:  # as in 0.12: no loggers and no extensions under test
            args.test_mode = True
        else:  # for the line that says how to resume a run that did not succeed
            from ._args import typed_driver_command

            args.typed = typed_driver_command()
        root = Path.cwd() if self._test else _driver_folder()
        return self._start_parsed(
            args,
            Path.cwd(),
            root,
            default_jobdef_path,
            default_jobdef_type,
            raise_on_failure,
        )

    def _start_parsed(
        self,
        args: argparse.Namespace,
        caller: Path,
        root: Path,
        default_jobdef_path: str | None = None,
        default_jobdef_type: str = "yaml",
        raise_exception_on_failure: bool = False,
    ) -> int:
        if args.debug:
            self._debug = True
        self._root = root
        args.caller = str(caller)  # where the command was given (the run record says it)
        json_lines = getattr(args, "log_format", None) == "json"
        with (
            json_stderr(json_lines),
            _inside(self._root),
            deferring_collection(),
            quiet_on_the_way_out(),
        ):
            try:
                # The fork server when asked for, forked now while the driver is small
                # (flowmancer_exec's README: how an attempt is started); a stop meanwhile is an
                # interruption. Not asked for: the runner's modules are imported later, as ever.
                server: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
                if _forks(args):
                    from flowmancer_exec._fork_client import fork_server_for_run

                    server = fork_server_for_run()
                with server:
                    return self._start(args, caller, default_jobdef_path, default_jobdef_type)
            except Stop as stop:
                if raise_exception_on_failure:
                    raise
                _say_problems(stop.problems)
                return stop.exit_status
            except JobFileError as error:
                if raise_exception_on_failure:
                    raise
                _say_problems(list(error.problems))
                given = caller / args.jobdef if args.jobdef else None
                return job_file_status(given)
            except KeyboardInterrupt:
                # Ctrl-C before the runner took over SIGINT (while reading the job or importing
                # the tasks) or after it gave it back: what ran is in the checkpoint.
                if raise_exception_on_failure:
                    raise
                return _interrupted()
            except Exception as error:  # ours: say it in one line unless debugging
                if raise_exception_on_failure:
                    raise
                if self._debug:
                    import traceback

                    traceback.print_exc()
                print(f"flowmancer: error: {type(error).__name__}: {error}", file=sys.stderr)
                return CANNOT_START

    def _start(
        self, args: argparse.Namespace, caller: Path, default_path: str | None, kind: str
    ) -> int:
        from ._jobfile._load import read_job

        self._vars.update(dict(args.var))
        found: list[Problem] = []  # problems in the file, reported with those found later
        # What the job file reads from the environment is never shown (see _remember).
        environ = RecordingEnviron(os.environ)
        reused: dict[str, str] = {}
        job_file = self._job_file(args, caller, default_path)
        if job_file is not None:
            if (args.type or kind) != "yaml":
                raise Stop([f"unknown job file type {args.type or kind!r} (only 'yaml')"])
            self._job, self._marks = read_job(
                job_file, app_root=self._root, variables=self._vars, environ=environ, found=found
            )
            if args.restart and not args.fresh and not found:
                # A resume continues with the --var values of the run it resumes, unless given
                # again: read the file once more with them.
                from ._remember import remembered_variables

                earlier = remembered_variables(self._job, self._root)
                reused = {k: v for k, v in earlier.items() if k not in self._vars}
                if reused:
                    self._vars.update(reused)
                    self._job, self._marks = read_job(
                        job_file,
                        app_root=self._root,
                        variables=self._vars,
                        environ=environ,
                        found=found,
                    )
        # The runner's modules only now (asyncio, flowmancer_exec: ~8 MB): they take the memory
        # reading the job file left free, and a job file with a mistake is reported sooner.
        from ._run import build, run_job

        job = self.get_job_definition()
        if not job.tasks and not found:
            raise NoTasksLoadedError(
                ["no tasks to run: give a job file with -j JOB, or add tasks in Python"]
            )
        try:
            if not found:
                return run_job(
                    job,
                    self._marks,
                    self._root,
                    args,
                    self._added_classes,
                    job_file,
                    variables=self._vars,
                    reused=reused,
                    environ=environ,
                )
            build(job, self._marks, self._root, args, self._added_classes)
        except Stop as stop:
            raise joined(found, stop) from None
        raise Stop(found)

    def _job_file(
        self, args: argparse.Namespace, caller: Path, default_path: str | None
    ) -> Path | None:
        """The job file to read: ``-j`` (from the caller's folder), else the driver's own
        default (``start("job.yaml")``, from the driver's folder, as in 0.12), else — for a job
        not built in Python — with ``-r`` the project's unfinished run, else ``job.yaml``
        beside the driver.

        Raises:
            Stop: (exit status 2) no job file, or ``-r`` finds several unfinished runs.
        """
        if args.jobdef:
            return Path(args.jobdef) if os.path.isabs(args.jobdef) else caller / args.jobdef
        if default_path:
            return Path(default_path) if os.path.isabs(default_path) else self._root / default_path
        if self._job is not None or self._added or self._test:
            return None  # built in Python (or 0.12's test mode, which reads no command line)
        if args.restart:
            from ._unfinished import unfinished

            runs = unfinished(self._root)
            if len(runs) > 1:
                raise Stop([_several_unfinished(runs, caller, args)], exit_status=USAGE)
            if runs:
                print(
                    f"flowmancer: -r: resuming job {runs[0].job!r} from "
                    f"{_shown(runs[0].job_file, caller)}, where its unfinished run came from",
                    file=sys.stderr,
                )
                return runs[0].job_file
        default = self._root / DEFAULT_JOB_FILE
        if not default.exists():
            raise NoTasksLoadedError(
                [f"no job file: {default} does not exist (give one with -j JOB)"],
                exit_status=USAGE,
            )
        return default


def job_file_status(given: Path | None) -> int:
    """The exit status for a job file that could not be read: 2 (a usage error, as for a bad
    flag value) when the one named on the command line is not there or is a folder, else 99."""
    if given is not None and (not given.exists() or given.is_dir()):
        return USAGE
    return CANNOT_START


def _several_unfinished(runs: Sequence[Any], caller: Path, args: argparse.Namespace) -> str:
    """Which runs ``-r`` could resume, each with the command that does: the one given (as the
    driver's "resume with" line shows it), with ``-j`` and the run's job file added."""
    from ._args import typed_command, typed_driver_command

    typed = getattr(args, "typed", None) or typed_driver_command()
    lines = [f"-r: {len(runs)} jobs have an unfinished run here; say which one to resume:"]
    for run in runs:
        command = typed_command(typed, "-j", _shown(run.job_file, caller))
        lines.append(f"  {command}    (job {run.job!r})")
    return "\n".join(lines)


def _shown(path: Path, caller: Path) -> str:
    """``path`` as the user would type it from ``caller`` (relative when it lies below)."""
    try:
        return str(path.relative_to(caller))
    except ValueError:
        return str(path)


def _forks(args: argparse.Namespace) -> bool:
    """Whether a fork server is asked for (``FLOWMANCER_FORK_SERVER=1``) and this run may fork
    attempts."""
    asked = os.environ.get("FLOWMANCER_FORK_SERVER", "").strip().lower()
    if asked not in ("1", "yes", "true", "on"):
        return False
    if args.executor not in (None, "process") or getattr(args, "dask_address", None):
        return False
    return not getattr(args, "dry_run", False)


def _interrupted() -> int:
    name = interrupted_by()
    print(f"flowmancer: interrupted ({name})", file=sys.stderr)
    return 128 + signal.Signals[name].value


def joined(found: Sequence[Problem], stop: Stop) -> Stop:
    """``stop`` (of the same type) with the problems ``found`` in the job file first."""
    return type(stop)(together(found, stop.problems), exit_status=stop.exit_status)


def together(found: Sequence[Problem], later: Sequence[object]) -> list[object]:
    """The problems found in a job file and those found by later checks, as one list in file
    order, without the later ones that only follow from a value the file got wrong."""
    return _in_file_order([*found, *without_consequences(found, later)])


def _in_file_order(problems: Sequence[object]) -> list[object]:
    # Problems from the file and from later checks, once each; those without a place last.
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: file_order(p, unmarked=("~", 0, 0)))


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"str expected for {what}, not {type(value).__name__}")
    return value


def _driver_folder() -> Path:
    """The folder of the script that was started (``main.py``), as 0.12 took it; the current
    folder when Python was started with ``-m`` (pytest, a package's ``__main__``) or ``-c``."""
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if not file or getattr(main, "__spec__", None) is not None:
        return Path.cwd()
    return Path(file).absolute().parent


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    # 0.12 ran jobs from the driver's folder, and task code relies on relative paths from it.
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _say_problems(problems: Sequence[object]) -> None:
    print(f"flowmancer: error: {describe(problems)}", file=sys.stderr)
