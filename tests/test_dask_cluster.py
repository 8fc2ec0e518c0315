"""The Dask executor as a user of a long-lived cluster meets it: ``python main.py`` in projects
beside a scheduler and two workers started as processes of their own (issue 26).

The code that runs is the code the driver loaded (an edit and ``-r``; two projects whose
packages are both ``tasks``), nothing starts after Ctrl-C, a connection that goes nowhere gives
way to Ctrl-C and SIGTERM at once, and a scheduler killed mid-run leaves no attempt running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")
from flowmancer_exec.testing import DaskCluster, dask_cluster

MAIN = """\
import sys
from flowmancer import Flowmancer

if __name__ == "__main__":
    sys.exit(Flowmancer().start())
"""


def project(folder: Path, name: str, tasks: str, job: str, config: str = "") -> Path:
    """A project as a user writes one: main.py, job.yaml and tasks/mytasks.py."""
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(MAIN)
    (folder / "tasks").mkdir()
    (folder / "tasks" / "__init__.py").write_text("")
    (folder / "tasks" / "mytasks.py").write_text(textwrap.dedent(tasks))
    (folder / "job.yaml").write_text(
        f"version: 0.1\nconfig: {{name: {name}{config}}}\nloggers: {{}}\nextensions: {{}}\n"
        + textwrap.dedent(job)
    )
    return folder


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMANCER_")}
    env.pop("PYTHONPATH", None)
    return env


def driver(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", "-j", "job.yaml", "--log-format", "text", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or environment(),
        start_new_session=True,
    )


def run(folder: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = driver(folder, *args, env=env)
    try:
        _, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, err


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskCluster]:
    with dask_cluster(workers=2) as running:
        yield running


VERSION_1 = """\
    from flowmancer.task import Task, task


    @task
    class Hello(Task):
        def run(self):
            print("running version 1")
            raise RuntimeError("bug in version 1")
"""


def test_an_edited_task_runs_as_edited_when_the_run_is_resumed(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    folder = project(tmp_path / "edited", "edited", VERSION_1, "tasks: {hello: {task: Hello}}\n")
    before = code_plugins(cluster)
    code, err = run(folder, "--dask-address", cluster.address)
    assert code == 1 and "bug in version 1" in err, err
    shipped = code_plugins(cluster) - before
    assert len(shipped) == 1, shipped  # the project's code, in one plugin on the scheduler
    mytasks = folder / "tasks" / "mytasks.py"
    mytasks.write_text(
        mytasks.read_text()
        .replace('raise RuntimeError("bug in version 1")', 'print("fixed in version 2")')
        .replace("running version 1", "running version 2")
    )
    code, err = run(folder, "-r", "--dask-address", cluster.address)
    assert code == 0, err
    assert "fixed in version 2" in err and "version 1" not in err.replace("run 20", ""), err
    # The new version replaced the old one on the scheduler: one per project, not per edit.
    assert code_plugins(cluster) - before == shipped


def code_plugins(cluster: DaskCluster) -> set[str]:
    """The names of the worker plugins the scheduler holds for Flowmancer's code."""
    import distributed

    with distributed.Client(cluster.address, timeout=60, set_as_default=False) as client:
        names = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    return {name for name in names if name.startswith("flowmancer-code-")}


