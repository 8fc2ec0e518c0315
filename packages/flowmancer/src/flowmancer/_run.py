"""From a checked job to a finished run: discovery, plugins, selection, resume, the run."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _unfinished
from ._collector import collecting_from_the_run, collector_paused
from ._discover import discover, discovery_error, not_registered
from ._jobfile._problems import Mark, Problem, Problems, file_of
from ._jobfile._schema import JobDefinition
from ._placing import matrix_place, place_problems
from ._plugins import build_checkpointer, build_extensions, build_loggers
from .exceptions import USAGE, CheckpointInvalidError, TaskValidationError
from .exceptions import CannotStartError as Stop

if TYPE_CHECKING:
    from flowmancer_checkpoint import Checkpointer, ResumePlan
    from flowmancer_exec import Runner, RunResult

    from ._remember import RecordingEnviron

__all__ = ["DASK_ADDRESS_VARIABLE", "Built", "build", "run_job"]

#: The environment variable naming the dask scheduler (between --dask-address and the job file).
DASK_ADDRESS_VARIABLE = "FLOWMANCER_DASK_ADDRESS"


@dataclasses.dataclass
class Built:
    """A job ready to run: its runner and checkpoint store, every check passed."""

    runner: Runner
    store: Checkpointer


@collector_paused()
def build(
    job: JobDefinition,
    marks: Mapping[str, Mark],
    root: Path,
    args: argparse.Namespace,
    classes: Mapping[str, Any],
) -> Built:
    """Discover the user's classes and check everything about the job; nothing runs.

    Raises:
        Stop: every problem, placed at its file, line and column where known.
    """
    from flowmancer_exec import JobError, Runner, TaskSpec

    file = file_of(marks) or "<job>"
    problems = Problems(marks, file)
    found = discover(root, job.config.extension_directories, job.config.extension_packages)
    for problem in found:
        problems.add(problem.place, problem.message)
    if problems.items:
        raise discovery_error(found)(problems.items)

    warned: set[str] = set()
    specs = [
        TaskSpec(
            name,
            classes.get(name, task.task),
            _parameters(name, task.parameters, marks, file, warned),
            task.dependencies,
            max_attempts=task.max_attempts,
            backoff=task.backoff,
            backoff_factor=task.backoff_factor,
            max_backoff=task.max_backoff,
            jitter=task.jitter,
            retry_on=task.retry_on,
            timeout=task.timeout,
            pool=task.pool,
            trigger_rule=task.trigger_rule,
        )
        for name, task in job.tasks.items()
    ]
    kind = args.executor or ("dask" if args.dask_address else job.config.executor)
    test_mode = getattr(args, "test_mode", False)  # 0.12's test mode: no loggers, extensions
    loggers = [] if test_mode else build_loggers(job.loggers, root, problems)
    extensions = [] if test_mode else build_extensions(job.extensions, root, problems)
    if args.log_format:  # the console view replaces the progress display
        from .extensions.progressbar import RichProgressBar

        extensions = [e for e in extensions if not isinstance(e, RichProgressBar)]
    store = build_checkpointer(job.checkpointer, root, problems)
    concurrency = (
        args.max_concurrency if args.max_concurrency is not None else (job.config.max_concurrency)
    )
    executor: Any = None
    # Only the executor the job uses is imported: each brings modules of its own.
    if kind == "thread":
        from flowmancer_exec import ThreadExecutor

        executor = ThreadExecutor()
    elif kind != "dask":
        from flowmancer_exec import ProcessExecutor

        executor = ProcessExecutor()
    else:
        from flowmancer_exec import DaskExecutor, ExecutorStartError, ExecutorUnavailableError

        dask = job.config.dask
        folders = [str(root), *(str(root / d) for d in job.config.extension_directories)]
        # Where the address came from, to name in a message about it: a key of the job file,
        # or the flag or variable (no place in the file).
        address, place = dask.address, "config.dask.address"
        if args.dask_address:
            address, place = args.dask_address, "--dask-address"
        elif os.environ.get(DASK_ADDRESS_VARIABLE):
            address, place = os.environ[DASK_ADDRESS_VARIABLE], f"${DASK_ADDRESS_VARIABLE}"
        try:
            executor = DaskExecutor(
                address,
                dask.n_workers,
                paths=folders,
                reconnect_timeout=dask.reconnect_timeout,
                connect_timeout=args.dask_connect_timeout or dask.connect_timeout,
            )
        except ExecutorUnavailableError as error:
            if args.executor or args.dask_address:  # asked for on the command line
                problems.items.append(Problem(str(error)))
            else:
                problems.add("config.executor", str(error))
        except ExecutorStartError as error:  # an address that cannot be one: said before anything
            text = f"{address!r}: {error.reason}"
            if place.startswith("config."):
                problems.add(place, text)
            else:
                problems.items.append(Problem(text, place))
        if executor is None:  # said above; the runner is still built, for its own checks
            from flowmancer_exec import ProcessExecutor

            executor = ProcessExecutor()
    runner = None
    try:
        runner = Runner(
            specs,
            job=job.config.name,
            executor=executor,
            max_concurrency=concurrency,
            pools=job.config.pools,
            observers=[*loggers, *extensions, *_console(args), *_hooks_of(store)],
            checkpoint=store,
            finally_grace_period=job.config.finally_grace_period,
            shared_dict_conflicts=job.config.shared_dict_conflicts,
        )
    except JobError as error:
        found = _explain_unregistered(error.problems, job, root)
        problems.items.extend(place_problems(found, marks, file))
    if problems.items or runner is None:
        # 0.12 checked tasks (classes and parameters) last and raised TaskValidationError.
        about_tasks = any(p.place.startswith("tasks.") for p in problems.items)
        raise (TaskValidationError if about_tasks else Stop)(problems.items)
    if job.config.record and not test_mode:  # beside the loggers: after them, as they start it
        from ._record import make_recorder

        recorder = make_recorder(runner, loggers, root, file if marks else None, args)
        runner.observers.insert(len(loggers), recorder)
    return Built(runner, store)


def _explain_unregistered(found: Sequence[Any], job: JobDefinition, root: Path) -> list[Any]:
    """exec's problems, with "no task class named X" replaced by where X is, when the user's
    modules define it but did not register it."""
    from flowmancer_exec import Problem, registered_tasks

    registered = registered_tasks()
    why: dict[str, str] = {}
    for name, task in job.tasks.items():
        if task.task not in registered:
            reason = not_registered(task.task, root)
            if reason is not None:
                why[f"tasks.{name}.task"] = reason
    return [Problem(p.place, why[p.place]) if p.place in why else p for p in found]


# Given to every task by Flowmancer. 0.12 accepted them among a job file's parameters and
# ignored them; so do we, saying so.
_SET_BY_FLOWMANCER = ("shared_dict", "logger", "metadata")


def _parameters(
    name: str, parameters: dict[str, Any], marks: Mapping[str, Mark], file: str, warned: set[str]
) -> dict[str, Any]:
    """A task's parameters without those Flowmancer sets itself, each warned about once."""
    ignored = [key for key in _SET_BY_FLOWMANCER if key in parameters]
    if not ignored:
        return parameters
    for key in ignored:
        place = matrix_place(f"tasks.{name}.parameters.{key}", marks)
        if place not in warned:
            warned.add(place)
            said = Problems(marks, file)
            said.add(place, f"ignored: Flowmancer gives every task its {key} (0.12 ignored it too)")
            print(f"flowmancer: warning: {said.items[0]}", file=sys.stderr)
    return {key: value for key, value in parameters.items() if key not in ignored}


