"""A project whose runs the record and report tests look at: retries, a failure and what it
defaults, Unicode, HTML and script in names, parameters and logs, a secret parameter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from flowmancer_log import find_records, read_record

MAIN = """
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    sys.exit(Flowmancer().start())
"""

TASKS = """
import os
import time
from flowmancer import Task, task


@task
class Sleep(Task):
    seconds: float = 0.05

    def run(self):
        time.sleep(self.seconds)
        print(f"{self.metadata.name} slept {self.seconds}")


@task
class Chatty(Task):
    lines: int = 150
    title: str = ""

    def run(self):
        print(f"title: {self.title}")
        for n in range(1, self.lines + 1):
            print(f"line {n} of {self.lines} <b>not bold</b> & été")


@task
class FlakyOnce(Task):
    def run(self):
        if self.metadata.attempt == 1:
            raise ConnectionError("busy the first time")
        print("worked on attempt", self.metadata.attempt)


@task
class Fails(Task):
    def run(self):
        raise ValueError("broken <i>on purpose</i>")


@task
class Secretive(Task):
    db_password: str
    url: str

    def run(self):
        print("connected")


@task
class FailsWhile(Task):
    path: str

    def run(self):
        if os.path.exists(self.path):
            raise RuntimeError(f"{self.path} is there")


@task
class Hang(Task):
    def run(self):
        print("hanging", flush=True)
        time.sleep(600)
"""

DASH = "\N{EN DASH}"  # what the page writes for "none" and in ranges
SCRIPT_NAME = "<script>alert(1)</script>"
UNICODE_NAME = "données été ✓"
HTML_TITLE = '<img src=x onerror="document.body.dataset.pwned=1">'

JOB = f"""
config:
  name: report-demo
  max_concurrency: 3
tasks:
  extract:
    task: Sleep
    parameters:
      seconds: $VAR{{slow:0.05}}
  "{UNICODE_NAME}":
    task: Sleep
    dependencies: [extract]
  "{SCRIPT_NAME}":
    task: Chatty
    dependencies: [extract]
    parameters:
      title: '{HTML_TITLE}'
  flaky:
    task: FlakyOnce
    dependencies: ["{UNICODE_NAME}"]
    max_attempts: 3
    backoff: 0.2
  secret:
    task: Secretive
    parameters: {{db_password: hunter2, url: "postgres://me:hunter2@db/x"}}
  broken:
    task: Fails
    dependencies: [flaky]
  after-broken:
    task: Sleep
    dependencies: [broken]
  summary:
    task: Sleep
    dependencies: ["{SCRIPT_NAME}", flaky, secret]
"""

EXPECTED = {
    "extract": "COMPLETED",
    UNICODE_NAME: "COMPLETED",
    SCRIPT_NAME: "COMPLETED",
    "flaky": "COMPLETED",
    "secret": "COMPLETED",
    "broken": "FAILED",
    "after-broken": "DEFAULTED",
    "summary": "COMPLETED",
}


def make_project(folder: Path, job: str = JOB) -> Path:
    """The driver, the tasks and the job file in ``folder``."""
    (folder / "tasks").mkdir(parents=True)
    (folder / "main.py").write_text(MAIN)
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "report_tasks.py").write_text(textwrap.dedent(TASKS))
    (folder / "job.yaml").write_text(textwrap.dedent(job), encoding="utf-8")
    return folder


def drive(folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python main.py -j job.yaml ARGS`` in ``folder``."""
    return subprocess.run(
        [sys.executable, "main.py", "-j", "job.yaml", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def flowmancer(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``flowmancer`` command, in ``folder``."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from flowmancer._cli import main; sys.exit(main())",
            *args,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


HANGS = """
config:
  name: hangs
tasks:
  quick:
    task: Sleep
    parameters: {seconds: 0.01}
  hang:
    task: Hang
    dependencies: [quick]
  never:
    task: Sleep
    dependencies: [hang]
"""


def start_hanging(folder: Path) -> subprocess.Popen[str]:
    """``python main.py -j job.yaml`` of ``HANGS`` in a session of its own, once ``hang`` runs."""
    driver = subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the record says `hang` runs
        records = find_records(folder / "logs", "hangs")
        if records and "[1," in records[0].read_text() and '"RUNNING"' in records[0].read_text():
            return driver
        time.sleep(0.05)
    driver.kill()
    raise AssertionError("the hanging task never started")


def kill_9_while_hanging(folder: Path) -> Path:
    """A run of ``HANGS`` killed with ``kill -9`` while ``hang`` runs; returns its record once
    the attempt, in a process group of its own, has died with its driver (its parent-death
    signal, a moment later: until then the run folder is in use and the run reads "running")."""
    driver = start_hanging(folder)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.communicate()
    (record,) = find_records(folder / "logs", "hangs")
    deadline = time.monotonic() + 60
    while read_record(record).status == "running":
        assert time.monotonic() < deadline, "the attempt outlived its driver"
        time.sleep(0.1)
    return record
