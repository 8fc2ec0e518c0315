"""The ``flowmancer`` command: run, validate, plan, graph and list tasks of a job file; list its
recorded runs and write their reports.

For discovery (``./tasks`` and friends) and relative paths, the project's folder stands in for
the driver's: the job file's folder, or the nearest folder above it (up to the current folder)
that holds ``tasks``, ``extensions`` or ``loggers`` — so a job file kept in ``jobs/`` beside
``main.py`` is checked as ``python main.py -j jobs/job.yaml`` runs it. With no job file, the
current folder.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._args import exit_status_help, typed_cli_command
from ._args import parser as driver_parser
from ._collector import collector_paused
from ._counts import plural
from ._driver import (
    Flowmancer,
    Stop,
    _inside,
    _interrupted,
    _say_problems,
    joined,
)
from ._interrupt import noticing_interrupts
from ._jobarg import _loaded, project_root
from ._jobfile._problems import JobFileError, Problem
from ._run import Built, build
from ._runs import report_command as _report_command
from ._runs import runs_command as _runs_command
from ._streams import hardy_stdio, reserve_stdio
from .exceptions import CANNOT_START

__all__ = ["main"]

USAGE = """flowmancer COMMAND ...
flowmancer --version     the versions of Flowmancer's five packages and of Python

