"""The fork server (flowmancer_exec._fork_server) keeps every guarantee of the process executor.

Each test runs the real driver as a process, once with the fork server
(``FLOWMANCER_FORK_SERVER=1``) and once without (``=0``, the default: every attempt forked by the
driver itself), and
checks which process forked each attempt: a task writes its parent's pid, which is the driver's
own on the fork path and the server's (a child of the driver) with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from faults_support import assert_none_left, new_tag, tagged_processes, write_project
from tasks_support import LOGGERS, run_job, wait_for_file

TASKS = """\
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flowmancer import Task, task


def _parent(name):
    Path(f"parent.{name}").write_text(str(os.getppid()))


@task
class WarmUp(Task):
    # With the server on: ends at once (a crash, retried, no traceback) until the server, having
    # imported this module in the background, is what forks it.
    def run(self) -> None:
        if os.environ.get("FLOWMANCER_FORK_SERVER") == "1":
            with open(f"/proc/{os.getppid()}/comm") as f:
                if f.read().strip() != "flowmancer-fork":
                    os._exit(3)


@task
class Quick(Task):
    def run(self) -> None:
        _parent(self.metadata.name)


@task
class Dies(Task):
    how: str = "sigkill"

    def run(self) -> None:
        _parent(self.metadata.name)
        sys.stdout.flush()
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.how == "segfault":
            ctypes.string_at(0)
        else:
            os._exit(0)


@task
class Grandparent(Task):
    def run(self) -> None:
        _parent(self.metadata.name)
        # A grandchild that outlives its task: ended with the attempt's process group.
        proc = subprocess.Popen(["sleep", "300"])
        Path("grandchild").write_text(str(proc.pid))


@task
class Waits(Task):
    def run(self) -> None:
        _parent(self.metadata.name)
        subprocess.Popen(["sleep", "300"])
        Path("started.tmp").write_text(str(os.getpid()))
        os.replace("started.tmp", "started")
        for _ in range(3000):
            time.sleep(0.1)

    def on_abort(self) -> None:
        Path("on_abort").touch()


@task
class Loud(Task):
    lines: int = 20000

    def run(self) -> None:
        _parent(self.metadata.name)
        for i in range(self.lines):
            print(f"line {i:06d} " + "x" * 100)
        os.write(1, b"".join(b"raw %06d\\n" % i for i in range(self.lines)))
        sys.stdout.write("no newline at the end")
"""

SERVER = pytest.mark.parametrize("server", ["1", "0"], ids=["fork-server", "driver-forks"])


def _chain(prefix: str, task: str, count: int, after: str | None = None) -> str:
    """``count`` tasks one after another, the first after ``after``."""
    lines = []
    for i in range(count):
        before = f"{prefix}{i - 1}" if i else after
        lines.append(
            f"  {prefix}{i}: {{task: {task}"
            + (f", dependencies: [{before}]" if before else "")
            + "}\n"
        )
    return "".join(lines)


# A warm-up task first, retried until the server forks it: the server imports the tasks' module
# in the background and, until it has, the driver forks their attempts itself. (Eight quick
# tasks in a row were not always enough time on a loaded machine.)
LEAD = "  warm: {task: WarmUp, max_attempts: 600, backoff: 0.05}\n"


def _project(tmp_path: Path, tasks: str) -> Path:
    first = "  first: {task: Quick}"
    tasks = LEAD + tasks.replace(first, "  first: {task: Quick, dependencies: [warm]}")
    return write_project(tmp_path, TASKS, f"version: 0.1\n{LOGGERS}tasks:\n{tasks}").parent


def _forked_by(folder: Path, task: str, driver: int) -> str:
    parent = int((folder / f"parent.{task}").read_text())
    return "driver" if parent == driver else "server"


def _driver_pid(folder: Path) -> int:
    return int((folder / "driver.pid").read_text())


# A driver that says its pid, so the tests can tell who forked each attempt.
MAIN = """\
import os
import sys
from pathlib import Path
from flowmancer import Flowmancer
if __name__ == '__main__':
    Path('driver.pid').write_text(str(os.getpid()))
    sys.exit(Flowmancer().start())