def test_two_projects_whose_packages_share_a_name_run_on_one_cluster(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    tasks = """\
        from flowmancer.task import Task, task
        from tasks.helpers import WHO


        @task
        class {cls}(Task):
            def run(self):
                print(f"{{self.metadata.name}} runs the code of {{WHO}}")
    """
    folders = []
    for who, cls in (("first", "Hello"), ("second", "Hello2")):
        folder = project(
            tmp_path / who, who, tasks.format(cls=cls), f"tasks: {{greet: {{task: {cls}}}}}\n"
        )
        (folder / "tasks" / "helpers.py").write_text(f"WHO = {who!r}\n")
        folders.append(folder)
    for _ in range(2):  # each project twice, in turn: the workers have seen both
        for folder, who in zip(folders, ("first", "second"), strict=True):
            code, err = run(folder, "--dask-address", cluster.address)
            assert code == 0, err
            assert f"greet runs the code of {who}" in err, err


QUEUED = """\
    import os, time
    from flowmancer.task import Task, task


    @task
    class Wait(Task):
        def run(self):
            with open(f"starts/{self.metadata.name}", "w") as f:
                f.write(str(os.getpid()))
            time.sleep(60)
"""


def test_sigint_with_queued_tasks_starts_nothing_more_and_counts_them_aborted(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    job = "tasks:\n" + "".join(f"  t{i}: {{task: Wait}}\n" for i in range(6))
    folder = project(tmp_path / "queued", "queued", QUEUED, job)
    (folder / "starts").mkdir()
    process = driver(folder, "--dask-address", cluster.address)
    try:
        deadline = time.monotonic() + 180
        while len(os.listdir(folder / "starts")) < 2:  # both worker slots taken; 4 queued
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    time.sleep(1)  # a queued task that (wrongly) started would have written by now
    assert len(os.listdir(folder / "starts")) == 2, os.listdir(folder / "starts")
    assert process.returncode == 6, err
    assert ": 6 aborted" in out, out  # the summary line, on stdout
    assert "  aborted: 6 tasks: t0, t1, t2, t3, t4, t5" in err, err  # said once


@contextlib.contextmanager
def silent_listener() -> Iterator[tuple[str, threading.Event]]:
    """A TCP port that accepts connections and never says a word; the event: one came."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    came, stop = threading.Event(), threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])
                came.set()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}", came
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


NOOP = """\
    from flowmancer.task import Task, task


    @task
    class Noop(Task):
        def run(self):
            print("ran")
"""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_connecting_to_a_silent_listener_ends_the_driver_at_once(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    folder = project(tmp_path / "p", "p", NOOP, "tasks: {noop: {task: Noop}}\n")
    with silent_listener() as (address, came):
        process = driver(folder, "--dask-address", address, "--dask-connect-timeout", "600")
        try:
            assert came.wait(180), "the driver never connected"
            time.sleep(0.5)  # now waiting for the scheduler's greeting
            signalled = time.monotonic()
            os.kill(process.pid, sig)
            _, err = process.communicate(timeout=60)
            took = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert process.returncode == code, err
    assert f"interrupted ({sig.name}) while the executor was starting: nothing ran" in err, err
    assert "ran" not in err.replace("nothing ran", "")
    assert took < 30  # not the connect timeout (600 s)


def test_a_mistyped_dask_address_is_one_line_and_exit_99(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", "p", NOOP, "tasks: {noop: {task: Noop}}\n")
    env = {**environment(), "FLOWMANCER_DASK_ADDRESS": "tcpp://127.0.0.1:8786"}
    code, err = run(folder, "--executor", "dask", env=env)
    assert code == 99, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    # Named by where it came from (the variable), not by a place in job.yaml.
    assert lines[0].startswith(
        "flowmancer: error: $FLOWMANCER_DASK_ADDRESS: 'tcpp://127.0.0.1:8786': "
        "unknown protocol 'tcpp' (one of "
    ), err
    assert "tcp, tls" in lines[0] and "for example tcp://scheduler-host:8786" in lines[0]
    assert "job.yaml" not in err


def test_an_unreachable_scheduler_fails_within_the_connect_timeout_naming_the_address(
    tmp_path: Path,
) -> None:
    folder = project(tmp_path / "p", "p", NOOP, "tasks: {noop: {task: Noop}}\n")
    with silent_listener() as (address, _):
        began = time.monotonic()
        code, err = run(folder, "--dask-address", address, "--dask-connect-timeout", "2")
        took = time.monotonic() - began
    assert code == 99, err
    lines = err.strip().splitlines()
    assert lines == [
        f"flowmancer: error: cannot connect to the dask scheduler at {address}: the connection "
        "was accepted but nothing was said within 2 s (not a dask scheduler: a dask scheduler "
        "greets first)"
    ], err
    assert "ran" not in err and took < 60


def test_executor_dask_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", "p", NOOP, "tasks: {noop: {task: Noop}}\n")
    blocked = tmp_path / "blocked"  # dask as if not installed: its import fails
    blocked.mkdir()
    (blocked / "distributed.py").write_text("raise ImportError('not installed here')\n")
    env = {**environment(), "PYTHONPATH": str(blocked)}
    for flags in (["--executor", "dask"], ["--dask-address", "tcp://127.0.0.1:8786"]):
        code, err = run(folder, *flags, env=env)
        assert code == 99, err
        assert err.strip().splitlines() == [
            "flowmancer: error: the dask executor is not installed: "
            "pip install 'flowmancer-exec[dask]' (or 'flowmancer[dask]')"
        ], err


SLEEPER = """\
    import os, time
    from flowmancer.task import Task, task


    @task
    class Sleeper(Task):
        def run(self):
            with open("started", "w") as f:
                f.write(str(os.getpid()))
            time.sleep(60)
            open("finished", "w").close()
"""


def test_kill_9_of_the_scheduler_fails_the_run_in_a_few_lines_with_no_attempt_left_running(
    tmp_path: Path,
) -> None:
    config = ", dask: {reconnect_timeout: 2}"
    folder = project(tmp_path / "p", "p", SLEEPER, "tasks: {sleeper: {task: Sleeper}}\n", config)
    with dask_cluster(workers=2) as cluster:
        process = driver(folder, "--dask-address", cluster.address)
        try:
            deadline = time.monotonic() + 180
            while not (folder / "started").exists() or not (folder / "started").read_text():
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            child = int((folder / "started").read_text())
            cluster.scheduler.send_signal(signal.SIGKILL)
            _, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert not os.path.exists(f"/proc/{child}") or _zombie(child)
    assert process.returncode == 1, err
    assert "lost the dask scheduler" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 6, err
    assert not (folder / "finished").exists()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_kill_9_of_the_driver_stops_its_attempt_on_the_worker(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    folder = project(tmp_path / "p", "p", SLEEPER, "tasks: {sleeper: {task: Sleeper}}\n")
    process = driver(folder, "--dask-address", cluster.address)
    try:
        deadline = time.monotonic() + 180
        while not (folder / "started").exists() or not (folder / "started").read_text():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        child = int((folder / "started").read_text())
        assert cluster.worker_running(child) is not None  # it runs on a worker, not the driver
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The scheduler drops the task of a client that is gone; the worker's watchdog then stops
    # the attempt (on_abort, the grace period of 5 s, then its process group is killed).
    deadline = time.monotonic() + 45
    while os.path.exists(f"/proc/{child}") and not _zombie(child):
        assert time.monotonic() < deadline, "the attempt runs on without its driver"
        time.sleep(0.2)
    assert not (folder / "finished").exists()