def run_job(
    job: JobDefinition,
    marks: Mapping[str, Mark],
    root: Path,
    args: argparse.Namespace,
    classes: Mapping[str, Any],
    job_file: Path | None = None,
    *,
    variables: Mapping[str, str] | None = None,
    reused: Mapping[str, str] | None = None,
    environ: RecordingEnviron | None = None,
) -> int:
    """Check everything, then run (or, with ``--dry-run``, say what would run).

    ``job_file``: where the job came from (None: built in Python), noted beside the checkpoint
    for a later ``-r`` without ``-j``. ``variables`` are the ``--var`` values the job file was
    read with (kept in the checkpoint for a resume), ``reused`` those of them a resume took from
    the checkpoint, and ``environ`` what the job file read from the environment (never shown).
    """
    from flowmancer_checkpoint import (
        CheckpointError,
        CheckpointLockedError,
        CheckpointWriteError,
        UnsafeCheckpointError,
        plan_resume,
    )
    from flowmancer_dag import TaskState
    from flowmancer_exec import ExecutorStartError, StartInterruptedError

    from ._interrupt import InterruptAtStart, deferring_from_now, raise_if_interrupted
    from ._mask import is_secret_name
    from ._record import record_dry_run, recorder_of, report_at_end
    from ._remember import definitions, secret_texts
    from ._streams import printable

    built = build(job, marks, root, args, classes)
    runner, store = built.runner, built.store
    selected, named = _select(runner, args)
    variables = dict(variables or {})
    defined = definitions(runner, secret_texts(variables, environ))
    # What the run was started with, for a later resume to compare with (see _remember);
    # never a secret's value: a resume asks for those again.
    store.variables = {k: v for k, v in variables.items() if not is_secret_name(k)}
    store.definitions = defined
    # Part of the job runs: its success must not erase what the checkpoint knows of the rest (a
    # later -r still needs it). A whole run's success clears it, below, before the result is
    # printed: the exit status and what is said always agree with the checkpoint.
    partial = bool(args.skip or args.run_from or args.run_to)
    store.clear_on_success = False

    name = job.config.name
    try:
        with store.lock(name):
            plan = record = None
            if args.fresh and args.dry_run:  # a dry run changes nothing, the checkpoint too
                print(
                    f"flowmancer: --fresh: the checkpoint of job {name!r} would be cleared",
                    file=sys.stderr,
                )
            elif args.fresh:
                store.clear(name)
                print(
                    f"flowmancer: --fresh: the checkpoint of job {name!r} was cleared",
                    file=sys.stderr,
                )
            elif args.restart:
                record = store.load(name)
            check_files = getattr(store, "check_files", None)  # a 0.12 checkpointer has none
            if check_files is not None and not args.dry_run:
                check_files(name)  # a link in a state file's place: refused before any task
            if args.restart and not args.fresh:
                plan = plan_resume(
                    name,
                    record,
                    runner.prepared.fingerprints,
                    finally_tasks=_finally_tasks(runner),
                    graph=runner.prepared.graph,
                    definitions=defined,
                    left_out=[n for n in runner.tasks if n not in selected],
                    keep=named,
                )
            completed = list(plan.completed) if plan else []  # in the job's order
            done = set(completed)
            skipped = [n for n in runner.tasks if n not in selected and n not in done]
            if plan is not None and record is not None:
                # What this run leaves out keeps what the checkpoint said of it (a FAILED task
                # left out by --run-to is still FAILED for the next -r), not SKIPPED.
                # A COMPLETED one among them is not up to date (else the plan keeps it): it is
                # SKIPPED, so that a later resume runs it, and what it made is not taken as good.
                store.kept = {
                    n: record.tasks[n]
                    for n in skipped
                    if n in record.tasks and record.tasks[n].state is not TaskState.COMPLETED
                }
            if not args.dry_run:
                _preflight(runner, store)
            if plan is not None:  # after the checks: a run refused does not say it resumes
                print(f"flowmancer: {plan.summary()}", file=sys.stderr)
                if reused and not plan.fresh:
                    print(f"flowmancer: {_reused(reused)}", file=sys.stderr)
            resumed_from = plan.checkpoint.run_id if plan and plan.checkpoint else None
            if args.dry_run:
                what = _plan(runner, selected, plan)
                print("dry run: nothing is run")
                for task, why in what.items():
                    print(f"  {printable(task)}: {printable(why)}")
                record_dry_run(runner, args, what, resumed_from)
                return 0
            recorder = recorder_of(runner)
            if recorder is not None and resumed_from:
                recorder.details["resumed_from"] = resumed_from
            # A Ctrl-C Python swallowed while the tasks were imported still stops the job here;
            # one that comes while the runner is set up aborts the run once it has started.
            raise_if_interrupted()
            if job_file is not None:
                try:
                    _unfinished.note(root, name, job_file)
                except (OSError, CheckpointError) as error:  # for -r alone: not worth a refusal
                    print(
                        f"flowmancer: warning: cannot note which job file this run is of "
                        f"({error}); resume it with -r -j {job_file}",
                        file=sys.stderr,
                    )
            runner.observers.append(InterruptAtStart(runner.abort))
            collecting_from_the_run()
            # From here a stop signal is the runner's, and once the run has ended it changes
            # nothing: the checkpoint is settled first, then the result said.
            deferring_from_now()
            try:
                result = asyncio.run(
                    _run_and_drain(
                        runner,
                        completed=completed,
                        skipped=skipped,
                        restarted=plan.restarted if plan else (),
                        shared_dict=plan.shared_dict if plan else None,
                        results=plan.results if plan else None,
                    )
                )
            except ExecutorStartError as error:  # nothing ran: the checkpoint is as it was
                raise Stop([str(error)]) from None
            except StartInterruptedError as error:
                print(f"flowmancer: {error}", file=sys.stderr)
                return 128 + (error.signal or signal.SIGINT)
            report = None
            if recorder is not None and (args.report or job.config.report):
                report = report_at_end(recorder.path)
            if result.ok and not partial:
                try:
                    store.clear(name)
                except CheckpointError as error:
                    # Not worth failing a run that succeeded: a later -r finds every task
                    # completed there and runs nothing.
                    print(f"flowmancer: warning: {error}", file=sys.stderr)
                else:
                    _unfinished.forget(root, name, job_file)
            typed = getattr(args, "typed", None)  # None: embedded, no command line to repeat
            _print_result(result, report, typed if not result.ok else None)
    except CheckpointLockedError as error:
        raise Stop([str(error)]) from None
    except UnsafeCheckpointError as error:
        raise Stop([f"{error} (nothing was run, and nothing written through it)"]) from None
    except CheckpointWriteError as error:
        hint = (
            " (nothing was run: a run must be able to save its checkpoint; make the folder"
            " writable or free some space, or choose another place in the job file's"
            " checkpointer parameters)"
        )
        raise Stop([f"{error}{hint}"]) from None
    except CheckpointError as error:
        hint = " (nothing was changed: run with -r --fresh to start over, or delete it)"
        raise CheckpointInvalidError([f"{error}{hint}"]) from None
    return result.exit_code