"""


@SERVER
@pytest.mark.parametrize("how", ["sigkill", "segfault", "exit"])
def test_a_task_that_dies_hard_fails_with_its_reason_and_spares_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str, how: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        f"  dies: {{task: Dies, dependencies: [second], parameters: {{how: {how}}}}}\n"
        "  beside: {task: Quick, dependencies: [second]}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()
    run = run_job(folder, tag=tag, main=MAIN)
    run.check_clean()
    assert {k: v for k, v in run.states.items() if k != "warm"} == {
        "first": "COMPLETED",
        "second": "COMPLETED",
        "dies": "FAILED",
        "beside": "COMPLETED",
    }
    expected = {"sigkill": "killed by signal 9", "segfault": "killed by signal 11"}
    assert expected.get(how, "exited (code 0) before reporting a result") in run.reasons["dies"]
    driver = _driver_pid(folder)
    want = "server" if server == "1" else "driver"
    # The first attempt of a class may be forked by the driver while the server imports it.
    assert _forked_by(folder, "dies", driver) == want
    assert_none_left(tag)


@SERVER
def test_a_grandchild_is_ended_with_its_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        "  parent: {task: Grandparent, dependencies: [second]}\n"
        "  after: {task: Quick, dependencies: [parent]}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()
    run = run_job(folder, tag=tag, main=MAIN)
    run.check_clean()
    assert set(run.states.values()) == {"COMPLETED"}
    grandchild = int((folder / "grandchild").read_text())
    assert not Path(f"/proc/{grandchild}").exists() or _zombie(grandchild)
    want = "server" if server == "1" else "driver"
    assert _forked_by(folder, "parent", _driver_pid(folder)) == want
    assert_none_left(tag)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


@SERVER
def test_a_timeout_stops_the_attempt_and_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        "  slow: {task: Waits, dependencies: [second], timeout: 1}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()
    run = run_job(folder, tag=tag, main=MAIN)
    assert run.states["slow"] == "FAILED", run.stderr[-2000:]
    assert "timed out" in run.reasons["slow"] or "timeout" in run.reasons["slow"]
    assert (folder / "on_abort").exists()
    want = "server" if server == "1" else "driver"
    assert _forked_by(folder, "slow", _driver_pid(folder)) == want
    assert_none_left(tag)


@SERVER
def test_sigint_to_the_driver_aborts_the_attempt_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        "  slow: {task: Waits, dependencies: [second]}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()

    def interrupt(proc: subprocess.Popen[bytes]) -> None:
        wait_for_file(folder / "started", proc)
        os.kill(proc.pid, signal.SIGINT)  # the driver alone, as a supervisor would

    run = run_job(folder, tag=tag, main=MAIN, during=interrupt)
    assert run.states["slow"] == "ABORTED", run.stderr[-2000:]
    assert (folder / "on_abort").exists()
    assert run.returncode != 0
    want = "server" if server == "1" else "driver"
    assert _forked_by(folder, "slow", _driver_pid(folder)) == want
    assert_none_left(tag)


@SERVER
def test_kill_9_of_the_driver_leaves_no_server_attempt_or_grandchild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        "  slow: {task: Waits, dependencies: [second]}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()

    def kill(proc: subprocess.Popen[bytes]) -> None:
        wait_for_file(folder / "started", proc)
        # Attempt, its grandchild and (with it) the server are running now.
        assert len(tagged_processes(tag)) >= (4 if server == "1" else 3)
        os.kill(proc.pid, signal.SIGKILL)

    run_job(folder, tag=tag, main=MAIN, during=kill)
    want = "server" if server == "1" else "driver"
    assert _forked_by(folder, "slow", _driver_pid(folder)) == want
    if server == "1":
        # The server ends its attempts' groups as it dies with the driver, grandchildren too.
        assert_none_left(tag)
    else:
        # The driver's own attempt dies with it; a grandchild of its is out of reach (known).
        deadline = time.monotonic() + 5
        attempt = int((folder / "started").read_text())
        while Path(f"/proc/{attempt}").exists() and not _zombie(attempt):
            assert time.monotonic() < deadline, "the attempt outlived the driver"
            time.sleep(0.05)
        _kill_all(tag)


def _kill_all(tag: str) -> None:
    for pid, _ in tagged_processes(tag):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@SERVER
def test_big_output_is_captured_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", server)
    jobs = (
        "  first: {task: Quick}\n"
        "  second: {task: Quick, dependencies: [first]}\n"
        "  loud: {task: Loud, dependencies: [second]}\n"
    )
    folder = _project(tmp_path, jobs)
    tag = new_tag()
    run = run_job(folder, tag=tag, main=MAIN)
    run.check_clean()
    log = run.log("loud")
    for i in range(20000):
        assert f"line {i:06d} " in log and f"raw {i:06d}" in log, i
    assert "no newline at the end" in log
    want = "server" if server == "1" else "driver"
    assert _forked_by(folder, "loud", _driver_pid(folder)) == want
    assert_none_left(tag)


def test_a_task_class_in_the_driver_script_is_forked_by_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server cannot import ``__main__``'s classes: the driver forks those itself."""
    monkeypatch.setenv("FLOWMANCER_FORK_SERVER", "1")
    main = MAIN.replace(
        "if __name__",
        "from flowmancer import Task, task\n\n"
        "@task\nclass InMain(Task):\n    def run(self):\n"
        "        Path(f'parent.{self.metadata.name}').write_text(str(os.getppid()))\n\n"
        "if __name__",
    )
    warm = LEAD.replace("WarmUp,", "WarmUp, dependencies: [m4],")
    jobs = _chain("m", "InMain", 5) + warm + _chain("r", "Quick", 2, after="warm")
    folder = write_project(tmp_path, TASKS, f"version: 0.1\n{LOGGERS}tasks:\n{jobs}").parent
    tag = new_tag()
    run = run_job(folder, tag=tag, main=main)
    run.check_clean()
    driver = _driver_pid(folder)
    assert {_forked_by(folder, f"m{i}", driver) for i in range(5)} == {"driver"}
    assert _forked_by(folder, "r1", driver) == "server"
    assert_none_left(tag)
