"""Task classes the tests run (module-level so that forked children and threads share them)."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from flowmancer_exec import Task


def mark(folder: str, name: str, text: str = "") -> None:
    with open(os.path.join(folder, name), "a") as f:
        f.write(text + "\n")


class Noop(Task):
    def run(self) -> None:
        pass


class Hooks(Task):
    """Records each hook it goes through into a file; can fail in one of them."""

    folder: str
    fail_in: str = ""

    def _hook(self, name: str) -> None:
        mark(
            self.folder,
            f"{self.metadata.name}.hooks",
            f"{name}:{self.metadata.attempt}:{os.getpid()}",
        )
        if self.fail_in == name:
            raise RuntimeError(f"failing in {name}")

    def on_create(self) -> None:
        self._hook("on_create")

    def on_restart(self) -> None:
        self._hook("on_restart")

    def run(self) -> None:
        self._hook("run")

    def on_success(self) -> None:
        self._hook("on_success")

    def on_failure(self) -> None:
        self._hook("on_failure")

    def on_destroy(self) -> None:
        self._hook("on_destroy")

    def on_abort(self) -> None:
        self._hook("on_abort")


class Sleep(Task):
    seconds: float
    folder: str = ""
    abort_takes: float = 0.0

    def run(self) -> None:
        if self.folder:
            mark(self.folder, f"{self.metadata.name}.start", f"{time.time()!r} {os.getpid()}")
        # Short naps: a thread can only be stopped between Python instructions.
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if self.folder:
            mark(self.folder, f"{self.metadata.name}.end", repr(time.time()))

    def on_abort(self) -> None:
        if self.folder:
            mark(self.folder, f"{self.metadata.name}.aborted")
        time.sleep(self.abort_takes)


class Fail(Task):
    message: str = "fails by design"
    error: str = "ValueError"

    def run(self) -> None:
        raise {"ValueError": ValueError, "ConnectionError": ConnectionError, "KeyError": KeyError}[
            self.error
        ](self.message)


class FailTimes(Task):
    """Fails until its attempt number passes ``times``."""

    times: int
    error: str = "ConnectionError"

    def run(self) -> None:
        if self.metadata.attempt <= self.times:
            raise {"ConnectionError": ConnectionError, "ValueError": ValueError}[self.error](
                f"attempt {self.metadata.attempt}"
            )


class Talk(Task):
    """Output through every road there is."""

    def run(self) -> None:
        print("print to stdout")
        print("print to stderr", file=sys.stderr)
        self.logger.debug("logger debug")
        self.logger.warning("logger warning %d", 42)
        os.write(1, b"raw fd 1\n")
        os.write(2, b"raw fd 2\n")
        libc = ctypes.CDLL(None)
        libc.printf(b"C printf\n")  # buffered by the C library until exit
        subprocess.run(["sh", "-c", "echo from a child process; echo child stderr >&2"], check=True)
        print("no newline at the end", end="")


class Loud(Task):
    lines: int
    width: int = 1000

    def run(self) -> None:
        line = "x" * (self.width - 1)
        for i in range(self.lines):
            print(f"{i:08d}{line[8:]}")


class Exit(Task):
    how: str

    def run(self) -> None:
        sys.stdout.flush()
        if self.how == "sys.exit":
            sys.exit(3)
        if self.how == "os._exit":
            os._exit(3)
        if self.how == "os._exit0":
            os._exit(0)
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.how == "segfault":
            ctypes.string_at(0)
        if self.how == "memory":
            resource.setrlimit(resource.RLIMIT_AS, (512 * 1024 * 1024, 512 * 1024 * 1024))
            hog = bytearray(1024 * 1024 * 1024)
            print(len(hog))


class Grandchild(Task):
    """Starts a grandchild that ignores SIGTERM and lives long; records its pid."""

    folder: str
    then_sleep: float = 30.0

    def run(self) -> None:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import signal, time; "
                "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)",
            ]
        )
        mark(self.folder, "grandchild.pid", str(child.pid))
        time.sleep(self.then_sleep)


class WriteShared(Task):
    key: str
    value: int
    fail: bool = False

    def run(self) -> None:
        self.shared_dict[self.key] = self.value
        self.shared_dict.setdefault("seen", [])
        self.shared_dict["seen"] = [*self.shared_dict["seen"], self.metadata.name]
        if self.fail:
            raise RuntimeError("failed after writing")


class ReadShared(Task):
    folder: str

    def run(self) -> None:
        mark(self.folder, f"{self.metadata.name}.shared", repr(sorted(self.shared_dict.items())))
        self.shared_dict.pop("drop", None)


class Track(Task):
    """Marks start and end times so tests can see what ran at the same time."""

    folder: str
    seconds: float = 0.2

    def run(self) -> None:
        mark(self.folder, "track", f"start {self.metadata.name} {time.time()!r}")
        time.sleep(self.seconds)
        mark(self.folder, "track", f"end {self.metadata.name} {time.time()!r}")


def overlap(folder: str | Path) -> int:
    """The most tasks that were running at the same moment, from Track's marks."""
    events = []
    for line in Path(folder, "track").read_text().splitlines():
        kind, _, when = line.split()
        events.append((float(when), 0 if kind == "end" else 1))
    running = peak = 0
    for _, starting in sorted(events):
        running += 1 if starting else -1
        peak = max(peak, running)
    return peak


