"""What the report page shows, worked out from a run's record and the runs of its job before it:
layers and critical path (from ``flowmancer_dag``), log tails, the comparison with earlier runs.

Everything here is plain data for the page's JSON; the page renders it.
"""

from __future__ import annotations

import os
import shlex
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmancer_log import RecordedRun, RecordedTask

__all__ = ["COLLAPSE_OVER", "LOG_LINES", "earlier_runs", "page_data"]

#: Above this many tasks (or MAX_EDGES edges) the graph is drawn as its layers, with counts.
COLLAPSE_OVER = 500
MAX_EDGES = 3000
#: A task's log tail: its last this-many lines...
LOG_LINES = 100
#: ...within a share of this many characters for all tasks' tails together (2 to 32 KB each),
#: so a page of 10,000 tasks stays under 10 MB; longer lines are cut.
LOG_BUDGET = 4_000_000
LOG_MIN, LOG_MAX = 2_000, 32_000
LINE_MAX = 2_000
#: Compared with the median of this many earlier runs of the job.
COMPARE_RUNS = 10


def page_data(run: RecordedRun, earlier: Sequence[RecordedRun]) -> dict[str, Any]:
    """The page's data for ``run``, compared with ``earlier`` runs of its job (newest first)."""
    index = {name: i for i, name in enumerate(run.tasks)}
    depends = {n: [d for d in t.dependencies if d in index] for n, t in run.tasks.items()}
    levels, critical, critical_total = _shape(run, depends, index)
    tasks = []
    edges = 0
    for i, (name, task) in enumerate(run.tasks.items()):
        deps = [index[d] for d in depends[name]]
        edges += len(deps)
        entry: dict[str, Any] = {
            "n": name,
            "s": task.state,
            "l": levels[i],
            "d": deps,
            "a": [
                [a.number, a.started, a.ended, a.outcome, a.reason, a.wait] for a in task.attempts
            ],
            "dur": task.duration,
        }
        if task.reason:
            entry["r"] = task.reason
        for key, short in (("task", "t"), ("parameters", "p"), ("pool", "pool")):
            value = task.details.get(key)
            if value not in (None, {}, ""):
                entry[short] = value
        tasks.append(entry)
    return {
        "format": 1,
        "run": _run(run),
        "tasks": tasks,
        "logs": _tails(run),
        "edges": edges,
        "collapse": len(tasks) > COLLAPSE_OVER or edges > MAX_EDGES,
        "critical": [index[n] for n in critical],
        "critical_total": critical_total,
        "compare": _compare(run, earlier, index),
    }


def earlier_runs(run: RecordedRun, limit: int = COMPARE_RUNS) -> list[RecordedRun]:
    """Up to ``limit`` runs of ``run``'s job that started before it (not dry runs), newest
    first, read whole; records that cannot be read are passed over."""
    from flowmancer_log import RecordError, find_records, read_record

    job_dir = run.path.parent.parent
    mine = run.path.parent.name
    found = []
    for path in find_records(job_dir.parent, run.job):
        if path.parent.parent != job_dir or path.parent.name >= mine:
            continue
        try:
            if read_record(path, summary=True).dry_run:
                continue
            found.append(read_record(path))
        except RecordError:
            continue
        if len(found) >= limit:
            break
    return found


def _shape(
    run: RecordedRun, depends: dict[str, list[str]], index: dict[str, int]
) -> tuple[list[int], list[str], float]:
    """Each task's layer, and the critical path with its length; a record whose dependencies
    do not make a graph is drawn as one layer.

    The critical path is the chain that decided when the run ended: from the task that ended
    last, back through the dependency each one waited for longest (the last of them to end).
    It is ``flowmancer_dag``'s longest path, each task weighing the time from the end of its
    last dependency (the run's start, for a task with none) to its own end: waits for a slot
    or a retry included, so the chain matches the timeline.
    """
    from flowmancer_dag import Graph, GraphError

    graph: Graph[str] = Graph(depends)
    try:
        layers = graph.levels()
    except GraphError:
        return [0] * len(index), [], 0.0
    ends = {n: t.ended for n, t in run.tasks.items()}
    weights = {}
    for name, end in ends.items():
        if end is None:
            continue
        before = [e for e in (ends[d] for d in depends[name]) if e is not None]
        weights[name] = max(0.0, end - max(before, default=run.started))
    total, path = graph.critical_path(weights)
    level = [0] * len(index)
    for k, members in enumerate(layers):
        for name in members:
            level[index[name]] = k
    path = [n for n in path if n in weights]  # a chain ending in tasks that never ran
    return level, path, total if path else 0.0


