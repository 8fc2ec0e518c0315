"""What checkpointing costs a run: a 1000-task chain with no store, FileCheckpointer, SQLite.

Each run is a fresh Python process running a chain of no-op tasks (each depends on the one
before, so every finish is followed by a save). The three variants are interleaved and each is
timed ``--repeat`` times; the best of each is compared, which is the figure least disturbed by
other work on a shared machine. Flowmancer 0.12.4 wrote its pickled checkpoint on a 10-second
timer, so a finish could be lost; ours saves after every finish, so there is no 0.12 column.

Target (checkpoint issue): a store adds under 10% to the 1000-task chain on the process executor.

    python benchmarks/checkpoint_overhead.py [--tasks 1000] [--repeat 5] [--check]
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
    from flowmancer_checkpoint import FileCheckpointer, SQLiteCheckpointer
    from flowmancer_exec import ProcessExecutor, Runner, Task, TaskSpec, ThreadExecutor

    class Noop(Task):
        def run(self):
            pass

    store_kind, executor, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    specs = [TaskSpec(f"t{i}", Noop, depends_on=[f"t{i-1}"] if i else []) for i in range(n)]
    store = {
        "none": None,
        "file": FileCheckpointer(folder),
        "sqlite": SQLiteCheckpointer(folder + "/checkpoint.db"),
    }[store_kind]
    chosen = ProcessExecutor() if executor == "process" else ThreadExecutor()
    start = time.perf_counter()
    result = Runner(specs, executor=chosen, checkpoint=store).run()
    print(time.perf_counter() - start, result.exit_code)
    """
)

STORES = ("none", "file", "sqlite")


def best_times(script: Path, executor: str, n: int, repeat: int) -> dict[str, float]:
    best = dict.fromkeys(STORES, float("inf"))
    for _ in range(repeat):
        for store in STORES:
            with tempfile.TemporaryDirectory() as folder:
                out = subprocess.run(
                    [sys.executable, str(script), store, executor, str(n), folder],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
            if out[1] != "0":
                raise SystemExit(f"{store}/{executor}: the run failed")
            best[store] = min(best[store], float(out[0]))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    met = True
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "chain.py"
        script.write_text(SCRIPT)
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; chain of {args.tasks} "
            f"no-op tasks, best of {args.repeat} (run time, start-up excluded)"
        )
        print(
            f"{'executor':10} {'no store s':>11} {'file s':>8} {'+%':>6} {'sqlite s':>9} {'+%':>6}"
        )
        for executor in ("process", "thread"):
            best = best_times(script, executor, args.tasks, args.repeat)
            base = best["none"]
            extra = {k: (best[k] / base - 1) * 100 for k in ("file", "sqlite")}
            print(
                f"{executor:10} {base:11.3f} {best['file']:8.3f} {extra['file']:+6.1f} "
                f"{best['sqlite']:9.3f} {extra['sqlite']:+6.1f}"
            )
            if executor == "process":
                met = max(extra.values()) < 10
    print("target (a store adds < 10% to the process chain):", "met" if met else "MISSED")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
