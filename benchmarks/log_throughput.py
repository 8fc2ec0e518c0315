"""How fast a task's output reaches its log, whole, and what it costs the runner's memory.

One task prints N MB in 1 KB lines (999 characters and a newline) through a real ``Runner`` and
``ProcessExecutor``; its output goes through ``FileLogger``, through ``JSONLinesLogger``, or
through an observer that only counts (the runner's own ceiling). Each measurement runs in a
fresh Python process, which reports lines per second over ``Runner.run()``, checks the log is
whole (every line, every byte) and reads its own peak RSS (``ru_maxrss``): the task runs in a
forked child, so that is the runner and its loggers alone. 20 MB and 200 MB show whether memory
stays flat as output grows.

Side by side: Flowmancer 0.12.4 (installed into benchmarks/.cache/ on first use, as the exec
benchmark does) running the same task through its default ``FileLogger`` from
``python main.py -j job.yaml``, progress bar off.

Retention: a job folder with 10,000 old run folders; the time ``FileLogger`` adds to the start
of a run, to its end when nothing has expired (one directory listing), and to its end when all
10,000 have expired and are removed.

    python benchmarks/log_throughput.py [--quick] [--skip-012]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from exec_runner import old_python

OURS = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from flowmancer_exec import ProcessExecutor, Runner, Task, TaskSpec
    from flowmancer_log import FileLogger, JSONLinesLogger

    kind, megabytes, folder = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    lines = int(megabytes * 1000)

    class Loud(Task):
        def run(self):
            for i in range(lines):
                print(f"{i:08d}" + "x" * 991)

    class Count:
        n = 0
        def on_log(self, record):
            self.n += 1

    observer = {
        "file": lambda: FileLogger(folder / "logs"),
        "jsonl": lambda: JSONLinesLogger(folder / "logs" / "{job}.jsonl"),
        "none": Count,
    }[kind]()
    start = time.perf_counter()
    result = Runner([TaskSpec("loud", Loud)], job="bench", observers=[observer]).run()
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    seen = size = bad = 0
    if kind == "file":
        with open(observer.path_for("loud"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("[") and " INFO - " in line:
                    message = line.split(" INFO - ", 1)[1].rstrip("\\n")
                    if message.startswith(f"{seen:08d}") and len(message) == 999:
                        seen += 1
                        size += len(message) + 1
                    elif "->" not in message:
                        bad += 1
    elif kind == "jsonl":
        with open(observer.path, encoding="utf-8") as f:
            for line in f:
                obj = json.loads(line)
                if obj["kind"] == "log":
                    if obj["event"] == f"{seen:08d}" + "x" * 991:
                        seen += 1
                        size += len(obj["event"]) + 1
                    else:
                        bad += 1
    else:
        seen, size = observer.n, observer.n * 1000
    whole = result.ok and seen == lines and size == lines * 1000 and not bad
    print(json.dumps({"elapsed": elapsed, "lines": lines, "peak_kib": peak_kib, "whole": whole}))
    """
)

OLD_TASKS = textwrap.dedent(
    """
    from flowmancer.task import Task, task

    @task
    class Loud(Task):
        lines: int

        def run(self):
            for i in range(self.lines):
                print(f"{i:08d}" + "x" * 991)
    """
)

# Runs 0.12.4's driver in this process, then reports its peak RSS and the wall time.
OLD_WRAPPER = textwrap.dedent(
    """
    import json, resource, runpy, sys, time
    sys.argv = ["main.py", "-j", sys.argv[1]]
    start = time.perf_counter()
    try:
        runpy.run_path("main.py", run_name="__main__")
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"elapsed": elapsed, "peak_kib": peak, "code": code}))
    """
)

OLD_MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"

