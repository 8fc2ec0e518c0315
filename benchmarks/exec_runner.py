"""The runner's overhead as a user meets it, side by side with Flowmancer 0.12.4 and the fork floor.

Scenarios, all with no-op tasks: a chain of 1000 (each depends on the one before) and a fan-out
of 1000 (all independent) on the process executor, and a chain of 2000 on the thread executor.
Every figure is a whole fresh ``python main.py -j job.yaml`` in a project folder (``main.py``,
``tasks/``, the job file), start-up included: the same project, job files and command for ours
and for Flowmancer 0.12.4, which is installed from the package index into its own virtual
environment (``benchmarks/.cache/``, made on first use). Both run with ``loggers: {}`` and
``extensions: {}`` (no log files, no progress bar) and with their default checkpointer on: ours
is a ``FileCheckpointer`` saving after every finish and recording each completion where the
attempt ran. The thread chain adds ``--executor thread`` (0.12.4 has no such executor).

Beside them, measured in the same run: the fork+wait floor (a process that imported the runner
forking and reaping children one after another) and, for the thread chain, the least a thread
executor can cost (an event loop handing a job to a thread and being woken with the answer).
Unless ``--no-api``, ours is also run through the Python API (``Runner``, no checkpoint, no
driver), labelled as such, to show what the driver and the checkpoint add.

``--repeat`` rounds are run, every scenario once per round (interleaved, so a busy spell on the
shared machine hits all of them alike); min and median are printed. "ms/task run" is the run's
own time as the driver prints it (``succeeded in 1.23s``: from the runner's start to its end,
start-up excluded) divided by the tasks; "wall" is the whole process. Everything is compiled to
bytecode first, as an installed package is (0.12.4's is, in its venv).

Targets (issues 3 and 21): process chain at least 5x faster than 0.12.4 and within 1.5x of the
bare fork+wait floor from a small process per task (the fork server's aim; the chain is also run
with ``FLOWMANCER_FORK_SERVER=1``, every attempt forked by the fork server, to show what the
server changes); thread chain under 0.2 ms per task including start-up (wall / tasks).

    python benchmarks/exec_runner.py [--tasks 1000] [--repeat 3] [--skip-012] [--no-api] [--check]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import venv
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD_VENV = HERE / ".cache" / "flowmancer-0.12.4"

MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"

# Written against 0.12's import paths, which ours keeps: one task module for both.
TASKS = textwrap.dedent(
    """
    from flowmancer.task import Task, task

    @task
    class Noop(Task):
        def run(self):
            pass
    """
)

API = textwrap.dedent(
    """
    import sys, time
    from flowmancer_exec import ProcessExecutor, Runner, Task, TaskSpec, ThreadExecutor

    class Noop(Task):
        def run(self):
            pass

    shape, executor, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    specs = [
        TaskSpec(f"t{i}", Noop, depends_on=[f"t{i-1}"] if shape == "chain" and i else [])
        for i in range(n)
    ]
    start = time.perf_counter()
    chosen = ProcessExecutor() if executor == "process" else ThreadExecutor()
    result = Runner(specs, executor=chosen).run()
    print(time.perf_counter() - start, result.exit_code)
    """
)

# The least a thread executor can cost per task: an event loop handing work to a thread and
# being woken with the answer.
HANDOFF = textwrap.dedent(
    """
    import asyncio, queue, sys, threading, time

    async def main(n):
        loop = asyncio.get_running_loop()
        jobs = queue.SimpleQueue()

        def worker():
            while (future := jobs.get()) is not None:
                loop.call_soon_threadsafe(future.set_result, None)

        threading.Thread(target=worker, daemon=True).start()
        start = time.perf_counter()
        for _ in range(n):
            future = loop.create_future()
            jobs.put(future)
            await future
        print(time.perf_counter() - start)
        jobs.put(None)

    asyncio.run(main(int(sys.argv[1])))
    """
)

# n forks one after another, each child exiting at once; run as a script by itself.
_FORKS = textwrap.dedent(
    """
    n = int(sys.argv[1])
    start = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    print(time.perf_counter() - start)
    """
)

# With the driver's imports, so the process forked is the driver's size.
FLOOR = "import os, sys, time\nimport flowmancer, flowmancer_exec\n" + _FORKS

# The floor the fork server aims at: forking from a small process (nothing imported).
SMALL_FLOOR = "import os, sys, time\n" + _FORKS

# Our driver's last line: "flowmancer: job 'bench' succeeded in 1.23s: 1000 completed".
_TOOK = re.compile(r"job '[^']*' succeeded in ([0-9.]+)s")


def old_python() -> Path:
    """The Python of the venv holding flowmancer==0.12.4 (made on first use)."""
    python = OLD_VENV / "bin" / "python"
    if not python.exists():
        print("installing flowmancer==0.12.4 into", OLD_VENV, flush=True)
        venv.create(OLD_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "flowmancer==0.12.4"], check=True
        )
    return python


def job_file(folder: Path, shape: str, n: int) -> Path:
    lines = ["version: 0.1", "config:", "  name: bench", "loggers: {}", "extensions: {}", "tasks:"]
    for i in range(n):
        lines.append(f"  t{i}:")
        lines.append("    task: Noop")
        if shape == "chain" and i:
            lines.append(f"    dependencies: [t{i - 1}]")
    path = folder / f"{shape}-{n}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def project(folder: Path, jobs: Sequence[tuple[str, int]]) -> Path:
    """A user's project: the driver, a tasks package, the job files."""
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")  # 0.12 imports ./tasks as a package
    (folder / "tasks" / "noop.py").write_text(TASKS)
    (folder / "main.py").write_text(MAIN)
    for shape, n in jobs:
        job_file(folder, shape, n)
    return folder


