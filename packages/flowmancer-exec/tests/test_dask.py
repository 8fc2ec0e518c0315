"""The Dask executor on real clusters: a LocalCluster of two worker processes, and a scheduler
and two workers started as separate processes, one of them killed mid-attempt."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Recorder

from flowmancer_dag import TaskState
from flowmancer_exec import Runner, TaskSpec

distributed = pytest.importorskip("distributed")
from flowmancer_exec import DaskExecutor  # noqa: E402

S = TaskState
HERE = Path(__file__).resolve().parent


def test_a_job_runs_on_a_local_cluster_with_output_shared_dict_and_retries(tmp_path: Path) -> None:
    from exec_tasks import FailTimes, ReadShared, Talk, WriteShared

    specs = [
        TaskSpec("talk", Talk),
        TaskSpec("write", WriteShared, {"key": "rows", "value": 7}),
        TaskSpec("read", ReadShared, {"folder": str(tmp_path)}, depends_on=["write"]),
        TaskSpec("flaky", FailTimes, {"times": 1}, max_attempts=2),
    ]
    recorder = Recorder()
    result = Runner(
        specs, executor=DaskExecutor(n_workers=2, paths=[str(HERE)]), observers=[recorder]
    ).run()
    assert result.ok, result.reasons
    assert result.attempts["flaky"] == 2
    assert result.shared_dict["rows"] == 7
    lines = {(r.task, r.stream, r.message) for r in recorder.records}
    # Captured at the descriptors on the worker: print, raw fd writes, C stdio, child processes.
    for stream, message in [
        ("stdout", "print to stdout"),
        ("stderr", "print to stderr"),
        ("logger", "logger warning 42"),
        ("stdout", "raw fd 1"),
        ("stdout", "C printf"),
        ("stdout", "from a child process"),
    ]:
        assert ("talk", stream, message) in lines, (stream, message)
    assert "('rows', 7)" in (tmp_path / "read.shared").read_text()
    assert all(r.time <= time.time() for r in recorder.records)


def test_a_timeout_stops_the_attempt_on_the_worker_with_on_abort(tmp_path: Path) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("slow", Sleep, {"seconds": 30, "folder": str(marks)}, timeout=1.5)]
    started = time.monotonic()
    result = Runner(specs, executor=DaskExecutor(n_workers=1, paths=[str(HERE)])).run()
    assert result.states["slow"] is S.FAILED
    assert "timed out" in result.reasons["slow"]
    assert (marks / "slow.aborted").exists()  # on_abort ran on the worker
    assert time.monotonic() - started < 25


def test_alert_and_finally_tasks_read_upstream_states_on_the_workers(tmp_path: Path) -> None:
    from exec_tasks import Fail, Noop, Witness, upstream_told

    folder = {"folder": str(tmp_path)}
    specs = [
        TaskSpec("fetch", Fail, {"message": "HTTP 503"}),
        TaskSpec("store", Noop, depends_on=["fetch"]),
        TaskSpec("alert", Witness, folder, depends_on=["store"], trigger_rule="one_failed"),
        TaskSpec("cleanup", Witness, folder, trigger_rule="finally"),
    ]
    result = Runner(specs, executor=DaskExecutor(n_workers=1, paths=[str(HERE)])).run()
    assert result.states["alert"] is S.COMPLETED and result.states["cleanup"] is S.COMPLETED
    fetch = ["FAILED", "ValueError: HTTP 503", True]
    store = ["DEFAULTED", "upstream did not complete: fetch", True]
    assert upstream_told(tmp_path, "alert") == {"fetch": fetch, "store": store}
    assert upstream_told(tmp_path, "cleanup") == {
        "fetch": fetch,
        "store": store,
        "alert": ["COMPLETED", None, False],
    }


def test_a_local_cluster_starts_quietly_when_port_8787_is_taken() -> None:
    # Another cluster on the machine (another job, another user's tests) holds the port the
    # scheduler's HTTP server takes by default: ours picks a free one without a warning.
    from exec_tasks import Noop

    holder = socket.socket()
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen()
    except OSError:
        pass  # already taken by someone else: the very case
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = Runner(
                [TaskSpec("one", Noop)], executor=DaskExecutor(n_workers=1, paths=[str(HERE)])
            ).run()
    finally:
        holder.close()
    assert result.ok, result.reasons
    assert [str(w.message) for w in caught if "in use" in str(w.message)] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # The workers are not told where the tests' task classes are (no PYTHONPATH): the
    # executor's worker plugin must put the folder on their sys.path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # As the README says to run a scheduler for flowmancer: retries are the runner's.
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            ":0",
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(2)
    ]
    try:  # whatever happens, the processes end here (a slow start left them running)
        client = distributed.Client(address, timeout=60)
        try:
            client.wait_for_workers(2, timeout=60)
        finally:
            client.close()
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()


def test_a_worker_killed_mid_attempt_fails_it_and_the_retry_runs_elsewhere(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    from exec_tasks import Sleep

    address, workers = cluster
    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("long", Sleep, {"seconds": 3, "folder": str(marks)}, max_attempts=2)]
    import threading

    def kill_the_worker_running_it() -> None:
        deadline = time.monotonic() + 60
        while not (marks / "long.start").exists():
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        time.sleep(0.1)
        child = int((marks / "long.start").read_text().split()[1])
        ancestors = [_parent(child)]
        ancestors.append(_parent(ancestors[-1]))  # the worker, or its nanny
        for worker in workers:
            if worker.pid in ancestors:
                worker.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker_running_it)
    killer.start()
    recorder = Recorder()
    executor = DaskExecutor(address, paths=[str(HERE)])
    result = Runner(specs, executor=executor, observers=[recorder]).run()
    killer.join()
    assert result.ok, result.reasons
    assert result.attempts["long"] == 2
    retries = [r.message for r in recorder.records if r.stream == "runner"]
    assert any("worker" in message and "died" in message for message in retries), retries


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except FileNotFoundError:
        return -1


def test_without_dask_the_executor_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "import flowmancer_exec\n"
        "assert 'distributed' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "try:\n    flowmancer_exec.DaskExecutor()\n"
        "except flowmancer_exec.ExecutorUnavailableError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "the dask executor is not installed: pip install 'flowmancer-exec[dask]' "
        "(or 'flowmancer[dask]')"
    )


def test_a_lost_scheduler_fails_the_attempt_instead_of_hanging(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    from exec_tasks import Sleep

    address, _ = cluster
    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("long", Sleep, {"seconds": 20, "folder": str(marks)})]
    import threading

    scheduler_pid = _scheduler_pid(address)

    def kill_the_scheduler() -> None:
        deadline = time.monotonic() + 60
        while not (marks / "long.start").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(scheduler_pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_scheduler)
    killer.start()
    started = time.monotonic()
    executor = DaskExecutor(address, paths=[str(HERE)], reconnect_timeout=2)
    result = Runner(specs, executor=executor).run()
    killer.join()
    assert result.states["long"] is S.FAILED
    assert "scheduler" in result.reasons["long"], result.reasons
    assert time.monotonic() - started < 25


def _scheduler_pid(address: str) -> int:
    port = address.rsplit(":", 1)[1]
    out = subprocess.run(
        ["pgrep", "-f", f"dask_scheduler.*--port {port}"], capture_output=True, text=True
    )
    return int(out.stdout.split()[0])
