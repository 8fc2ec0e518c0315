"""Big jobs through the driver, as a user runs them: ``python main.py -j job.yaml``.

A random dependency graph of no-op tasks (seeded: each task depends on up to three earlier
ones) is run with 10,000 tasks on the thread executor and 2,000 on the process executor, each
also at a tenth of the size. For each run: wall time (a fresh process, start-up included), time
per task, and the driver's peak RSS (VmHWM, written by the driver script itself as it ends),
beside the peak of a ``--dry-run`` of the same job — loading and checking it, running nothing —
which is the job's own data. Memory is flat when the run adds little to that, at either size.

The 2,000-task process job is also run by Flowmancer 0.12.4 (installed into
``benchmarks/.cache/`` by ``exec_runner.py``'s helper) with the same project and job file, if
it finishes within ``--old-timeout`` seconds. Both run with their default file logger and
checkpointer and no progress display (``extensions: {}``).

    python benchmarks/load.py [--seed 7] [--thread-tasks 10000] [--process-tasks 2000]
                              [--skip-012] [--old-timeout 600]
                              [--validate-tasks 10000,100000,1000000] [--validate-repeat 3]
                              [--only-validate]

First, unless ``--validate-tasks ''``: ``flowmancer validate`` of fan-out jobs of those sizes,
against the target of 100,000 tasks in 2 s, with peak RSS and memory per task (see
``validate.py``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exec_runner import old_python
from validate import compile_sources, validate_rows

# The driver as users write it, plus one look at its own peak memory on the way out.
MAIN = """\
import sys
from flowmancer import Flowmancer

if __name__ == "__main__":
    code = Flowmancer().start()
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open("peak_rss.txt", "w") as out:
        out.write(peak)
    sys.exit(code)
"""
# Importable by this checkout and by 0.12.4 alike.
TASK = (
    "from flowmancer.task import Task, task\n\n"
    "@task\nclass Noop(Task):\n    def run(self):\n        pass\n"
)


def job_yaml(n: int, seed: int) -> str:
    """A random graph of ``n`` no-op tasks: each depends on up to three earlier ones."""
    rng = random.Random(seed)
    lines = ["version: 0.1", "config:", "  name: load", "extensions: {}", "tasks:"]
    for i in range(n):
        lines.append(f"  t{i}:")
        lines.append("    task: Noop")
        deps = sorted(rng.sample(range(i), min(i, rng.randint(0, 3))))
        if deps:
            lines.append(f"    dependencies: [{', '.join(f't{d}' for d in deps)}]")
    return "\n".join(lines) + "\n"


def project(folder: Path, n: int, seed: int) -> Path:
    """A fresh project folder holding the driver, the task and the job."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "noop.py").write_text(TASK)
    (folder / "main.py").write_text(MAIN)
    (folder / "job.yaml").write_text(job_yaml(n, seed))
    return folder


def run(
    python: str, folder: Path, *args: str, timeout: float | None = None
) -> tuple[float, int] | None:
    """Wall seconds and peak RSS (KiB) of one driver run; None if it ran out of time."""
    (folder / "peak_rss.txt").unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [python, "main.py", "-j", "job.yaml", *args],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{python} main.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return elapsed, int((folder / "peak_rss.txt").read_text())


def row(label: str, n: int, measured: tuple[float, int], dry_kib: int | None) -> str:
    wall, peak = measured
    dry = f"{dry_kib / 1024:9.1f}" if dry_kib is not None else f"{'-':>9}"
    added = f"{(peak - dry_kib) / 1024:7.1f}" if dry_kib is not None else f"{'-':>7}"
    return f"{label:26} {n:>6} {wall:8.2f} {wall / n * 1000:8.3f} {peak / 1024:8.1f} {dry} {added}"


def main() -> int:
    parser = argparse.ArgumentParser(description="big jobs through the driver")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--thread-tasks", type=int, default=10_000)
    parser.add_argument("--process-tasks", type=int, default=2_000)
    parser.add_argument("--skip-012", action="store_true", help="do not run flowmancer 0.12.4")
    parser.add_argument("--old-timeout", type=float, default=600.0)
    parser.add_argument(
        "--validate-tasks",
        default="10000,100000,1000000",
        help="sizes of the fan-out jobs validated first (comma-separated; empty: none)",
    )
    parser.add_argument("--validate-repeat", type=int, default=3)
    parser.add_argument("--only-validate", action="store_true", help="run no job, validate only")
    args = parser.parse_args()
    py = sys.executable
    # Byte-compiled, as an installed package is (PYTHONDONTWRITEBYTECODE may be set here).
    import flowmancer
    import flowmancer_exec

    for module in (flowmancer, flowmancer_exec):
        source = str(Path(module.__file__ or ".").parent)
        subprocess.run([py, "-m", "compileall", "-q", source], capture_output=True)

    sizes = [int(n) for n in args.validate_tasks.split(",") if n]
    if sizes:
        compile_sources()
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
        for line in validate_rows(sizes, args.validate_repeat):
            print(line, flush=True)
        print()
    if args.only_validate:
        return 0
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, seed {args.seed}; "
        "MiB columns: the driver's peak RSS, that of a --dry-run, and what the run added"
    )
    print(
        f"{'scenario':26} {'tasks':>6} {'wall s':>8} {'ms/task':>8} {'peak':>8} "
        f"{'dry-run':>9} {'added':>7}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for executor, big in (("thread", args.thread_tasks), ("process", args.process_tasks)):
            for n in (big // 10, big):
                folder = project(base / f"{executor}{n}", n, args.seed)
                dry = run(py, folder, "--dry-run")
                measured = run(py, folder, "--executor", executor)
                assert dry is not None
                assert measured is not None
                print(row(f"ours, {executor}", n, measured, dry[1]), flush=True)
        if args.skip_012:
            return 0
        n = args.process_tasks
        folder = project(base / "old", n, args.seed)
        old = run(str(old_python()), folder, timeout=args.old_timeout)
        if old is None:
            print(f"0.12.4, process: did not finish within {args.old_timeout:g} s; not shown")
        else:
            print(row("0.12.4, process", n, old, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
