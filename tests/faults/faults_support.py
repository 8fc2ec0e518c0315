"""Shared helpers of the fault suite: a project on disk, the driver run as a real process, and a
look at the process table for anything a run left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MAIN = """\
import sys
from flowmancer import Flowmancer
if __name__ == '__main__':
    sys.exit(Flowmancer().start())
"""

# Every process a test starts carries this variable with a value of its own; children inherit it,
# so whatever is left in the process table afterwards can be found and named.
TAG_VAR = "FLOWMANCER_FAULT_TAG"


def write_project(folder: Path, tasks: str, job: str, *, job_name: str = "job.yaml") -> Path:
    """Write main.py, tasks/__init__.py and a job file into `folder`; return the job file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(MAIN)
    (folder / "tasks").mkdir(exist_ok=True)
    (folder / "tasks" / "__init__.py").write_text(textwrap.dedent(tasks))
    path = folder / job_name
    path.write_text(textwrap.dedent(job))
    return path


def driver_env(tag: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE"))}
    env.update({TAG_VAR: tag, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0"})
    env.update(extra)
    return env


def new_tag() -> str:
    return uuid.uuid4().hex


def run_driver(
    folder: Path, *args: str, timeout: float = 120, tag: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python main.py <args>` in `folder`, to the end; output as text."""
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=folder,
        env=driver_env(tag or new_tag(), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_driver(
    folder: Path, *args: str, tag: str, stdout: int = subprocess.DEVNULL, **env: str
) -> subprocess.Popen[bytes]:
    """`python main.py <args>` in `folder` as the leader of a new process group (its stdout,
    where the summary line goes, to `stdout`)."""
    return subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=folder,
        env=driver_env(tag, **env),
        stdout=stdout,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def tagged_processes(tag: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment holds `tag`."""
    found = []
    needle = f"{TAG_VAR}={tag}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = f.read()
            if needle not in environ.split(b"\0"):
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue  # a zombie holds nothing; its parent has simply not reaped it yet
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found.append((int(entry.name), cmd))
    return found


def assert_none_left(tag: str, wait: float = 5.0) -> None:
    """Fail, naming them, if processes started under `tag` are still alive after `wait` s; kill
    them either way so one failing test does not leak into the next."""
    deadline = time.monotonic() + wait
    left = tagged_processes(tag)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = tagged_processes(tag)
    for pid, _ in left:
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"


@contextmanager
def no_leftovers(wait: float = 5.0) -> Iterator[str]:
    """A tag for the processes started inside; on the way out, none of them may still be alive."""
    tag = new_tag()
    try:
        yield tag
    finally:
        assert_none_left(tag, wait)


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a live process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")
