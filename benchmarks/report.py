"""The run report of a large job: how long ``flowmancer report`` takes, how big the page is, and
how quickly the page answers in chromium.

A job of 10,000 tasks in 100 layers (each depending on two tasks of the layer before) is run once
for real on the thread executor, with its FileLogger (a log per task, whose tails the page
holds). Then ``flowmancer report job.yaml`` is timed as a user runs it, start-up included
(targets: at most 5 s of CPU, the wall clock of a quiet machine, and 10 MB). Where Debian's
chromium and chromedriver are installed, the page is opened headless and the browser's own
clock times its load and each click (switching views, sorting the table, opening a task,
scrolling the timeline).

    python benchmarks/report.py [--layers 100] [--width 100] [--repeat 3] [--check]
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MAIN = "import sys\nfrom flowmancer import Flowmancer\nsys.exit(Flowmancer().start())\n"
TASKS = textwrap.dedent(
    """
    from flowmancer import Task, task

    @task
    class Step(Task):
        def run(self):
            print(f"{self.metadata.name} ran")
    """
)
TESTS = Path(__file__).resolve().parent.parent / "tests"
FLOWMANCER = "import sys; from flowmancer._cli import main; sys.exit(main())"
CLICKS = {
    "timeline view": "document.querySelector('#tabs [data-view=timeline]').click()",
    "tasks view": "document.querySelector('#tabs [data-view=tasks]').click()",
    "sort by duration": "document.querySelector('#tasks th[data-key=duration] button').click()",
    "sort by state": "document.querySelector('#tasks th[data-key=state] button').click()",
    "open a task": "document.querySelector('#tasks tbody tr').click()",
    "filter": "var f = document.querySelector('#filter'); f.value = 't5'; "
    "f.dispatchEvent(new Event('input'))",
    "graph view": "document.querySelector('#tabs [data-view=graph]').click()",
}


def make_project(folder: Path, layers: int, width: int) -> None:
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "step.py").write_text(TASKS)
    (folder / "main.py").write_text(MAIN)
    lines = ["config:", "  name: large", "  executor: thread", "extensions: {}", "tasks:"]
    for level in range(layers):
        for i in range(width):
            lines += [f"  t{level}-{i}:", "    task: Step"]
            if level:
                lines.append(
                    f"    dependencies: [t{level - 1}-{i}, t{level - 1}-{(i + 1) % width}]"
                )
    (folder / "job.yaml").write_text("\n".join(lines) + "\n")


def timed(command: list[str], folder: Path) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of ``command``, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, cpu, done.stdout


def browser_timings(page: Path) -> dict[str, float] | None:
    # The tests' way of starting chromium: Debian's, headless, nothing fetched.
    sys.path.insert(0, str(TESTS))
    try:
        driver = importlib.import_module("browser_support").start_chromium()
    except (RuntimeError, ImportError):
        return None
    try:
        driver.get(page.as_uri())
        times = {
            "page ready (from navigation)": driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
        }
        for name, script in CLICKS.items():
            times[name] = driver.execute_script(
                f"var t = performance.now(); {script}; return performance.now() - t"
            )
        driver.execute_script("document.querySelector('#tabs [data-view=timeline]').click()")
        times["scroll the timeline"] = driver.execute_script(
            "var s = document.querySelector('.tl-scroll'), t = performance.now();"
            "s.scrollTop = s.scrollHeight / 2; s.dispatchEvent(new Event('scroll'));"
            "return new Promise(r => requestAnimationFrame(() => r(performance.now() - t)))"
        )
        return {k: float(v) for k, v in times.items()}
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description="the run report of a large job")
    parser.add_argument("--layers", type=int, default=100)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    n = args.layers * args.width
    py = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "large"
        make_project(folder, args.layers, args.width)
        ran, _, _ = timed([py, "main.py", "-j", "job.yaml"], folder)
        builds, cpus = [], []
        for _ in range(args.repeat):
            took, cpu, out = timed([py, "-c", FLOWMANCER, "report", "job.yaml"], folder)
            builds.append(took)
            cpus.append(cpu)
        page = Path(out.strip())
        size = page.stat().st_size
        record = page.parent / "run.jsonl"
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; {n} tasks in {args.layers} "
            f"layers (thread executor, a log file per task), run in {ran:.1f} s; "
            f"its record: {record.stat().st_size / 1e6:.1f} MB"
        )
        print(
            f"flowmancer report (a fresh process, start-up included), {args.repeat} times: "
            f"min {min(builds):.2f} s, median {statistics.median(builds):.2f} s (target <= 5 s); "
            f"CPU min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s (what a quiet "
            f"machine's wall clock would show; load average now {os.getloadavg()[0]:.1f})"
        )
        print(f"the page: {size / 1e6:.2f} MB (target <= 10 MB)")
        timings = browser_timings(page)
        if timings is None:
            print("chromium, chromedriver or selenium missing: the page's timings are not taken")
        else:
            print("in chromium (headless), by the page's own clock:")
            for name, ms in timings.items():
                print(f"  {name:30} {ms:8.0f} ms")
    # CPU, not the wall clock: on the shared 2-core machine other work can stretch the wall
    # clock several times over; the CPU the report takes is what it costs.
    met = statistics.median(cpus) <= 5 and size <= 10_000_000
    print("targets:", "met" if met else "MISSED")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
