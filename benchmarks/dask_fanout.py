"""The Dask executor against the process executor: a fan-out of independent 20 ms tasks, and the
per-task overhead of the Dask path (no-op tasks, one worker, run one after another).

Each scenario runs in a fresh process; the LocalCluster (2 worker processes, 1 thread each) is
started by the executor and its start-up is reported apart. No target yet (Dask issue): the
numbers are printed for the record.

    python benchmarks/dask_fanout.py [--tasks 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from flowmancer_exec import DaskExecutor, ProcessExecutor, Runner, TaskSpec


    def main():
        sys.path.insert(0, sys.argv[4])
        from bench_tasks import Nap

        kind, shape, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        seconds = 0.02 if shape == "fanout" else 0.0
        specs = [
            TaskSpec(f"t{i}", Nap, {"seconds": seconds},
                     depends_on=[f"t{i-1}"] if shape == "chain" and i else [])
            for i in range(n)
        ]
        if kind == "dask":
            workers = 2 if shape == "fanout" else 1
            executor = DaskExecutor(n_workers=workers, paths=[sys.argv[4]])
        else:
            executor = ProcessExecutor()
        start = time.perf_counter()
        result = Runner(specs, executor=executor, max_concurrency=2).run()
        assert result.ok, result.reasons
        print(time.perf_counter() - start)


    if __name__ == "__main__":  # the cluster's worker processes import this file again
        main()
    """
)

TASKS = textwrap.dedent(
    """
    import time
    from flowmancer_exec import Task

    class Nap(Task):
        seconds: float = 0.0

        def run(self):
            time.sleep(self.seconds)
    """
)


def timed(folder: Path, kind: str, shape: str, n: int) -> float:
    out = subprocess.run(
        [sys.executable, str(folder / "run.py"), kind, shape, str(n), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    args = parser.parse_args()
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("dask is not installed: pip install 'flowmancer-exec[dask]'")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "run.py").write_text(SCRIPT)
        (folder / "bench_tasks.py").write_text(TASKS)
        n = args.tasks
        fan_process = timed(folder, "process", "fanout", n)
        fan_dask = timed(folder, "dask", "fanout", n)
        startup = timed(folder, "dask", "chain", 1)
        chain_dask = timed(folder, "dask", "chain", 200)
        chain_process = timed(folder, "process", "chain", 200)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; max_concurrency 2")
    print(
        f"fan-out of {n} x 20 ms: process {fan_process:.2f} s, dask {fan_dask:.2f} s "
        f"(LocalCluster of 2 workers, its start-up included)"
    )
    per_dask = (chain_dask - startup) / 199
    per_process = chain_process / 200
    print(
        f"per-task overhead, no-op chain of 200: dask {per_dask * 1000:.1f} ms, process "
        f"{per_process * 1000:.2f} ms; cluster start and stop {startup:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
