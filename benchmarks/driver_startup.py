"""A one-task job end to end, as a user runs it: ``python main.py -j job.yaml``.

The same project (a driver script, ``tasks/noop.py``, a job file naming one no-op task) is run
by this checkout and by Flowmancer 0.12.4 (installed into ``benchmarks/.cache/`` by
``exec_runner.py``'s helper), each a fresh process, best of ``--repeat``. Both run with their
default loggers and checkpointer; 0.12.4's progress bar (on by default) is switched off, since
ours is not built yet. Everything is byte-compiled first, as an installed package is.

Target (driver issue): at least 5x faster than 0.12.4.

    python benchmarks/driver_startup.py [--repeat 7] [--skip-012]
"""

from __future__ import annotations

import argparse
import os
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
JOB = "version: 0.1\nconfig:\n  name: one\nextensions: {}\ntasks:\n  only:\n    task: Noop\n"


def project(folder: Path) -> Path:
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "noop.py").write_text(TASK)
    (folder / "main.py").write_text(MAIN)
    (folder / "job.yaml").write_text(JOB)
    return folder


def best(python: str, folder: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [python, "main.py", "-j", "job.yaml"], cwd=folder, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{python} failed:\n{done.stdout}{done.stderr}")
    return min(times)


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
        ours = best(sys.executable, project(Path(scratch) / "ours"), args.repeat)
        old = None
        if not args.skip_012:
            python = str(old_python())
            old = best(python, project(Path(scratch) / "old"), args.repeat)
    startup = best_bare(args.repeat)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; one-task job, best of "
        f"{args.repeat}; a bare interpreter start takes {startup * 1000:.0f} ms here"
    )
    print(f"  ours   {ours * 1000:6.0f} ms")
    if old is not None:
        print(f"  0.12.4 {old * 1000:6.0f} ms   ours is {old / ours:.1f}x faster (target 5x)")
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