def _select(runner: Runner, args: argparse.Namespace) -> tuple[set[str], list[str]]:
    """What ``--skip``, ``--run-from`` and ``--run-to`` leave to run, and the tasks ``--skip``
    names; a matrix task's own name stands for all its members, as it does in dependencies.
    ``finally`` tasks belong to every part of the job that runs: only ``--skip`` leaves them
    out."""
    from flowmancer_dag import GraphError, SelectionError

    names = runner.tasks
    groups: dict[str, list[str]] = {}
    for name in names:
        base = name.split("[", 1)[0] if name.endswith("]") else name
        groups.setdefault(base, []).append(name)

    def expand(flag: str, name: str) -> list[str]:
        if name in names:
            return [name]
        if name in groups:
            return groups[name]
        import difflib

        close = difflib.get_close_matches(name, [*names, *groups], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise Stop([f"{flag}: no task named {name!r} in this job{hint}"], exit_status=USAGE)

    skip = [m for name in args.skip for m in expand("--skip", name)]
    edges: dict[str, list[str]] = {}
    for flag, value in (("--run-from", args.run_from), ("--run-to", args.run_to)):
        if value is not None:
            edges[flag] = expand(flag, value)
    graph = runner.prepared.graph
    try:
        chosen: set[str] = set()
        starts = edges.get("--run-from", [None])
        ends = edges.get("--run-to", [None])
        for start in starts:
            for end in ends:
                chosen |= set(graph.select(run_from=start, run_to=end, skip=skip))
    except SelectionError as error:
        raise Stop(
            [
                f"--run-from {args.run_from} --run-to {args.run_to}: {error.run_to} is not "
                f"downstream of {error.run_from}, so no task lies between them"
            ],
            exit_status=USAGE,
        ) from None
    except GraphError as error:
        raise Stop([f"command line: {error}"], exit_status=USAGE) from None
    if edges:
        chosen.update(n for n in _finally_tasks(runner) if n not in skip)
    return chosen, skip


def _preflight(runner: Runner, store: Any) -> None:
    """Folders the loggers and the checkpoint store will write to must be usable before any
    task runs: a run whose logs or checkpoint are silently lost is worse than one not started."""
    from flowmancer_log import FileLogger

    problems: list[str] = []
    folders = [o.base_log_dir for o in runner.observers if isinstance(o, FileLogger)]
    checkpoint_dir = getattr(store, "checkpoint_dir", None)
    if checkpoint_dir is not None:
        folders.append(checkpoint_dir)
    database = getattr(store, "checkpoint_database", None)
    if database is not None:
        if Path(database).is_dir():
            problems.append(f"checkpointer: {database} is a folder, not a database file")
        folders.append(Path(database).parent)
    for folder in folders:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            _try_writing(Path(folder))
        except OSError as error:
            problems.append(
                f"cannot write to {folder}: {error.strerror or error} (nothing was run: make it "
                "writable, or choose another folder in the job file)"
            )
    if problems:
        raise Stop(problems)
    prepare = getattr(store, "prepare", None)
    if prepare is not None:  # e.g. a database that is damaged or not ours
        prepare()


def _try_writing(folder: Path) -> None:
    """Create and remove a file in ``folder``: permission bits alone do not tell (root ignores
    them; a read-only mount or an immutable folder stops root too)."""
    probe = folder / f".flowmancer-probe-{os.getpid()}"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    os.unlink(probe)


def _hooks_of(store: Any) -> list[Any]:
    # A 0.12 checkpointer also has lifecycle hooks: it watches the run like an extension.
    return [store] if hasattr(store, "drain") else []


async def _run_and_drain(runner: Runner, **kwargs: Any) -> RunResult:
    """Run, then wait for what 0.12 plug-ins were handed (their coroutines run on this loop)."""
    try:
        return await runner.run_async(**kwargs)
    finally:
        for observer in [*runner.observers, runner.checkpoint]:
            drain = getattr(observer, "drain", None)
            if drain is not None:
                await drain()


def _console(args: argparse.Namespace) -> list[Any]:
    if args.log_format == "text":
        from flowmancer_log import ConsoleLogger

        return [ConsoleLogger()]
    if args.log_format == "json":
        from flowmancer_log import JSONLinesLogger

        from ._streams import json_stderr_fd

        # Standard error's own descriptor, as it is: reopening /dev/stderr would give a second
        # file offset and overwrite what others wrote (2> file). Not descriptor 2 itself: that
        # is the pipe that turns raw writes into JSON lines (see json_stderr).
        return [JSONLinesLogger(fd=json_stderr_fd())]
    return []


def _reused(reused: Mapping[str, str]) -> str:
    from ._mask import MASK, is_secret_name
    from ._streams import printable

    given = printable(
        " ".join(f"--var {k}={MASK if is_secret_name(k) else v}" for k, v in reused.items())
    )
    return (
        f"continuing with {given} from the run it resumes (give --var again to change a value, "
        "or -r --fresh to start over)"
    )


def _finally_tasks(runner: Runner) -> list[str]:
    return [n for n, s in runner.prepared.specs.items() if s.trigger_rule == "finally"]


def _plan(runner: Runner, selected: Any, plan: ResumePlan | None) -> dict[str, str]:
    """What a run would do with each task, and why."""
    completed = set(plan.completed) if plan else set()
    finals = set(_finally_tasks(runner))
    graph = runner.prepared.graph
    left = {n for n in runner.tasks if n not in selected and n not in completed}
    what = {}
    for name in runner.tasks:
        if plan is not None and name in plan.kept:
            why = f"skip: kept by --skip, although it would run again ({plan.kept[name]})"
        elif name in completed:
            why = "skip: completed in the checkpoint, unchanged"
        elif name in left:
            why = "skip: left out by --skip/--run-from/--run-to"
        elif plan is not None and not plan.fresh and name in plan.why:
            why = f"run: {plan.why[name]}"
        elif name in finals:
            why = "run: finally, after every other task"
        else:
            why = "run"
        if name not in left and name not in completed:
            why += _waits_through(graph, name, left, completed)
        what[name] = why
    return what


def _waits_through(graph: Any, name: str, left: set[str], completed: set[str]) -> str:
    """What a task waits for through the left-out tasks before it: a left-out task passes
    order through, so the tasks that run before it still come first."""
    through: list[str] = []
    waits: list[str] = []
    todo = [d for d in graph.dependencies(name) if d in left]
    while todo:
        d = todo.pop()
        if d in through:
            continue
        through.append(d)
        for e in graph.dependencies(d):
            if e in left:
                todo.append(e)
            elif e not in completed and e not in waits:
                waits.append(e)
    if not waits:
        return ""
    order = {n: i for i, n in enumerate(graph)}
    waits.sort(key=order.__getitem__)
    through.sort(key=order.__getitem__)
    from ._streams import printable

    return (
        f" (waits for {', '.join(map(printable, waits))}"
        f" through left-out {', '.join(map(printable, through))})"
    )


def _print_result(
    result: Any, report: Path | None = None, typed: tuple[list[str], list[str]] | None = None
) -> None:
    """The summary line on stdout (a result: ``python main.py > summary.txt`` keeps it); on
    stderr what failed and why, one line for what was aborted, and the command that resumes
    (for ``typed``, the command line the run was started with)."""
    from flowmancer_dag import TaskState

    from ._counts import counted, names, plural
    from ._streams import printable

    summary = counted(result.states.values())
    conflicts = result.conflicts
    if conflicts:
        summary += f"; {plural(len(conflicts), 'shared_dict conflict')}"
    took = result.ended - result.started
    sys.stderr.flush()  # what came before it shows before it on a terminal
    print(
        f"flowmancer: job {result.job!r} {'succeeded' if result.ok else 'failed'} "
        f"in {took:.2f}s: {summary}" + (f"; report: {report}" if report else ""),
        flush=True,
    )
    aborted = []
    for name, state in result.states.items():
        if state is TaskState.ABORTED:
            aborted.append(printable(name))
        elif state is TaskState.FAILED and name in result.reasons:
            reason = printable(result.reasons[name].strip().splitlines()[-1][:200])
            print(f"  {printable(name)}: {state.value}: {reason}", file=sys.stderr)
    if aborted:  # a Ctrl-C aborts every task at once: one line, not one a task
        print(f"  aborted: {plural(len(aborted), 'task')}: {names(aborted)}", file=sys.stderr)
    for conflict in conflicts[:5]:
        print(f"  {printable(str(conflict))} (not ordered by dependencies)", file=sys.stderr)
    if len(conflicts) > 5:
        print(f"  ... and {len(conflicts) - 5} more (see the tasks' logs)", file=sys.stderr)
    if typed is not None:
        from ._args import resume_command

        print(f"flowmancer: resume with: {resume_command(typed)}", file=sys.stderr)