RETENTION = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from flowmancer_log import FileLogger
    from flowmancer_log._format import run_folder_name
    from flowmancer_log.testing import RunResult, RunStart

    base, count = Path(sys.argv[1]), int(sys.argv[2])
    now = time.time()
    job = base / "job"
    job.mkdir(parents=True)
    for i in range(count):  # one a day... and a bit, 20 to 40 days old: all past 10 days
        folder = job / run_folder_name(now - 20 * 86400 - i * 200.0)
        folder.mkdir()
        (folder / "task.log").write_text("old line\\n")

    def one_run(retention_days):
        logger = FileLogger(base, retention_days)
        t0 = time.perf_counter()
        logger.on_run_start(RunStart("job", "r", ("task",), time.time()))
        t1 = time.perf_counter()
        logger.on_run_end(RunResult("job", "r", 0.0, 1.0, {"task": "COMPLETED"}, {}, {}, {}))
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    start_keep, end_keep = one_run(100)  # nothing expires: the listing alone
    start_drop, end_drop = one_run(10)  # everything expires
    left = len(list(job.iterdir()))
    print(json.dumps({"start": start_keep, "end_scan": end_keep, "start2": start_drop,
                      "end_remove": end_drop, "left": left}))
    """
)


def measure(command: list[str], cwd: Path | None = None) -> dict[str, float]:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n...{tail}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ours(folder: Path, kind: str, megabytes: float) -> dict[str, float]:
    work = folder / f"{kind}-{megabytes:g}"
    work.mkdir()
    return measure([sys.executable, str(folder / "ours.py"), kind, str(megabytes), str(work)])


def old(folder: Path, megabytes: float) -> dict[str, float]:
    work = folder / f"old-{megabytes:g}"
    (work / "tasks").mkdir(parents=True)
    (work / "tasks" / "__init__.py").write_text("")
    (work / "tasks" / "loud.py").write_text(OLD_TASKS)
    (work / "main.py").write_text(OLD_MAIN)
    (work / "wrapper.py").write_text(OLD_WRAPPER)
    lines = int(megabytes * 1000)
    (work / "job.yaml").write_text(
        "version: 0.1\nconfig:\n  name: bench\nextensions: {}\n"
        "loggers:\n  file:\n    logger: FileLogger\n    parameters: {base_log_dir: ./logs}\n"
        f"tasks:\n  loud:\n    task: Loud\n    parameters: {{lines: {lines}}}\n"
    )
    found = measure([str(old_python()), "wrapper.py", "job.yaml"], cwd=work)
    seen = size = 0
    for path in (work / "logs").rglob("loud.log"):
        with open(path, encoding="utf-8") as f:
            for line in f:
                message = line.rstrip("\n").split(" - ", 1)[-1]
                if len(message) == 999 and message.startswith(f"{seen:08d}"):
                    seen += 1
                    size += 1000
    found["whole"] = float(seen == lines and size == lines * 1000 and found["code"] == 0)
    found["lines"] = lines
    return found


def row(title: str, found: dict[str, float]) -> str:
    rate = found["lines"] / found["elapsed"]
    whole = "yes" if found["whole"] else "NO"
    return (
        f"{title:30} {found['elapsed']:8.2f} {rate:12,.0f} {found['peak_kib'] / 1024:10.1f} "
        f"{whole:>6}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="log throughput and memory vs 0.12.4")
    parser.add_argument("--quick", action="store_true", help="2 and 20 MB, 1000 old runs")
    parser.add_argument("--skip-012", action="store_true", help="do not run flowmancer 0.12.4")
    args = parser.parse_args()
    small, large = (2.0, 20.0) if args.quick else (20.0, 200.0)
    old_runs = 1000 if args.quick else 10_000
    all_whole = True
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "ours.py").write_text(OURS)
        (folder / "retention.py").write_text(RETENTION)
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; one task printing "
            "1 KB lines through a Runner with ProcessExecutor"
        )
        print(f"{'logger, output':30} {'run s':>8} {'lines/s':>12} {'peak MiB':>10} {'whole':>6}")
        for kind, title in (
            ("none", "counting observer"),
            ("file", "FileLogger"),
            ("jsonl", "JSONLinesLogger"),
        ):
            for megabytes in (small, large):
                found = ours(folder, kind, megabytes)
                all_whole &= bool(found["whole"])
                print(row(f"{title}, {megabytes:g} MB", found), flush=True)
        if not args.skip_012:
            found = old(folder, small)
            all_whole &= bool(found["whole"])
            print(row(f"0.12.4 FileLogger, {small:g} MB", found), flush=True)

        started = time.perf_counter()
        found = measure(
            [sys.executable, str(folder / "retention.py"), str(folder / "ret"), str(old_runs)]
        )
        made = time.perf_counter() - started
        print(
            f"\nretention with {old_runs:,} old run folders (made in {made:.1f} s): run start "
            f"{found['start'] * 1000:.2f} ms; run end with none expired "
            f"{found['end_scan'] * 1000:.1f} ms; "
            f"run end removing all {found['end_remove'] * 1000:.0f} ms ({found['left']:.0f} left: "
            "the new runs)"
        )
    print("every log whole:", "yes" if all_whole else "NO")
    return 0 if all_whole else 1


if __name__ == "__main__":
    sys.exit(main())
