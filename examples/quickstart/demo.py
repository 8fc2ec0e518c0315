"""`hatch run demo`: the quickstart as you would run it by hand, with commentary.

1. `python main.py -j job.yaml` fails by design: do-something-3 raises.
2. Where the logs went, and the end of the failed task's log.
3. `python main.py -j job.yaml -r --var fail=false` resumes: the two finished tasks are kept,
   only the fixed one runs.

Exits 0 when the first run failed as designed and the resume succeeded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
JOB_LOGS = HERE / "logs" / "quickstart"


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def drive(*args: str) -> int:
    """Run the driver as a user would, in this folder; its output goes straight to the screen."""
    command = ["python", "main.py", "-j", "job.yaml", *args]
    print(f"$ {' '.join(command)}", flush=True)
    return subprocess.run([sys.executable, *command[1:]], cwd=HERE, check=False).returncode


def run_folders() -> set[Path]:
    return set(JOB_LOGS.iterdir()) if JOB_LOGS.is_dir() else set()


def new_run_folder(before: set[Path]) -> Path:
    """The log folder of the run that just ended (folder names sort by start time)."""
    return max(run_folders() - before)


def show_log(path: Path) -> None:
    print(f"$ cat {path.relative_to(HERE)}")
    for line in path.read_text(encoding="utf-8").splitlines():
        print(f"  {line}")


def main() -> int:
    step("1. run the job: two tasks side by side, then one that fails by design")
    before = run_folders()
    failed = drive()
    print(f"exit status {failed}: the number of tasks that did not complete")
    run = new_run_folder(before)

    step("2. every task has its own log file, one folder per run")
    for log in sorted(run.iterdir()):
        print(f"  {log.relative_to(HERE)}")
    show_log(run / "do-something-3.log")
    checkpoint = HERE / ".flowmancer" / "quickstart.json"
    kept = checkpoint.exists()
    print(f"the checkpoint {checkpoint.relative_to(HERE)} remembers what finished: {kept}")

    step("3. fix the cause (here: a variable) and resume from the point of failure")
    resumed = drive("-r", "--var", "fail=false")
    print(f"exit status {resumed}")
    rerun = new_run_folder(before | {run})
    print(f"only the fixed task ran again: {', '.join(p.name for p in sorted(rerun.iterdir()))}")
    show_log(rerun / "do-something-3.log")
    print(f"after a clean finish the checkpoint is cleared: {not checkpoint.exists()}")

    ok = failed == 1 and kept and resumed == 0 and not checkpoint.exists()
    step("the demo worked" if ok else "the demo did not go as described")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
