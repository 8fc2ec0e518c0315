"""``flowmancer runs [JOB]`` and ``flowmancer report [JOB]``: the recorded runs of a job.

Records are found where the job's logs are: the first ``FileLogger``'s ``base_log_dir`` in the
job file (``./logs`` beside it otherwise); with no job file, ``./logs`` here, for every job in
it; ``--logs DIR`` says where, either way.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._args import _count
from ._counts import plural
from ._jobarg import _loaded
from ._record import DEFAULT_LOGS
from .exceptions import USAGE

if TYPE_CHECKING:
    from flowmancer_log import RecordedRun

__all__ = ["report_command", "runs_command"]

_ORDER = ("COMPLETED", "FAILED", "DEFAULTED", "ABORTED", "SKIPPED", "RUNNING", "PENDING", "INIT")


class _Failed(Exception):
    """The command cannot do what was asked (no run recorded, a record that cannot be read)."""


class _BadRun(_Failed):
    """``--run ID`` names no recorded run, or more than one: a bad flag value, a usage error."""


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "job", metavar="JOB", nargs="?", help="the job file (default: every job in ./logs)"
    )
    p.add_argument("--logs", metavar="DIR", help="where the job folders are (default: the job's)")
    p.add_argument(
        "--var", action="append", default=[], metavar="KEY=VALUE", help="a value for $VAR{KEY}"
    )
    return p


def runs_command(rest: Sequence[str]) -> int:
    """``flowmancer runs``: the recorded runs, newest first."""
    p = _parser("flowmancer runs", "List the recorded runs of a job, newest first.")
    p.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    p.add_argument("--limit", type=_count, default=20, metavar="N", help="at most N (0: all)")
    args = p.parse_args(rest)
    from flowmancer_log import RecordError, read_record

    base, job = _where(args)
    paths = _records(base, job)
    if args.limit:
        paths = paths[: args.limit]
    found: list[RecordedRun] = []
    for path in paths:
        try:
            found.append(read_record(path, summary=True))
        except RecordError as error:
            print(f"flowmancer runs: warning: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps([_as_json(run) for run in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print(f"flowmancer runs: no runs recorded{_of(job)} under {base}", file=sys.stderr)
        return 0
    rows = [_as_row(run, job is None) for run in found]
    heads = (["job"] if job is None else []) + [
        "run", "started", "took", "result", "tasks", "resumed from",
    ]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    for row in [heads, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def report_command(rest: Sequence[str]) -> int:
    """``flowmancer report``: write one run's HTML report and print where it went."""
    p = _parser("flowmancer report", "Write a run's report: one self-contained HTML file.")
    p.add_argument(
        "--run", metavar="ID", help="the run (its id, or the start of it); default: the latest"
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where (default: report.html beside the run's logs)"
    )
    args = p.parse_args(rest)
    from flowmancer_log import RecordError, read_record

    from ._report import write_report

    base, job = _where(args)
    paths = _records(base, job)
    try:
        if not paths and args.run is None:
            raise _Failed(f"no runs recorded{_of(job)} under {base}")
        path = _chosen(paths, args.run, job, base)
        run = read_record(path)
        out = None
        if args.output:
            out = Path(args.output).absolute()
            if out.is_dir():
                out = out / f"{run.job}-{run.run_id}.html"
        written = write_report(run, out)
    except (_Failed, RecordError) as error:
        print(f"flowmancer report: error: {error}", file=sys.stderr)
        return USAGE if isinstance(error, _BadRun) else 1
    except OSError as error:
        print(f"flowmancer report: error: cannot write the report: {error}", file=sys.stderr)
        return 1
    size = written.stat().st_size
    print(
        f"flowmancer: report of run {run.run_id} of job {run.job!r} ({run.status}, "
        f"{plural(len(run.tasks), 'task')}): {_size(size)}",
        file=sys.stderr,
    )
    print(written)
    return 0


def _where(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The folder the job folders are in, and the job's name (None: every job)."""
    if args.job is None:
        return Path(args.logs or DEFAULT_LOGS).absolute(), None
    driver, root = _loaded(args.job, args.var)
    job = driver.get_job_definition()
    if args.logs:
        return Path(args.logs).absolute(), job.config.name
    base = root / DEFAULT_LOGS
    for definition in job.loggers.values():
        if definition.variant == "FileLogger":
            folder = Path(str(definition.parameters.get("base_log_dir", DEFAULT_LOGS)))
            base = folder if folder.is_absolute() else root / folder
            break
    return base, job.config.name


def _records(base: Path, job: str | None) -> list[Path]:
    from flowmancer_log import find_records

    return find_records(base, job)


def _chosen(paths: list[Path], wanted: str | None, job: str | None, base: Path) -> Path:
    if wanted is None:
        return paths[0]
    from flowmancer_log import RecordError, read_record

    matches = []
    for path in paths:
        try:
            run_id = read_record(path, summary=True).run_id
        except RecordError:
            continue
        if run_id == wanted:
            return path
        if run_id.startswith(wanted):
            matches.append((run_id, path))
    if len(matches) == 1:
        return matches[0][1]
    if matches:
        ids = ", ".join(m[0] for m in matches[:5])
        raise _BadRun(f"--run {wanted}: more than one run starts so: {ids}")
    raise _BadRun(
        f"--run {wanted}: no such run{_of(job)} under {base} (flowmancer runs lists them)"
    )


def _of(job: str | None) -> str:
    return f" of job {job!r}" if job else ""


def _counts(run: RecordedRun) -> str:
    counts = dict(run.counts)
    parts = [f"{counts.pop(s)} {s.lower()}" for s in _ORDER if counts.get(s)]
    parts += [f"{n} {s.lower()}" for s, n in counts.items() if n]
    return ", ".join(parts)


def _local(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="seconds")


def _as_row(run: RecordedRun, with_job: bool) -> list[str]:
    row = [run.job] if with_job else []
    took = f"{run.duration:.2f}s"
    return [
        *row,
        run.run_id,
        _local(run.started),
        took,
        run.status,
        _counts(run),
        run.resumed_from or "",
    ]


def _as_json(run: RecordedRun) -> dict[str, Any]:
    report = run.path.parent / "report.html"
    return {
        "job": run.job,
        "run_id": run.run_id,
        "started": _local(run.started),
        "started_epoch": run.started,
        "ended_epoch": run.ended,
        "duration": round(run.duration, 6),
        "status": run.status,
        "exit_code": run.exit_code,
        "counts": dict(run.counts),
        "resumed_from": run.resumed_from,
        "record": str(run.path),
        "report": str(report) if report.is_file() else None,
    }


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"