def _run(run: RecordedRun) -> dict[str, Any]:
    details = run.details
    out: dict[str, Any] = {
        "job": run.job,
        "run_id": run.run_id,
        "status": run.status,
        "exit_code": run.exit_code,
        "started": run.started,
        "ended": run.ended,
        "last_seen": run.last_seen,
        "duration": run.duration,
        "counts": dict(run.counts),
        "resumed_from": run.resumed_from,
        "record": str(run.path),
    }
    for key in ("job_file", "host", "user", "executor", "versions", "cwd", "plan"):
        if details.get(key):
            out[key] = details[key]
    command = details.get("command")
    if isinstance(command, list) and command:
        out["command"] = shlex.join(str(c) for c in command)
        if run.status in ("failed", "aborted", "incomplete") and not run.dry_run:
            from .._args import resume_command

            out["resume"] = resume_command(_typed(details.get("typed"), command))
    return out


def _typed(typed: object, command: list[Any]) -> tuple[list[str], list[str]]:
    """The run's command line as the driver split it for its "resume with" line: from the
    record when it says (``typed``), else from the whole command (``sys.orig_argv``) — up to
    the script (``main.py``) or to ``flowmancer run JOB`` — or, failing that, all of it."""
    if isinstance(typed, dict):
        program, flags = typed.get("program"), typed.get("flags")
        if isinstance(program, list) and program and isinstance(flags, list):
            return [str(c) for c in program], [str(c) for c in flags]
    words = [str(c) for c in command]
    for i, word in enumerate(words[1:], 1):
        if word.endswith(".py"):
            return words[: i + 1], words[i + 1 :]
        if word.rsplit("/", 1)[-1] == "flowmancer" and words[i + 1 : i + 2] == ["run"]:
            return words[i : i + 3], words[i + 3 :]
    return words, []


def _tails(run: RecordedRun) -> list[str | None]:
    with_logs = [t for t in run.tasks.values() if t.log is not None and t.attempts]
    share = LOG_BUDGET // max(1, len(with_logs))
    limit = max(LOG_MIN, min(LOG_MAX, share))
    return [_tail(t, limit) for t in run.tasks.values()]


def _tail(task: RecordedTask, limit: int) -> str | None:
    """The last ``LOG_LINES`` lines of the task's log, at most ``limit`` characters."""
    if task.log is None:
        return None
    try:
        with open(task.log, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            start = max(0, size - limit * 4)  # UTF-8: at most 4 bytes a character
            file.seek(start)
            text = file.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = text.split("\n")  # not splitlines(): U+2028 and friends are text in a log line
    if lines and not lines[-1]:
        lines.pop()
    if start > 0 and lines:
        lines.pop(0)  # read from the middle of a line
    lines = lines[-LOG_LINES:]
    cut = [line if len(line) <= LINE_MAX else line[:LINE_MAX] + " …" for line in lines]
    total = 0
    keep = len(cut)
    while keep and total + len(cut[keep - 1]) + 1 <= limit:
        total += len(cut[keep - 1]) + 1
        keep -= 1
    return "\n".join(cut[keep:])


def _compare(
    run: RecordedRun, earlier: Sequence[RecordedRun], index: dict[str, int]
) -> dict[str, Any]:
    """Each task's duration in this run against the median of the earlier runs in which it
    completed, biggest slow-down first; and the same for the whole run."""
    if not earlier:
        return {"runs": 0, "rows": []}
    seen: dict[str, list[float]] = {}
    for other in earlier:
        for name, task in other.tasks.items():
            if name in index and task.state == "COMPLETED" and task.duration is not None:
                seen.setdefault(name, []).append(task.duration)
    rows = []
    for name, samples in seen.items():
        now = run.tasks[name].duration
        if now is None:
            continue
        median = statistics.median(samples)
        rows.append([index[name], now, median, len(samples)])
    rows.sort(key=lambda r: (-(r[1] - r[2]), r[0]))
    finished = [o.duration for o in earlier if not o.incomplete]
    return {
        "runs": len(earlier),
        "run_ids": [o.run_id for o in earlier],
        "median": statistics.median(finished) if finished else None,
        "rows": rows,
    }
