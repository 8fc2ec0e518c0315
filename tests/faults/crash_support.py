"""The crash-resume job: 30 tasks in diamonds and a chain, each leaving marker files that prove
how often its ``run()`` completed and whether two of its runs ever overlapped."""

from __future__ import annotations

import random
from pathlib import Path

TASKS = """\
import fcntl, os, signal, threading, time
from flowmancer import Task, task


def _driver():
    # The forked attempt's parent, or its parent's when that is the fork server.
    parent = os.getppid()
    with open(f"/proc/{parent}/comm") as f:
        if f.read().strip() != "flowmancer-fork":
            return parent
    with open(f"/proc/{parent}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@task
class Marked(Task):
    folder: str
    seconds: float

    def run(self):
        name = self.metadata.name
        base = os.path.join(self.folder, name)
        # Held for the whole of run(): a second run of this task while one is still alive cannot
        # take it (the kernel drops the lock only when its holder is gone).
        lock = os.open(base + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _append(base + ".overlap", f"{os.getpid()}\\n")
            fcntl.flock(lock, fcntl.LOCK_EX)
        _append(base + ".started", f"{os.getpid()}\\n")
        self.shared_dict[name] = os.getpid()
        time.sleep(self.seconds)
        # The last thing run() does: after this line, the run has completed.
        _append(base + ".done", f"{os.getpid()} {time.monotonic_ns()}\\n")


@task
class KillsDriverAfterRun(Task):
    # Its run() completes; then, before the runner can hear of it, the driver is killed.

    folder: str

    def run(self):
        _append(os.path.join(self.folder, self.metadata.name + ".done"), f"{os.getpid()} 0\\n")

    def on_destroy(self):
        flag = os.path.join(self.folder, "killed")
        if os.path.exists(flag):
            return
        open(flag, "w").close()
        # On a worker thread the driver is this process; in a forked child, its parent.
        on_thread = threading.current_thread() is not threading.main_thread()
        os.kill(os.getpid() if on_thread else _driver(), signal.SIGKILL)
        time.sleep(5)  # the process executor's child dies with its driver meanwhile


def _append(path, text):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
"""


def job_yaml(markers: Path, executor: str, seed: int) -> str:
    """Three diamonds (1 -> 4 -> 1), then a chain, then a fan-out and a fan-in: 30 tasks."""
    rng = random.Random(seed)
    deps: dict[str, list[str]] = {}
    last: list[str] = []
    for d in range(3):
        top, bottom = f"d{d}_top", f"d{d}_bottom"
        deps[top] = last
        sides = [f"d{d}_side{i}" for i in range(4)]
        for side in sides:
            deps[side] = [top]
        deps[bottom] = sides
        last = [bottom]
    for i in range(6):
        deps[f"chain{i}"] = last
        last = [f"chain{i}"]
    fan = [f"fan{i}" for i in range(5)]
    for name in fan:
        deps[name] = last
    deps["end"] = fan
    assert len(deps) == 30
    lines = [
        "config:",
        "  name: crash-resume",
        f"  executor: {executor}",
        "tasks:",
    ]
    for name, needs in deps.items():
        lines += [
            f"  {name}:",
            "    task: Marked",
            f"    dependencies: {needs}".replace("'", ""),
            f"    parameters: {{folder: '{markers}', seconds: {rng.uniform(0.005, 0.03):.3f}}}",
        ]
    return "\n".join(lines) + "\n"


TASK_NAMES = [
    *(
        f"d{d}_{part}"
        for d in range(3)
        for part in ("top", *(f"side{i}" for i in range(4)), "bottom")
    ),
    *(f"chain{i}" for i in range(6)),
    *(f"fan{i}" for i in range(5)),
    "end",
]


def done_times(path: Path) -> list[int]:
    """When (monotonic ns) each completed run() of a task wrote its last line."""
    if not path.exists():
        return []
    return [int(line.split()[1]) for line in path.read_text().splitlines()]


def count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0
