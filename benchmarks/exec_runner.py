"""The runner's overhead, side by side with Flowmancer 0.12.4 and the bare fork+wait floor.

Scenarios, all with no-op tasks: a chain of 1000 (each depends on the one before), a fan-out of
1000 (all independent), and a chain of 2000 on the thread executor. Each run is a whole fresh
Python process, start-up included. Flowmancer 0.12.4 is installed from the package index into
its own virtual environment (benchmarks/.cache/, made on first use) and run through its full
``python main.py -j job.yaml`` path, with its default logger and progress bar switched off to
match ours. Ours goes through the Python API (``Runner``) until the YAML driver exists.

Our packages are compiled to bytecode first, as pip does on install (0.12.4's are, in its venv).

Targets (issue 3): process chain at least 5x faster than 0.12.4 and within 1.5x of the fork
floor per task; thread chain under 0.2 ms per task including start-up. For the thread figure the
run also measures its own floor: an event loop handing a job to a thread and being woken with
the answer, which no thread executor can beat.

    python benchmarks/exec_runner.py [--tasks 1000] [--skip-012] [--check]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD_VENV = HERE / ".cache" / "flowmancer-0.12.4"

OURS = textwrap.dedent(
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

OLD_TASKS = textwrap.dedent(
    """
    from flowmancer.task import Task, task

    @task
    class Noop(Task):
        def run(self):
            pass
    """
)

OLD_MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"

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

FLOOR = textwrap.dedent(
    """
    import os, sys, time
    import flowmancer_exec  # the same imports as a runner, so the same process size
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


def old_python() -> Path:
    python = OLD_VENV / "bin" / "python"
    if not python.exists():
        print("installing flowmancer==0.12.4 into", OLD_VENV, flush=True)
        venv.create(OLD_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "flowmancer==0.12.4"], check=True
        )
    return python


def old_job(folder: Path, shape: str, n: int) -> Path:
    lines = ["version: 0.1", "config:", "  name: bench", "loggers: {}", "extensions: {}", "tasks:"]
    for i in range(n):
        lines.append(f"  t{i}:")
        lines.append("    task: Noop")
        if shape == "chain" and i:
            lines.append(f"    dependencies: [t{i - 1}]")
    path = folder / f"{shape}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wall(command: list[str], cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n...{tail}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description="runner overhead vs flowmancer 0.12.4")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--skip-012", action="store_true", help="do not run flowmancer 0.12.4")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    n = args.tasks
    py = sys.executable
    # pip compiles an installed package to bytecode (0.12.4 in its venv is); our editable
    # checkout is not, and PYTHONDONTWRITEBYTECODE may stop imports from doing it. Compile it,
    # so both sides start up the way an installed package does.
    import flowmancer_dag
    import flowmancer_exec

    for module in (flowmancer_dag, flowmancer_exec):
        subprocess.run(
            [py, "-m", "compileall", "-q", str(Path(module.__file__ or ".").parent)], check=True
        )

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "ours.py").write_text(OURS)
        (folder / "floor.py").write_text(FLOOR)
        (folder / "handoff.py").write_text(HANDOFF)
        (folder / "main.py").write_text(OLD_MAIN)
        (folder / "tasks").mkdir()
        (folder / "tasks" / "__init__.py").write_text("")  # 0.12 imports ./tasks as a package
        (folder / "tasks" / "noop.py").write_text(OLD_TASKS)

        _, out = wall([py, str(folder / "floor.py"), str(n)])
        floor = float(out) / n
        rows = []
        for shape in ("chain", "fanout"):
            ours_wall, out = wall([py, str(folder / "ours.py"), shape, "process", str(n)])
            ours_run = float(out.split()[0])
            old_wall = None
            if not args.skip_012:
                old_wall, _ = wall(
                    [str(old_python()), "main.py", "-j", str(old_job(folder, shape, n))], folder
                )
            rows.append((f"{shape}-{n}, process", ours_wall, ours_run, old_wall))
        thread_n = 2 * n
        thread_wall, out = wall([py, str(folder / "ours.py"), "chain", "thread", str(thread_n)])
        thread_run = float(out.split()[0])
        startup, _ = wall([py, "-c", "import flowmancer_exec"])
        _, out = wall([py, str(folder / "handoff.py"), str(thread_n)])
        handoff = float(out) / thread_n

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; fork+wait floor "
        f"{floor * 1000:.2f} ms per task (measured in this run)"
    )
    print(
        f"{'scenario':22} {'0.12.4 s':>9} {'ours s':>8} {'x faster':>9} "
        f"{'ms/task':>8} {'x floor':>8}"
    )
    met = True
    for title, ours_wall, ours_run, old_wall in rows:
        per_task = ours_run / n
        faster = old_wall / ours_wall if old_wall else 0.0
        old_text = f"{old_wall:9.2f}" if old_wall else f"{'-':>9}"
        faster_text = f"{faster:9.1f}" if old_wall else f"{'-':>9}"
        print(
            f"{title:22} {old_text} {ours_wall:8.2f} {faster_text} {per_task * 1000:8.2f} "
            f"{per_task / floor:8.2f}"
        )
        if title.startswith("chain"):
            met &= per_task / floor <= 1.5 and (old_wall is None or faster >= 5)
    thread_per_task = thread_wall / thread_n
    print(
        f"{f'chain-{thread_n}, thread':22} {'-':>9} {thread_wall:8.2f} {'-':>9} "
        f"{thread_per_task * 1000:8.3f} {'-':>8}   (start-up included)"
    )
    print(
        f"  of which start-up and imports {startup * 1000:.0f} ms "
        f"({startup / thread_n * 1000:.3f} ms/task), the run {thread_run / thread_n * 1000:.3f} "
        f"ms/task; a bare loop-to-thread hand-off takes {handoff * 1000:.3f} ms (this run)"
    )
    met &= thread_per_task < 0.0002
    print(
        "targets (chain >= 5x 0.12.4, <= 1.5x floor; thread < 0.2 ms/task):",
        "met" if met else "MISSED",
    )
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
