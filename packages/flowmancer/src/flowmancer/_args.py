"""The driver's command line (``python main.py -j job.yaml [flags]``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import versions

__all__ = ["EXIT_STATUSES", "exit_status_help", "parse_args"]

#: What the driver's exit status says (the README's "Command line" section shows the same table,
#: and a test holds the two, ``--help`` and the real statuses together).
EXIT_STATUSES: tuple[tuple[str, str], ...] = (
    ("0", "every task completed or was skipped (also --help, --version, a dry run)"),
    (
        "N",
        "N tasks did not complete (failed, defaulted or aborted), at most 255; the summary "
        "line on stdout says which",
    ),
    (
        "2",
        "a usage error: an unknown flag, a bad or missing flag value, conflicting flags, a "
        "task name no task has, no job file; nothing was run",
    ),
    (
        "99",
        "the job could not start: a bad job file, parameters, task class, graph or "
        "checkpoint, or another run of the job holding its lock; nothing was run",
    ),
    (
        "128+N",
        "signal N stopped the driver before any task ran (Ctrl-C: 130); a stop during the "
        "run aborts it, and its aborted tasks count as above",
    ),
)


def exit_status_help(width: int = 79) -> str:
    """The exit status table as ``--help`` shows it (after the flags)."""
    import textwrap

    lines = ["exit status:"]
    for status, meaning in EXIT_STATUSES:
        lines += textwrap.wrap(
            meaning,
            width,
            initial_indent=f"  {status:<7}",
            subsequent_indent=" " * 9,
            break_on_hyphens=False,
        )
    return "\n".join(lines)


def _var(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


class _Once(argparse.Action):
    """A flag that takes one value: given twice is a mistake to report, not a silent last-wins
    (``--run-to a ... --run-to b`` would run less than asked)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        seen = getattr(namespace, f"_given_{self.dest}", None)
        if seen is not None:
            raise argparse.ArgumentError(
                self, f"given twice ({seen!r}, then {values!r}): give it once"
            )
        setattr(namespace, f"_given_{self.dest}", values)
        setattr(namespace, self.dest, values)


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The driver's argument parser (also behind ``flowmancer run``)."""
    p = _Parser(
        prog=prog,
        description="Run a Flowmancer job: the tasks of a job file in dependency order.",
        epilog=exit_status_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the table as it is laid out
    )
    p.add_argument("-V", "--version", action=VersionAction)
    p.add_argument("-j", "--jobdef", action=_Once, metavar="JOB", help="the job file to run")
    p.add_argument("-t", "--type", default="yaml", choices=["yaml"], help="job file format")
    p.add_argument(
        "-r", "--restart", action="store_true", help="resume from the checkpoint of the last run"
    )
    p.add_argument("-d", "--debug", action="store_true", help="show tracebacks of our own errors")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="NAME",
        help="leave a task out (repeatable); what follows it still waits for what precedes it",
    )
    p.add_argument(
        "--run-from", action=_Once, metavar="NAME", help="run this task and what depends on it"
    )
    p.add_argument(
        "--run-to", action=_Once, metavar="NAME", help="run this task and what it depends on"
    )
    p.add_argument(
        "--max-concurrency",
        action=_Once,
        type=_count,
        metavar="N",
        help="tasks running at once (0: no limit)",
    )
    p.add_argument(
        "--var",
        action="append",
        type=_var,
        default=[],
        metavar="KEY=VALUE",
        help="a value for $VAR{KEY} in the job file (repeatable)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print what would run and why, run nothing"
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="with -r: clear the checkpoint and start over (without -r: a usage error)",
    )
    p.add_argument(
        "--executor", action=_Once, choices=["process", "thread", "dask"], help="where tasks run"
    )
    p.add_argument(
        "--dask-address",
        action=_Once,
        metavar="ADDRESS",
        help="the dask scheduler to run on (tcp://HOST:8786; implies --executor dask; "
        "default: $FLOWMANCER_DASK_ADDRESS, then config.dask.address, then a local cluster)",
    )
    p.add_argument(
        "--dask-connect-timeout",
        action=_Once,
        type=_seconds,
        metavar="SECONDS",
        help="how long to try reaching the dask scheduler (default: config.dask.connect_timeout"
        ", 10)",
    )
    p.add_argument(
        "--log-format",
        action=_Once,
        choices=["text", "json"],
        help="also show every line and state change on stderr, as text or JSON lines",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="write the run's HTML report at its end (as config.report: true)",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the driver's flags (exits with status 2 and a usage message when they are bad)."""
    return parser().parse_args(argv)


class _Parser(argparse.ArgumentParser):
    """Checks the flags that only make sense together, as a usage error (status 2)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, rest = super().parse_known_args(args, namespace)
        if getattr(parsed, "fresh", False) and not getattr(parsed, "restart", False):
            # Without -r a run starts over anyway: a --fresh there is a mistaken command line
            # (it used to clear the checkpoint a later -r needed), not a quiet no-op.
            self.error("--fresh only has meaning with -r: give -r --fresh to start over")
        address = getattr(parsed, "dask_address", None)
        if address is not None:
            if parsed.executor not in (None, "dask"):
                self.error(
                    f"--dask-address needs the dask executor, not --executor {parsed.executor}"
                )
            if not address.strip():
                self.error("--dask-address: expected an address such as tcp://HOST:8786")
        return parsed, rest


def typed_driver_command() -> tuple[list[str], list[str]]:
    """The driver's command line as it was typed: what starts it (``python main.py``, with the
    interpreter's own options) and the flags after it."""
    import sys

    flags = list(sys.argv[1:])
    started = list(getattr(sys, "orig_argv", []))
    head = started[: len(started) - len(flags)]
    if len(head) < 2 or started[len(head) :] != flags:  # not as expected: say it plainly
        head = ["python", sys.argv[0] or "main.py"]
    return head, flags


def typed_cli_command(job: str, flags: Sequence[str]) -> tuple[list[str], list[str]]:
    """``flowmancer run JOB`` as it was typed (the command by its name when that is the one on
    ``PATH``), and the flags after the job."""
    import os
    import shutil
    import sys

    program = sys.argv[0] or "flowmancer"
    found = shutil.which(os.path.basename(program))
    if found and os.path.exists(program) and os.path.samefile(found, program):
        program = os.path.basename(program)
    return [program, "run", job], list(flags)


def resume_command(typed: tuple[Sequence[str], Sequence[str]]) -> str:
    """The command that resumes a run started with ``typed`` (see ``typed_driver_command``): the
    same, shell-quoted, with ``-r`` (unless it has one) and without ``--fresh`` or
    ``--dry-run``; ``--var`` values of secret names masked."""
    head, flags = typed
    p = parser()
    longs = [o for a in p._actions for o in a.option_strings if o.startswith("--")]
    takes_value = {o for a in p._actions for o in a.option_strings if a.nargs != 0}
    kept: list[str] = []
    restarts = False
    value_next = False
    for flag in flags:
        if value_next:  # the value of the flag before it, whatever it looks like
            kept.append(flag)
            value_next = False
            continue
        name = flag.split("=", 1)[0]
        if flag.startswith("--"):
            # argparse takes a unique beginning of a long flag for the flag (--fre: --fresh).
            matches = [o for o in longs if o.startswith(name)]
            name = name if name in longs else (matches[0] if len(matches) == 1 else name)
            if name in ("--fresh", "--dry-run"):
                continue
            restarts = restarts or name == "--restart"
            value_next = "=" not in flag and name in takes_value
        elif flag.startswith("-") and len(flag) > 1:
            for i, letter in enumerate(flag[1:], 2):  # short flags together (-dr); -jjob.yaml
                restarts = restarts or letter == "r"
                if f"-{letter}" in takes_value:
                    value_next = i == len(flag)  # its value is the next word
                    break
        kept.append(flag)
    return typed_command((head, [*([] if restarts else ["-r"]), *kept]))


def typed_command(typed: tuple[Sequence[str], Sequence[str]], *more: str) -> str:
    """The command ``typed`` (see ``typed_driver_command``) as it would be typed again, with
    ``more`` after its flags: shell-quoted, ``--var`` values of secret names masked."""
    import shlex

    from ._mask import mask_command

    head, flags = typed
    return shlex.join(mask_command([*head, *flags, *more]))


class VersionAction(argparse.Action):
    """``--version``/``-V``: print :func:`versions` on stdout and exit 0.

    argparse's own ``version`` action wants the text when the parser is built; this one reads
    the metadata only when the flag is given.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="print the versions of Flowmancer's five packages and of Python, and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(versions())
        parser.exit()
