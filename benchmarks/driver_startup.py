"""A one-task job end to end, as a user runs it: ``python main.py -j job.yaml``.

The same project (a driver script, ``tasks/noop.py``, a job file naming one no-op task) is run
by this checkout and by Flowmancer 0.12.4 (installed into ``benchmarks/.cache/`` by
``exec_runner.py``'s helper), each a fresh process, ``--repeat`` times. Both run with their
default loggers and checkpointer; 0.12.4's progress bar (on by default) is switched off, since
ours is not built yet. Everything is byte-compiled first, as an installed package is.

Targets: at least 5x faster than 0.12.4 (driver issue), and 0.1 s at most (issue 21); the
median of ``--repeat`` runs is compared with both, the spread printed beside it.

    python benchmarks/driver_startup.py [--repeat 7] [--skip-012]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exec_runner import old_python

MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"
TASK = (
    "from flowmancer.task import Task, task\n\n"
    "@task\nclass Noop(Task):\n    def run(self):\n        pass\n"
)
# Issue 21: a one-task job end to end in 0.1 s at most.
TARGET = 0.1
JOB = "version: 0.1\nconfig:\n  name: one\nextensions: {}\ntasks:\n  only:\n    task: Noop\n"


def project(folder: Path) -> Path:
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "noop.py").write_text(TASK)
    (folder / "main.py").write_text(MAIN)
    (folder / "job.yaml").write_text(JOB)
    return folder


def timed(python: str, folder: Path, repeat: int) -> list[float]:
    """The wall seconds of ``repeat`` runs of the one-task job, sorted; their CPU seconds
    (user + system, the task's process too) are added to ``CPU[python]``."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [python, "main.py", "-j", "job.yaml"], cwd=folder, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.setdefault(python, []).append(
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        )
        if done.returncode != 0:
            raise SystemExit(f"{python} failed:\n{done.stdout}{done.stderr}")
    return sorted(times)


# The CPU seconds of each run, by interpreter: on a busy machine closer than the wall time to
# what a quiet machine's wall time would be (a one-task job waits for nothing else).
CPU: dict[str, list[float]] = {}


def compile_all(python: str, *folders: str) -> None:
    for folder in folders:
        subprocess.run([python, "-m", "compileall", "-q", folder], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-012", action="store_true")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    compile_all(
        sys.executable,
        sysconfig.get_paths()["purelib"],
        *(str(p / "src") for p in (root / "packages").iterdir()),
    )
    with tempfile.TemporaryDirectory() as scratch:
        ours = timed(sys.executable, project(Path(scratch) / "ours"), args.repeat)
        old = None
        if not args.skip_012:
            python = str(old_python())
            old = timed(python, project(Path(scratch) / "old"), args.repeat)
    startup = best_bare(args.repeat)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; one-task job (the default "
        f"process executor), {args.repeat} runs: median (best-worst); a bare interpreter start "
        f"takes {startup * 1000:.0f} ms here"
    )
    mine = statistics.median(ours)
    mine_cpu = statistics.median(CPU[sys.executable])
    print(
        f"  ours   {mine * 1000:6.0f} ms ({ours[0] * 1000:.0f}-{ours[-1] * 1000:.0f}), "
        f"CPU {mine_cpu * 1000:.0f} ms   {mine / TARGET:.2f}x the target of "
        f"{TARGET * 1000:.0f} ms (CPU: {mine_cpu / TARGET:.2f}x)"
    )
    if old is not None:
        theirs = statistics.median(old)
        theirs_cpu = statistics.median(CPU[str(old_python())])
        print(
            f"  0.12.4 {theirs * 1000:6.0f} ms ({old[0] * 1000:.0f}-{old[-1] * 1000:.0f}), "
            f"CPU {theirs_cpu * 1000:.0f} ms   ours is {theirs / mine:.1f}x faster "
            f"(CPU: {theirs_cpu / mine_cpu:.1f}x; target: 5x, and {TARGET * 1000:.0f} ms)"
        )
    return 0


def best_bare(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    raise SystemExit(main())
