"""What the run record costs: the chain-1000 of ``exec_runner.py`` with and without it.

The same project, job and command as ``hatch run bench:exec`` (``python main.py -j job.yaml``,
process executor, FileCheckpointer on, ``loggers: {}``, ``extensions: {}``), once as it is (the
record on, as by default: ``logs/bench/<run>/run.jsonl``) and once with ``config.record: false``;
rounds interleaved, so a busy spell on the shared machine hits both alike. Printed: the run's own
time per task (from the driver's last line) and the whole process, min / median, and the cost of
the record in percent of the median (target: at most 5 %).

    python benchmarks/record.py [--tasks 1000] [--repeat 5] [--check]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exec_runner import compile_everything, driver, job_file, project, spread


def recorder_work(n: int = 10_000, rounds: int = 5) -> float:
    """The recorder's own work per task, in microseconds of CPU: three state changes (PENDING,
    RUNNING, COMPLETED) fed to a real ``RunRecorder`` inside an event loop, and its writes."""
    import asyncio

    from flowmancer_dag import TaskState as S
    from flowmancer_exec import RunStart, StateChange
    from flowmancer_log import RunRecorder

    names = tuple(f"t{i}" for i in range(n))
    steps = ((S.INIT, S.PENDING), (S.PENDING, S.RUNNING), (S.RUNNING, S.COMPLETED))
    now = time.time()
    changes = [StateChange("j", "r", t, b, a, now, 1) for t in names for b, a in steps]

    async def feed() -> float:
        with tempfile.TemporaryDirectory() as folder:
            recorder = RunRecorder(folder, retention_days=-1)
            best = float("inf")
            for _ in range(rounds):
                recorder.on_run_start(RunStart("j", "r", names, time.time()))
                start = time.process_time()
                for change in changes:
                    recorder.on_state_change(change)
                recorder.close_files()
                best = min(best, time.process_time() - start)
            return best

    return asyncio.run(feed()) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description="the run record's cost on the chain benchmark")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (min and median shown)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    n = args.tasks
    py = sys.executable
    compile_everything(py)
    m: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = project(Path(scratch) / "bench", [("chain", n)])
        with_record = job_file(folder, "chain", n).name
        without = folder / "no-record.yaml"
        without.write_text(
            (folder / with_record)
            .read_text()
            .replace("  name: bench\n", "  name: bench\n  record: false\n")
        )
        for round_ in range(args.repeat):
            print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr, flush=True)
            for key, job in (("on", with_record), ("off", without.name)):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                elapsed, took = driver(py, folder, job)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                m.setdefault(f"{key} cpu", []).append(cpu)
                m.setdefault(f"{key} wall", []).append(elapsed)
                if took is not None:
                    m.setdefault(f"{key} run", []).append(took)
        records = list((folder / "logs" / "bench").glob("*/run.jsonl"))
        size = statistics.median(p.stat().st_size for p in records) if records else 0
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.repeat} rounds; "
        f"chain-{n}, process executor, python main.py -j job.yaml (loggers: {{}}, "
        "extensions: {}); min / median"
    )
    print(f"{'':18} {'run ms/task':>15} {'wall s':>15} {'cpu s':>15}")
    for key, title in (("off", "record: false"), ("on", "record (default)")):
        print(
            f"{title:18} {spread(m[f'{key} run'], 1000 / n, '.3f'):>15} "
            f"{spread(m[f'{key} wall']):>15} {spread(m[f'{key} cpu']):>15}"
        )
    cost = {
        k: statistics.median(m[f"on {k}"]) / statistics.median(m[f"off {k}"]) - 1
        for k in ("run", "wall", "cpu")
    }
    print(
        f"the record costs {100 * cost['run']:+.1f} % of the run's own time, "
        f"{100 * cost['wall']:+.1f} % of the whole process and {100 * cost['cpu']:+.1f} % of the "
        f"CPU time of the driver and its tasks (medians; target <= 5 %); one record is "
        f"{size / 1000:.0f} kB"
    )
    print(
        "  (cpu: user + system time of the driver and every attempt it forked, which a busy"
        " machine inflates far less than the wall clock)"
    )
    print(
        f"the recorder's own work, measured alone: {recorder_work():.1f} us of CPU per task "
        "(three state changes and their share of the writes)"
    )
    met = cost["run"] <= 0.05 and cost["wall"] <= 0.05
    print("target:", "met" if met else "MISSED")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
