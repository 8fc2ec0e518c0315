"""Helpers for the task-fault, output and load tests: a driver run watched from outside, and what
it left behind read back from its logs (the JSON-lines record of the run, each task's log file).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from faults_support import driver_env

# Every job of these tests logs twice: the default per-task files (what a user reads) and JSON
# lines (what the tests read the final states and reasons from). One JSON file per run.
LOGGERS = """\
loggers:
  file: {logger: FileLogger, parameters: {base_log_dir: ./logs}}
  json: {logger: JSONLinesLogger, parameters: {path: "./logs/{run_id}.jsonl"}}
"""

# A driver that writes its own peak memory (VmHWM) to peak_rss.txt as it ends: read from inside,
# the peak cannot be missed between two looks from outside.
PEAK_MAIN = """\
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    code = Flowmancer().start()
    with open('/proc/self/status') as status:
        peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open('peak_rss.txt', 'w') as out:
        out.write(peak)
    sys.exit(code)
"""


@dataclasses.dataclass
class Run:
    """One finished driver run: its exit status, output, and what its loggers recorded."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str
    record: dict[str, object]
    log_dir: Path | None

    @property
    def states(self) -> dict[str, str]:
        """Final state of every task, from the run's end record."""
        states = self.record.get("states", {})
        assert isinstance(states, dict)
        return {str(k): str(v) for k, v in states.items()}

    @property
    def reasons(self) -> dict[str, str]:
        """The reason each task that did not complete was given."""
        reasons = self.record.get("reasons", {})
        assert isinstance(reasons, dict)
        return {str(k): str(v) for k, v in reasons.items()}

    def log(self, task: str) -> str:
        """The text of a task's log file in this run."""
        assert self.log_dir is not None, f"no run folder under logs/ ({self.stderr[-2000:]})"
        return (self.log_dir / f"{task}.log").read_text()

    def peak_rss_kib(self) -> int:
        """The driver's peak RSS, as written by PEAK_MAIN."""
        return int((self.folder / "peak_rss.txt").read_text())

    def check_clean(self) -> None:
        """The driver printed no traceback and its exit status is the number of tasks that
        neither completed nor were skipped."""
        output = self.stdout + self.stderr
        assert "Traceback" not in output, output[-4000:]
        missed = [n for n, s in self.states.items() if s not in ("COMPLETED", "SKIPPED")]
        assert self.returncode == min(len(missed), 255), (self.returncode, missed, output[-2000:])


def _run_files(folder: Path) -> tuple[set[Path], set[Path]]:
    logs = folder / "logs"
    records = set(logs.glob("*.jsonl"))
    runs = {p for p in logs.glob("*/*") if p.is_dir()}
    return records, runs


def run_job(
    folder: Path,
    *args: str,
    tag: str,
    during: Callable[[subprocess.Popen[bytes]], None] | None = None,
    timeout: float = 120,
    main: str | None = None,
) -> Run:
    """Run ``python main.py <args>`` in ``folder`` to its end; ``during`` is called once it has
    started (to signal it or its tasks). Output goes to files, so a chatty run cannot block on
    a full pipe."""
    if main is not None:
        (folder / "main.py").write_text(main)
    records_before, runs_before = _run_files(folder)
    out_path, err_path = folder / "driver.out", folder / "driver.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "main.py", *args],
            cwd=folder,
            env=driver_env(tag),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            if during is not None:
                during(proc)
            proc.wait(timeout)
        finally:
            if proc.poll() is None:  # a hang: leave nothing running, then fail
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    records, runs = _run_files(folder)
    record: dict[str, object] = {}
    for path in records - records_before:
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("kind") == "run_end":
                record = entry
    new_runs = sorted(runs - runs_before)
    return Run(folder, proc.returncode, stdout, stderr, record, new_runs[-1] if new_runs else None)


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    """The content of ``path`` once a task has written it (tasks write such files atomically)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the driver ended ({proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)
    return path.read_text()


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False
