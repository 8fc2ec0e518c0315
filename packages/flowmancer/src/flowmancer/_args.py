"""The driver's command line (``python main.py -j job.yaml [flags]``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._version import VersionAction

__all__ = ["parse_args"]


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
        epilog="Exit status: 0 when every task completed; otherwise the number of tasks that "
        "did not complete (at most 255); 99 when the job could not start (a bad job file, "
        "parameters, graph or checkpoint; the message says what and where); 2 for a bad "
        "command line.",
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
        "--fresh", action="store_true", help="with -r: ignore the checkpoint and start over"
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
        address = getattr(parsed, "dask_address", None)
        if address is not None:
            if parsed.executor not in (None, "dask"):
                self.error(
                    f"--dask-address needs the dask executor, not --executor {parsed.executor}"
                )
            if not address.strip():
                self.error("--dask-address: expected an address such as tcp://HOST:8786")
        return parsed, rest
