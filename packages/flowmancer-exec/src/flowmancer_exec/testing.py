"""Test helpers: a real Dask cluster on this machine, for tests of tasks and of the executor.

``dask_cluster()`` starts ``dask scheduler`` and ``dask worker`` as processes of their own (not
a ``LocalCluster`` inside the test's process), on ports the system picks, with no dashboard, and
ends them however the test ends::

    with dask_cluster(workers=2) as cluster:
        Runner(specs, executor=DaskExecutor(cluster.address, paths=["."])).run()

Needs the ``dask`` extra.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping

__all__ = ["DaskCluster", "dask_cluster"]


@dataclasses.dataclass
class DaskCluster:
    """A running scheduler and its workers (``subprocess.Popen`` each)."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def worker_running(self, pid: int) -> subprocess.Popen[bytes] | None:
        """The worker whose process is ``pid`` or an ancestor of it (an attempt's child)."""
        while pid > 1:
            for worker in self.workers:
                if worker.pid == pid:
                    return worker
            pid = _parent(pid)
        return None


@contextlib.contextmanager
def dask_cluster(
    workers: int = 2,
    *,
    allowed_failures: int | None = 0,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Iterator[DaskCluster]:
    """Start a scheduler and ``workers`` one-thread workers; stop them all on the way out.

    Args:
        allowed_failures: the scheduler's ``distributed.scheduler.allowed-failures`` (None:
            Dask's default, which reruns tasks of dead workers).
        env: the environment of the processes (default: this one without ``PYTHONPATH``, so
            that the workers find only what is installed and what the driver sends them).
        timeout: seconds to wait for the cluster to come up.
    """
    environ = dict(env if env is not None else os.environ)
    if env is None:
        environ.pop("PYTHONPATH", None)
    if allowed_failures is not None:
        environ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(allowed_failures)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="flowmancer-dask-") as folder:
        file = os.path.join(folder, "scheduler.json")
        try:
            scheduler = _start(
                [
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--dashboard-address",  # its HTTP server, on a free port
                    "127.0.0.1:0",
                    "--scheduler-file",
                    file,
                ],
                environ,
                folder,
            )
            processes.append(scheduler)
            address = _address(file, scheduler, time.monotonic() + timeout)
            started = [
                _start(
                    [
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--local-directory",
                        folder,
                    ],
                    environ,
                    folder,
                )
                for _ in range(workers)
            ]
            processes.extend(started)
            _wait_for_workers(address, workers, time.monotonic() + timeout)
            yield DaskCluster(address, scheduler, started)
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _start(args: list[str], env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,  # its own process group: killed whole, whatever the test did
    )


def _address(file: str, scheduler: subprocess.Popen[bytes], deadline: float) -> str:
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"the dask scheduler exited with code {scheduler.returncode}")
        with contextlib.suppress(OSError, ValueError, KeyError), open(file) as f:
            return str(json.load(f)["address"])
        time.sleep(0.05)
    raise TimeoutError("the dask scheduler did not start")


def _wait_for_workers(address: str, count: int, deadline: float) -> None:
    import distributed

    left = max(deadline - time.monotonic(), 1.0)
    with distributed.Client(address, timeout=left, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=max(deadline - time.monotonic(), 1.0))


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0