def wall(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n...{tail}")
    return elapsed, done.stdout + done.stderr


def driver(python: str, folder: Path, job: str, *flags: str) -> tuple[float, float | None]:
    """Wall time of ``python main.py -j job`` and the run's own time when the driver says it."""
    elapsed, out = wall([python, "main.py", "-j", job, *flags], folder)
    found = _TOOK.search(out)
    return elapsed, float(found.group(1)) if found else None


def compile_everything(python: str) -> None:
    # pip compiles an installed package to bytecode (0.12.4 in its venv is); our editable
    # checkout is not, and PYTHONDONTWRITEBYTECODE may stop imports from doing it.
    root = HERE.parent
    folders = [sysconfig.get_paths()["purelib"], *(str(p / "src") for p in root.glob("packages/*"))]
    for folder in folders:
        subprocess.run([python, "-m", "compileall", "-q", folder], capture_output=True)


def spread(values: Sequence[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    """``min / median`` of ``values`` times ``scale``."""
    low, mid = min(values) * scale, statistics.median(values) * scale
    return f"{low:{fmt}} / {mid:{fmt}}"


def main() -> int:
    parser = argparse.ArgumentParser(description="runner overhead vs flowmancer 0.12.4")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (min and median shown)")
    parser.add_argument("--skip-012", action="store_true", help="do not run flowmancer 0.12.4")
    parser.add_argument("--no-api", action="store_true", help="skip the Python API runs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    n = args.tasks
    thread_n = 2 * n
    py = sys.executable
    compile_everything(py)
    old = None if args.skip_012 else str(old_python())

    m: dict[str, list[float]] = {}

    def add(key: str, value: float | None) -> None:
        if value is not None:
            m.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as scratch:
        jobs = [("chain", n), ("fanout", n), ("chain", thread_n)]
        ours_dir = project(Path(scratch) / "ours", jobs)
        old_dir = project(Path(scratch) / "old", jobs[:2])
        (ours_dir / "api.py").write_text(API)
        (ours_dir / "floor.py").write_text(FLOOR)
        (ours_dir / "small_floor.py").write_text(SMALL_FLOOR)
        (ours_dir / "handoff.py").write_text(HANDOFF)
        for round_ in range(args.repeat):
            print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr, flush=True)
            _, out = wall([py, "floor.py", str(n)], ours_dir)
            add("floor", float(out) / n)
            _, out = wall([py, "small_floor.py", str(n)], ours_dir)
            add("small floor", float(out) / n)
            # The same chain with the fork server (FLOWMANCER_FORK_SERVER=1; off by default).
            os.environ["FLOWMANCER_FORK_SERVER"] = "1"
            try:
                elapsed, took = driver(py, ours_dir, f"chain-{n}.yaml")
            finally:
                del os.environ["FLOWMANCER_FORK_SERVER"]
            add("chain server wall", elapsed)
            add("chain server run", took)
            for shape in ("chain", "fanout"):
                elapsed, took = driver(py, ours_dir, f"{shape}-{n}.yaml")
                add(f"{shape} wall", elapsed)
                add(f"{shape} run", took)
                if old is not None:
                    add(f"{shape} old", driver(old, old_dir, f"{shape}-{n}.yaml")[0])
                if not args.no_api:
                    elapsed, out = wall([py, "api.py", shape, "process", str(n)], ours_dir)
                    add(f"{shape} api wall", elapsed)
                    add(f"{shape} api run", float(out.split()[0]))
            elapsed, took = driver(py, ours_dir, f"chain-{thread_n}.yaml", "--executor", "thread")
            add("thread wall", elapsed)
            add("thread run", took)
            if not args.no_api:
                elapsed, out = wall([py, "api.py", "chain", "thread", str(thread_n)], ours_dir)
                add("thread api wall", elapsed)
                add("thread api run", float(out.split()[0]))
            _, out = wall([py, "handoff.py", str(thread_n)], ours_dir)
            add("handoff", float(out) / thread_n)
            add("bare start", wall([py, "-c", "pass"])[0])

    floor = m["floor"]
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.repeat} rounds; "
        f"figures are min / median. fork+wait floor {spread(floor, 1000)} ms per task "
        f"(measured in this run); a bare interpreter start {spread(m['bare start'], 1000, '.0f')}"
        " ms"
    )
    print("ours: python main.py -j job.yaml, FileCheckpointer on, loggers: {}, extensions: {}")
    header = (
        f"{'scenario':22} {'0.12.4 s':>13} {'ours wall s':>13} {'x faster':>13} "
        f"{'ms/task run':>13} {'x floor run':>13} {'x floor wall':>13}"
    )
    print(header)
    met = True
    for shape in ("chain", "fanout"):
        walls, runs = m[f"{shape} wall"], m[f"{shape} run"]
        # Ratios per round: each round's figures were taken minutes apart at most.
        per_run = [r / n / f for r, f in zip(runs, floor, strict=False)]
        per_wall = [w / n / f for w, f in zip(walls, floor, strict=False)]
        olds = m.get(f"{shape} old")
        faster = [o / w for o, w in zip(olds, walls, strict=False)] if olds else None
        dash = f"{'-':>13}"
        print(
            f"{f'{shape}-{n}, process':22} {spread(olds) if olds else dash:>13} "
            f"{spread(walls):>13} {spread(faster, fmt='.1f') if faster else dash:>13} "
            f"{spread(runs, 1000 / n):>13} {spread(per_run):>13} {spread(per_wall):>13}"
        )
        if shape == "chain":
            small_ratio = [r / n / f for r, f in zip(runs, m["small floor"], strict=False)]
            met &= statistics.median(small_ratio) <= 1.5
            met &= faster is None or statistics.median(faster) >= 5
    # Issue 21: the fork server. ms/task of the whole process (start-up included) and of the run.
    small = m["small floor"]
    print(
        f"fork server (issue 21), chain-{n}, process executor; bare fork+wait floor from a small "
        f"process {spread(small, 1000, '.3f')} ms/task"
    )
    olds = m.get("chain old")
    for key, title in (("chain", "ours (driver forks)"), ("chain server", "ours (fork server)")):
        walls, runs = m[f"{key} wall"], m[f"{key} run"]
        line = (
            f"  {title:22} wall {spread(walls, 1000 / n, '.3f')} ms/task, run "
            f"{spread(runs, 1000 / n, '.3f')} ms/task, x small floor (run) "
            f"{spread([r / n / f for r, f in zip(runs, small, strict=False)])}"
        )
        if olds:
            faster = [o / w for o, w in zip(olds, walls, strict=False)]
            line += f", 0.12.4/ours (wall) {spread(faster, fmt='.1f')}"
        print(line)
    if olds:
        print(f"  {'flowmancer 0.12.4':22} wall {spread(olds, 1000 / n, '.3f')} ms/task")
    thread_walls = m["thread wall"]
    print(
        f"{f'chain-{thread_n}, thread':22} {'-':>13} {spread(thread_walls):>13} {'-':>13} "
        f"{spread(m['thread run'], 1000 / thread_n, '.3f'):>13}   wall per task (target < 0.2): "
        f"{spread(thread_walls, 1000 / thread_n, '.3f')} ms"
    )
    print(f"  a bare loop-to-thread hand-off takes {spread(m['handoff'], 1000, '.3f')} ms per task")
    met &= statistics.median(thread_walls) / thread_n < 0.0002
    if not args.no_api:
        print("the Python API (Runner, no checkpoint, no driver), for reference:")
        for key, title, count in (
            ("chain", f"chain-{n}, process", n),
            ("fanout", f"fanout-{n}, process", n),
            ("thread", f"chain-{thread_n}, thread", thread_n),
        ):
            runs = m[f"{key} api run"]
            ratios = [r / count / f for r, f in zip(runs, floor, strict=False)]
            print(
                f"  {title:20} wall {spread(m[f'{key} api wall'])} s, run "
                f"{spread(runs, 1000 / count, '.3f')} ms/task"
                + (f", x floor {spread(ratios)}" if key != "thread" else "")
            )
    print(
        "targets (medians: process chain >= 5x 0.12.4 and <= 1.5x floor per task run; "
        "thread chain < 0.2 ms/task wall):",
        "met" if met else "MISSED",
    )
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