class Box:
    """A value with no __eq__: equal only to itself, so copies never compare equal."""

    def __init__(self, v: int) -> None:
        self.v = v


class PutBox(Task):
    value: int
    delay: float = 0.0

    def run(self) -> None:
        time.sleep(self.delay)
        self.shared_dict["box"] = Box(self.value)


class ReadBox(Task):
    delay: float = 0.0

    def run(self) -> None:
        time.sleep(self.delay)
        print("box is", getattr(self.shared_dict.get("box"), "v", None))


class GcCheck(Task):
    def run(self) -> None:
        import gc

        if not gc.isenabled():
            raise RuntimeError("garbage collection is off in the task")


class ChildOnlyValue(Task):
    """Stores an instance of a class from a module that only this process ever imported."""

    folder: str

    def run(self) -> None:
        Path(self.folder, "only_here.py").write_text("class Thing:\n    pass\n")
        sys.path.insert(0, self.folder)
        import only_here  # type: ignore[import-not-found]

        self.shared_dict["thing"] = only_here.Thing()


class Count(Task):
    """Appends a line per attempt, then fails until ``times`` attempts have been made."""

    folder: str
    times: int = 1000

    def run(self) -> None:
        mark(self.folder, "count", str(self.metadata.attempt))
        if self.metadata.attempt <= self.times:
            raise ConnectionError("again")


class Daemon(Task):
    """Starts a process that leaves the attempt's group (setsid) and ends soon after."""

    def run(self) -> None:
        subprocess.Popen(["sleep", "0.2"], start_new_session=True)


class SlowSuccess(Task):
    """run() is quick; on_success is slow: a stop arriving there must not undo the run."""

    folder: str
    seconds: float

    def run(self) -> None:
        mark(self.folder, "ran")

    def on_success(self) -> None:
        time.sleep(self.seconds)
        mark(self.folder, "on_success")

    def on_abort(self) -> None:
        mark(self.folder, "on_abort")


class Recorded(Task):
    """Writes to shared_dict and succeeds, or fails when asked."""

    fail: bool = False

    def run(self) -> None:
        self.shared_dict[self.metadata.name] = self.metadata.attempt
        if self.fail:
            raise RuntimeError("failing as asked")


class Witness(Task):
    """Marks its start and end like Track, and writes what it was told of the tasks upstream
    (``self.upstream_states``) to ``folder/<name>.upstream`` as JSON: name -> [state, reason,
    failed]. Sleeps ``seconds``; ``on_abort`` marks ``<name>.aborted``."""

    folder: str
    seconds: float = 0.0

    def run(self) -> None:
        import json

        mark(self.folder, "track", f"start {self.metadata.name} {time.time()!r}")
        told = {n: [u.state.value, u.reason, u.failed] for n, u in self.upstream_states.items()}
        Path(self.folder, f"{self.metadata.name}.upstream").write_text(json.dumps(told))
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:  # short naps: a thread stops between instructions
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        mark(self.folder, "track", f"end {self.metadata.name} {time.time()!r}")

    def on_abort(self) -> None:
        mark(self.folder, f"{self.metadata.name}.aborted")


def upstream_told(folder: str | Path, name: str) -> dict[str, list[object]]:
    """What a Witness task was told of the tasks upstream."""
    import json

    told: dict[str, list[object]] = json.loads(Path(folder, f"{name}.upstream").read_text())
    return told


def spans(folder: str | Path) -> dict[str, tuple[float, float]]:
    """Each task's (start, end) from Track's and Witness's marks (end: inf if it never ended)."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for line in Path(folder, "track").read_text().splitlines():
        kind, name, when = line.split()
        (starts if kind == "start" else ends)[name] = float(when)
    return {name: (at, ends.get(name, float("inf"))) for name, at in starts.items()}


class Parent(Task):
    """Writes which process forked it (its parent's pid) and passes a count along."""

    folder: str

    def run(self) -> int:
        mark(self.folder, f"{self.metadata.name}.parent", str(os.getppid()))
        self.shared_dict[self.metadata.name] = len(self.shared_dict)
        return len(self.shared_dict)
