"""The Dask executor on real clusters: a LocalCluster of two worker processes, and a scheduler
and two workers started as processes of their own (``flowmancer_exec.testing.dask_cluster``),
killed mid-attempt, misconfigured, or not a scheduler at all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Recorder

from flowmancer_dag import TaskState
from flowmancer_exec import ExecutorStartError, Runner, TaskSpec

distributed = pytest.importorskip("distributed")
from flowmancer_exec import DaskExecutor  # noqa: E402
from flowmancer_exec.testing import DaskCluster, dask_cluster  # noqa: E402

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
    # The timeout counts from the submission: room for a busy machine to start the attempt.
    specs = [TaskSpec("slow", Sleep, {"seconds": 120, "folder": str(marks)}, timeout=25)]
    result = Runner(specs, executor=DaskExecutor(n_workers=1, paths=[str(HERE)])).run()
    assert result.states["slow"] is S.FAILED
    assert "timed out" in result.reasons["slow"]
    assert (marks / "slow.start").exists()  # run() had started: on_abort is owed
    assert (marks / "slow.aborted").exists()  # on_abort ran on the worker
    assert not (marks / "slow.end").exists()


@pytest.fixture
def cluster() -> Iterator[DaskCluster]:
    with dask_cluster(workers=2) as running:
        yield running


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


def when_started(marks: Path, name: str, then: Callable[[int], object]) -> threading.Thread:
    """A thread that calls ``then(pid of the attempt's child)`` once ``name`` has started."""

    def wait() -> None:
        deadline = time.monotonic() + 120
        start = marks / f"{name}.start"
        while not start.exists() or not start.read_text().strip():
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        then(int(start.read_text().split()[1]))

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_worker_killed_mid_attempt_fails_it_and_the_retry_runs_elsewhere(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("long", Sleep, {"seconds": 3, "folder": str(marks)}, max_attempts=2)]
    killed: list[int] = []

    def kill_its_worker(child: int) -> None:
        worker = cluster.worker_running(child)
        if worker is not None and not killed:
            killed.append(worker.pid)
            worker.send_signal(signal.SIGKILL)

    killer = when_started(marks, "long", kill_its_worker)
    recorder = Recorder()
    executor = DaskExecutor(cluster.address, paths=[str(HERE)])
    result = Runner(specs, executor=executor, observers=[recorder]).run()
    killer.join()
    assert killed
    assert result.ok, result.reasons
    assert result.attempts["long"] == 2
    retries = [r.message for r in recorder.records if r.stream == "runner"]
    assert any("worker" in message and "died" in message for message in retries), retries


def test_a_worker_killed_under_a_scheduler_that_reruns_tasks_never_runs_an_attempt_twice(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("long", Sleep, {"seconds": 20, "folder": str(marks)})]
    with dask_cluster(workers=2, allowed_failures=None) as cluster:  # Dask's default: 3
        killer = when_started(
            marks, "long", lambda child: _kill(cluster.worker_running(child), signal.SIGKILL)
        )
        result = Runner(specs, executor=DaskExecutor(cluster.address, paths=[str(HERE)])).run()
        killer.join()
    assert "allowed-failures: 3" in capfd.readouterr().err  # said on connect
    assert result.states["long"] is S.FAILED
    assert "started this attempt a second time" in result.reasons["long"], result.reasons
    assert (marks / "long.start").read_text().count("\n") == 1  # run() started once


def _kill(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is not None:
        process.send_signal(sig)


def test_a_lost_scheduler_stops_the_attempt_on_its_worker_before_the_run_ends(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    specs = [TaskSpec("long", Sleep, {"seconds": 40, "folder": str(marks)})]
    children: list[int] = []

    def kill_the_scheduler(child: int) -> None:
        children.append(child)
        cluster.scheduler.send_signal(signal.SIGKILL)

    killer = when_started(marks, "long", kill_the_scheduler)
    executor = DaskExecutor(cluster.address, paths=[str(HERE)], reconnect_timeout=2)
    result = Runner(specs, executor=executor).run()
    killer.join()
    assert result.states["long"] is S.FAILED
    assert "lost the dask scheduler" in result.reasons["long"], result.reasons
    # When the run ends, the attempt is no longer running anywhere: a resume cannot meet it.
    assert children and not alive(children[0])
    assert not (marks / "long.end").exists()


@contextlib.contextmanager
def listener(greeting: bytes | None) -> Iterator[str]:
    """A TCP service on a free port that accepts and says ``greeting`` (None: nothing)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            if greeting is not None:
                conn.sendall(greeting)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def start_error(address: str, timeout: float = 3) -> str:
    async def main() -> None:
        executor = DaskExecutor(address, connect_timeout=timeout)
        try:
            await executor.start()
        finally:
            await executor.close()

    with pytest.raises(ExecutorStartError) as caught:
        asyncio.run(main())
    message = str(caught.value)
    assert "\n" not in message and address in message
    return message


def test_connecting_to_what_is_not_a_scheduler_fails_in_one_line_naming_what_was_there() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        refused = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    assert "nothing listens there (connection refused, tried for 1 s)" in start_error(refused, 1)
    with listener(None) as silent:
        assert "accepted but nothing was said within 3 s" in start_error(silent)
    with listener(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") as ssh:
        assert "not as a dask scheduler does (it sent b'SSH-2.0-OpenSSH" in start_error(ssh)
    with listener(b"HTTP/1.1 400 Bad Request\r\n\r\n") as http:
        assert "not as a dask scheduler does" in start_error(http)
    assert "unknown protocol 'tcpp'" in start_error("tcpp://127.0.0.1:8786")


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


def test_the_worker_process_never_imports_the_project_code(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    from exec_tasks import Noop

    result = Runner(
        [TaskSpec("noop", Noop)], executor=DaskExecutor(cluster.address, paths=[str(HERE)])
    ).run()
    assert result.ok, result.reasons
    client = distributed.Client(cluster.address, timeout=60, set_as_default=False)
    try:
        loaded = client.run(lambda: sorted(m for m in sys.modules if m == "exec_tasks"))
    finally:
        client.close()
    assert loaded and all(names == [] for names in loaded.values()), loaded


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _command(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace")


def test_an_attempt_is_forked_by_its_workers_fork_server_which_dies_with_the_worker(
    tmp_path: Path,
) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    seen: dict[str, int] = {}

    def look_then_kill(child: int) -> None:
        seen["child"] = child
        seen["server"] = _parent(child)
        seen["server's parent"] = _parent(seen["server"])
        seen["is a fork server"] = "_dask_forkserver" in _command(seen["server"])
        worker = cluster.worker_running(child)
        seen["worker"] = worker.pid if worker is not None else 0
        if worker is not None:
            worker.send_signal(signal.SIGKILL)

    specs = [TaskSpec("long", Sleep, {"seconds": 60, "folder": str(marks)})]
    with dask_cluster(workers=1) as cluster:
        killer = when_started(marks, "long", look_then_kill)
        result = Runner(specs, executor=DaskExecutor(cluster.address, paths=[str(HERE)])).run()
        killer.join()
        # Not a fork of the worker: a process of its own beside it, started by the worker.
        assert seen["is a fork server"], seen
        assert seen["server's parent"] == seen["worker"] != 0, seen
        deadline = time.monotonic() + 30
        while alive(seen["server"]) or alive(seen["child"]):
            assert time.monotonic() < deadline, "the attempt runs on without its worker"
            time.sleep(0.1)
    assert result.states["long"] is S.FAILED
    assert "worker" in result.reasons["long"] and "died" in result.reasons["long"]
    assert not (marks / "long.end").exists()


def test_a_fork_server_killed_mid_attempt_fails_it_and_the_retry_gets_a_new_one(
    tmp_path: Path, cluster: DaskCluster
) -> None:
    from exec_tasks import Sleep

    marks = tmp_path / "marks"
    marks.mkdir()
    servers: list[int] = []

    def kill_its_server(child: int) -> None:
        servers.append(_parent(child))
        os.kill(servers[0], signal.SIGKILL)

    specs = [TaskSpec("long", Sleep, {"seconds": 2, "folder": str(marks)}, max_attempts=2)]
    killer = when_started(marks, "long", kill_its_server)
    recorder = Recorder()
    executor = DaskExecutor(cluster.address, paths=[str(HERE)])
    result = Runner(specs, executor=executor, observers=[recorder]).run()
    killer.join()
    assert result.ok, result.reasons
    assert result.attempts["long"] == 2
    notes = [r.message for r in recorder.records if r.stream == "runner"]
    assert any("fork server ended" in message for message in notes), notes
    assert (marks / "long.end").read_text().count("\n") == 1  # only the retry ran to its end
