"""``flowmancer validate`` of big fan-out jobs: time against the target, peak memory per task.

A fan-out job of ``n`` independent no-op tasks is written as a user would (one entry of two
lines per task, ``loggers: {}``, ``extensions: {}``); past 200,000 tasks it is split into
included files of 250,000 tasks each, since one job file may hold 16 MiB at most. Each
measurement is a fresh ``flowmancer validate JOB`` process, started by a small process of its own
so that ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is that validate's own peak RSS.

Printed for each size: the median wall time of ``--repeat`` runs (and their spread), the
ratio to the target (100,000 tasks in 2 s, issue 21; the same rate for the other sizes), the
median CPU time (user + system: on a busy machine, closer to what a quiet one's wall time
would be), the median peak RSS, and the memory per task: (peak - the peak of a one-task
job) / tasks. The memory is linear in the tasks when the last column stays flat from size to
size.

    python benchmarks/validate.py [--tasks 10000,100000,1000000] [--repeat 3]

``benchmarks/load.py`` runs it too (its rows come first there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

# The target of issue 21: validate of a 100,000-task fan-out job in 2 s.
TARGET_SECONDS_PER_TASK = 2.0 / 100_000
# Tasks per file: a job file may hold 16 MiB (each task's entry here is about 27 bytes).
PER_FILE = 250_000

TASK = (
    "from flowmancer.task import Task, task\n\n"
    "@task\nclass Noop(Task):\n    def run(self):\n        pass\n"
)
HEAD = "version: 0.1\nconfig:\n  name: fanout\nloggers: {}\nextensions: {}\n"

# Runs one command and says how long it took and its peak RSS (KiB): a process of its own, so
# that the peak of its children is that command's.
MEASURE = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak": usage.ru_maxrss, "status": done.returncode,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "out": done.stdout[-2000:], "err": done.stderr[-2000:]}))
"""


def _entries(first: int, last: int) -> str:
    return "".join(f"  t{i}:\n    task: Noop\n" for i in range(first, last))


def fanout_project(folder: Path, n: int) -> Path:
    """A project (``tasks/noop.py``) with a job of ``n`` independent tasks; returns the job."""
    (folder / "tasks").mkdir(parents=True, exist_ok=True)
    (folder / "tasks" / "noop.py").write_text(TASK)
    job = folder / f"fanout-{n}.yaml"
    if n <= 200_000:
        job.write_text(HEAD + "tasks:\n" + _entries(0, n))
        return job
    parts = []
    for number, first in enumerate(range(0, n, PER_FILE)):
        part = folder / f"fanout-{n}-part{number}.yaml"
        part.write_text("tasks:\n" + _entries(first, min(first + PER_FILE, n)))
        parts.append(part.name)
    # include paths are relative to the project folder (the driver's).
    job.write_text(HEAD + f"include: [{', '.join(parts)}]\n")
    return job


def measure(command: Sequence[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one run of ``command``."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["status"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result['out']}{result['err']}")
    return float(result["wall"]), int(result["peak"]), float(result["cpu"])


def validate_rows(sizes: Sequence[int], repeat: int) -> Iterator[str]:
    """The table's lines, each as soon as it is measured: a header, then one per size."""
    command = str(Path(sys.executable).with_name("flowmancer"))
    yield from [
        f"flowmancer validate, fan-out of no-op tasks; median of {repeat} (spread); target "
        f"{TARGET_SECONDS_PER_TASK * 1e6:g} us/task (100,000 tasks in 2 s)",
        f"{'tasks':>9} {'wall s':>8} {'spread':>13} {'x target':>9} {'cpu s':>7} "
        f"{'peak MiB':>9} {'KiB/task':>9}",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        one = fanout_project(base / "one", 1)
        floor = statistics.median(
            measure([command, "validate", one.name], one.parent)[1] for _ in range(3)
        )
        for n in sizes:
            job = fanout_project(base / str(n), n)
            runs = [measure([command, "validate", job.name], job.parent) for _ in range(repeat)]
            walls = sorted(wall for wall, _, _ in runs)
            wall = statistics.median(walls)
            peak = statistics.median(peak for _, peak, _ in runs)
            cpu = statistics.median(cpu for _, _, cpu in runs)
            ratio = wall / (TARGET_SECONDS_PER_TASK * n)
            yield (
                f"{n:>9,} {wall:8.2f} {walls[0]:6.2f}-{walls[-1]:<6.2f} {ratio:8.2f}x "
                f"{cpu:7.2f} {peak / 1024:9.1f} {(peak - floor) / n:9.2f}"
            )
            for file in job.parent.glob("fanout-*.yaml"):
                file.unlink()


def compile_sources() -> None:
    """Byte-compile the packages, as an installed package is (PYTHONDONTWRITEBYTECODE may be
    set here, and a validate of a small job is mostly its imports)."""
    import yaml

    import flowmancer
    import flowmancer_exec

    for module in (flowmancer, flowmancer_exec, yaml):
        source = str(Path(module.__file__ or ".").parent.parent)
        subprocess.run([sys.executable, "-m", "compileall", "-q", source], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default="10000,100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.tasks.split(",") if n]
    compile_sources()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for line in validate_rows(sizes, args.repeat):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
