"""The Dask executor's overhead, side by side with plain ``dask.distributed`` on the same cluster.

The script starts its own cluster (``dask scheduler`` and ``--workers`` one-thread ``dask
worker`` processes, on free ports, no dashboard: ``flowmancer_exec.testing.dask_cluster``) and
runs, on it, ``--tasks`` no-op tasks in two shapes:

- **chain**: each task after the one before. Plain Dask: ``await client.submit(noop, i)`` in a
  loop — the driver waits for each result before it submits the next, as Flowmancer's runner
  does (a graph of dependent futures would let the scheduler chain them without the driver).
- **fan-out**: all independent. Plain Dask: submit them all, then gather.

Flowmancer runs the same shapes as a user does, ``python main.py -j job.yaml --dask-address ...``
in a project folder (``tasks/noop.py``, ``loggers: {}``, ``extensions: {}``, its default
checkpointer on). Every figure is a whole fresh process, start-up included (importing dask,
connecting); "run" is the part after start-up (Flowmancer: the time the driver prints; plain:
from the first submit to the last result); "CPU" is what the driver, the scheduler and the
workers (with their fork servers and the attempts' children) spent, which a busy machine
distorts less. The scenarios are interleaved over ``--rounds`` so that a busy spell of the
machine hits all of them alike; the ratios of each round are printed, then their medians and
spread. Target (issue 26): Flowmancer within 1.5x of plain Dask for both shapes.

    python benchmarks/dask_overhead.py [--tasks 1000] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MAIN = "import sys\nfrom flowmancer import Flowmancer\n\nif __name__ == '__main__':\n"
MAIN += "    sys.exit(Flowmancer().start())\n"

TASKS = textwrap.dedent(
    """
    from flowmancer.task import Task, task

    @task
    class Noop(Task):
        def run(self):
            pass
    """
)

PLAIN = textwrap.dedent(
    """
    import asyncio, sys, time
    import distributed


    def noop(i):
        return i


    async def main(address, shape, n):
        async with distributed.Client(address, asynchronous=True) as client:
            start = time.perf_counter()
            if shape == "chain":
                for i in range(n):
                    await client.submit(noop, i, pure=False)
            else:
                await client.gather([client.submit(noop, i, pure=False) for i in range(n)])
            print(time.perf_counter() - start)


    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def job(shape: str, n: int) -> str:
    lines = ["version: 0.1", "config: {name: bench}", "loggers: {}", "extensions: {}", "tasks:"]
    for i in range(n):
        after = f", dependencies: [t{i - 1}]" if shape == "chain" and i else ""
        lines.append(f"  t{i}: {{task: Noop{after}}}")
    return "\n".join(lines) + "\n"


def cluster_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds used so far by these processes, their live children (a worker's fork server)
    and their reaped children (the attempts), by process."""
    live = set(pids)
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            with (
                contextlib.suppress(OSError, IndexError, ValueError),
                open(f"/proc/{stat}/stat") as f,
            ):
                if int(f.read().rsplit(")", 1)[1].split()[1]) in pids:
                    live.add(int(stat))
    used = {}
    for pid in live:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime stime cutime cstime
            used[pid] = sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return used


def timed(
    args: list[str], cwd: Path, env: dict[str, str], pids: list[int]
) -> tuple[float, float, float]:
    """(whole process, its run) in seconds, and the CPU seconds it cost (driver and cluster):
    on a busy machine CPU time says more than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cluster_cpu(pids)
    start = time.perf_counter()
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # A process started during the run (a worker's fork server) counts from 0; one that
    # ended during it is left out (none does on a cluster that stays up).
    used += sum(v - cpu.get(pid, 0.0) for pid, v in cluster_cpu(pids).items())
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    said = re.search(r"succeeded in ([0-9.]+)s", out.stdout + out.stderr)  # ours: on stdout
    run = float(said.group(1)) if said else float(out.stdout.split()[-1])
    return wall, run, used


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    try:
        from flowmancer_exec.testing import dask_cluster
    except ImportError:
        print("dask is not installed: pip install 'flowmancer-exec[dask]'")
        return 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMANCER_")}
    n = args.tasks
    ratios: dict[str, list[float]] = {"chain": [], "fanout": []}
    run_ratios: dict[str, list[float]] = {"chain": [], "fanout": []}
    cpu_ratios: dict[str, list[float]] = {"chain": [], "fanout": []}
    with tempfile.TemporaryDirectory() as scratch, dask_cluster(workers=args.workers) as cluster:
        folder = Path(scratch)
        (folder / "main.py").write_text(MAIN)
        (folder / "plain.py").write_text(PLAIN)
        (folder / "tasks").mkdir()
        (folder / "tasks" / "noop.py").write_text(TASKS)
        (folder / "tasks" / "__init__.py").write_text("")
        for shape in ratios:
            (folder / f"{shape}.yaml").write_text(job(shape, n))
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f}; {n} no-op tasks, {args.workers} one-thread workers"
        )
        for round_number in range(1, args.rounds + 1):
            for shape in ratios:
                pids = [cluster.scheduler.pid, *(w.pid for w in cluster.workers)]
                plain = timed(
                    [sys.executable, "plain.py", cluster.address, shape, str(n)], folder, env, pids
                )
                command = ["main.py", "-j", f"{shape}.yaml", "--dask-address", cluster.address]
                ours = timed([sys.executable, *command], folder, env, pids)
                ratios[shape].append(ours[0] / plain[0])
                run_ratios[shape].append(ours[1] / plain[1])
                cpu_ratios[shape].append(ours[2] / plain[2])
                print(
                    f"round {round_number} {shape:7}: plain {plain[0]:6.2f} s "
                    f"(run {plain[1]:6.2f}),"
                    f" flowmancer {ours[0]:6.2f} s (run {ours[1]:6.2f}): x{ours[0] / plain[0]:.2f}"
                    f" whole, x{ours[1] / plain[1]:.2f} run; {ours[1] / n * 1000:.1f} ms/task; "
                    f"CPU {plain[2]:.2f} s vs {ours[2]:.2f} s: x{ours[2] / plain[2]:.2f}",
                    flush=True,
                )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")

    def said(values: list[float]) -> str:
        return f"x{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    print("flowmancer / plain dask, median (spread) over the rounds; target <= 1.5 for both:")
    for shape in ratios:
        print(
            f"  {shape:7}: {said(ratios[shape])} whole process, {said(run_ratios[shape])} run,"
            f" {said(cpu_ratios[shape])} CPU"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