commands:
  run JOB [flags]        run the job (the driver's flags: flowmancer run JOB --help)
  validate JOB           check everything about the job; print every problem, or "ok: N tasks"
  plan JOB [flags]       what a run would do, task by task, without running anything
  graph JOB              the job's graph as mermaid (default) or dot; --states colours it by
                         the last checkpoint
  tasks [JOB]            the registered task classes and their parameters
  runs [JOB]             the recorded runs, newest first (--json, --limit N)
  report [JOB]           write a run's HTML report (--run ID, -o FILE) and print its path
"""


def _job_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("job", metavar="JOB", help="the job file")
    p.add_argument(
        "--var", action="append", default=[], metavar="KEY=VALUE", help="a value for $VAR{KEY}"
    )
    return p


# True when main() runs as the `flowmancer` command: the process ends when it returns.
_OWN_PROCESS = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flowmancer`` command; returns its exit status."""
    global _OWN_PROCESS
    _OWN_PROCESS = argv is None
    args = list(sys.argv[1:] if argv is None else argv)
    reserve_stdio()
    # Help and usage too: `flowmancer --help | head -1` closes the pipe while help is written.
    with noticing_interrupts() as ending, hardy_stdio():
        ending.status = _dispatch(args)
        return ending.status


def _dispatch(args: list[str]) -> int:
    if not args:  # a usage error, as argparse has it: the usage on stderr, status 2
        print(f"{USAGE}\nflowmancer: error: give a command", file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(f"{USAGE}\n{exit_status_help()}")
        return 0
    if args[0] in ("-V", "--version"):
        from ._version import versions

        print(versions(), end="")
        return 0
    command, rest = args[0], args[1:]
    commands = {"run": _run, "validate": _validate, "plan": _plan, "graph": _graph, "tasks": _tasks}
    commands.update(runs=_runs_command, report=_report_command)
    if command not in commands:
        print(f"flowmancer: error: unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
        return 2
    return _command(commands[command], rest)


def _command(command: Callable[[list[str]], int], rest: list[str]) -> int:
    try:
        return command(rest)
    except (Stop, JobFileError) as error:
        _say_problems(error.problems)
        if isinstance(error, Stop):
            return error.exit_status
        # A job file named on the command line that is not there is a Stop of status 2 from
        # _loaded, which knows which word it was; what is left could not start.
        return CANNOT_START
    except KeyboardInterrupt:
        return _interrupted()


def _run(rest: list[str]) -> int:
    if not rest or rest[0].startswith("-"):
        driver_parser("flowmancer run").parse_args(rest)  # --help, or a usage error
        print(
            "flowmancer run: error: give the job file first: flowmancer run JOB [flags]",
            file=sys.stderr,
        )
        return 2
    job = Path(rest[0]).absolute()
    args = driver_parser("flowmancer run JOB").parse_args(["-j", str(job), *rest[1:]])
    args.typed = typed_cli_command(rest[0], rest[1:])
    return Flowmancer()._start_parsed(args, Path.cwd(), project_root(job))


def _built(
    driver: Flowmancer, root: Path, args: argparse.Namespace, found: Sequence[Problem] = ()
) -> Built:
    """Every check of the job; its problems and those ``found`` in its file, all at once."""
    job = driver.get_job_definition()
    try:
        with _inside(root):
            built = build(job, driver._marks, root, args, driver._added_classes)
    except Stop as stop:
        raise joined(found, stop) from None
    if found:
        raise Stop(found)
    return built


def _validate(rest: list[str]) -> int:
    args = _job_parser("flowmancer validate", "Check a job file without running it.").parse_args(
        rest
    )
    # No garbage collection until the job is checked and freed again: a collection walks
    # every object the job is made of, and a big job's are millions (see _collector.py).
    with collector_paused():
        found: list[Problem] = []
        driver, root = _loaded(args.job, args.var, found)
        built = _built(driver, root, driver_parser().parse_args([]), found)
        tasks = list(built.runner.tasks)
        if _OWN_PROCESS:
            # The process ends once the answer is printed: the job (its runner holds reference
            # cycles) is left to it, not walked by one more collection for nothing.
            gc.freeze()
        del driver, built
    print(f"ok: {plural(len(tasks), 'task')}")
    # What each matrix expanded to: its size may come from a variable (--var parts=00,01).
    groups: dict[str, list[str]] = {}
    for name in tasks:
        if name.endswith("]") and "[" in name:
            groups.setdefault(name.split("[", 1)[0], []).append(name)
    for base, members in groups.items():
        print(f"  {base}: matrix of {len(members)}: {', '.join(members)}")
    return 0


def _plan(rest: list[str]) -> int:
    job_arg = rest[0] if rest and not rest[0].startswith("-") else None
    args = driver_parser("flowmancer plan JOB").parse_args(
        ["-j", job_arg, *rest[1:], "--dry-run"] if job_arg else [*rest, "--dry-run"]
    )
    if not args.jobdef:
        print("flowmancer plan: error: give the job file: flowmancer plan JOB", file=sys.stderr)
        return 2
    job = Path(args.jobdef).absolute()
    return Flowmancer()._start_parsed(args, Path.cwd(), project_root(job))


def _graph(rest: list[str]) -> int:
    p = _job_parser("flowmancer graph", "Print the job's graph.")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument(
        "--states", action="store_true", help="colour tasks by their state in the last checkpoint"
    )
    args = p.parse_args(rest)
    found: list[Problem] = []
    driver, root = _loaded(args.job, args.var, found)
    built = _built(driver, root, driver_parser().parse_args([]), found)
    states = None
    if args.states:
        from flowmancer_checkpoint import CheckpointError

        try:
            with _inside(root):  # the store's default folder is relative to the job's
                record = built.store.load(driver.get_job_definition().config.name)
        except CheckpointError as error:
            raise Stop([str(error)]) from None
        states = {n: t.state for n, t in record.tasks.items()} if record else {}
    graph = built.runner.prepared.graph
    print(graph.to_mermaid(states) if args.format == "mermaid" else graph.to_dot(states), end="")
    return 0


def _tasks(rest: list[str]) -> int:
    p = argparse.ArgumentParser(prog="flowmancer tasks", description="List task classes.")
    p.add_argument("job", metavar="JOB", nargs="?", help="a job file (its folder is searched)")
    args = p.parse_args(rest)
    from flowmancer_exec import registered_tasks

    from ._discover import discover

    root = Path.cwd()
    directories: list[str] = []
    packages: list[str] = []
    if args.job:
        driver, root = _loaded(args.job, [])
        config = driver.get_job_definition().config
        directories, packages = config.extension_directories, config.extension_packages
    problems = discover(root, directories, packages)
    if problems:
        raise Stop(problems)
    found = registered_tasks()
    if not found:
        print("no task classes registered (put @task classes in ./tasks/)")
    from ._written import annotation_text, default_text

    for name, cls in sorted(found.items()):
        print(name)
        for parameter in cls.parameters().values():
            default = "" if parameter.required else f" = {default_text(parameter.default)}"
            print(f"  {parameter.name}: {annotation_text(parameter.annotation)}{default}")
    return 0
