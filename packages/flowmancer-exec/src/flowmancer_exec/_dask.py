"""``DaskExecutor``: attempts on the workers of a ``dask.distributed`` cluster.

On the worker each attempt runs exactly as under the process executor — forked into a child
process of its own, its whole lifecycle there, its output captured at the file descriptors —
so a task that crashes takes down its child, not the worker. The output is sent back with the
result when the attempt ends (not streamed while it runs), and handed to the run's loggers with
the times it was produced. Retries, timeouts, ``max_concurrency`` and pools stay with the
runner; the cluster never retries an attempt by itself.

Only imported when asked for: ``import flowmancer_exec`` never touches dask.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pickle
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import ExecutorUnavailableError
from ._folders import folder_package
from ._interface import Attempt, AttemptResult, Emit
from ._records import LogRecord

__all__ = ["DaskExecutor"]

FIX = "pip install 'flowmancer-exec[dask]' (or 'flowmancer[dask]')"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutorUnavailableError("dask", FIX) from None
    return distributed


class DaskExecutor:
    """Runs each attempt on a Dask worker (in a forked child process there).

    Args:
        address: a running scheduler (``tcp://host:8786``); without one, a ``LocalCluster`` of
            worker processes is started for the run and closed after it.
        n_workers: the size of that local cluster (default: one per core).
        grace_period: seconds an attempt told to stop (timeout, abort) has for ``on_abort``
            before its process group is killed, on the worker.
        paths: folders the workers add to ``sys.path`` so that they can import the task
            classes (the driver adds its own folder); the folders must exist on the workers.
            On one machine this is all it takes; across machines, install the task code as a
            package on every worker instead (or share the folder at the same path).
        packages: packages the workers make over folders before they import task classes:
            module name -> folder, for task code imported from a folder under a name of its
            own (as flowmancer imports a folder without ``__init__.py``).
        reconnect_timeout: seconds without the scheduler after which running attempts are
            FAILED ("lost the dask scheduler"); the run then ends and ``-r`` resumes it.

    Raises:
        ExecutorUnavailableError: dask is not installed (with the command that installs it).
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        grace_period: float = 5.0,
        paths: Sequence[str] = (),
        reconnect_timeout: float = 30.0,
        packages: Mapping[str, str] | None = None,
    ) -> None:
        _distributed()
        self.reconnect_timeout = reconnect_timeout
        self.address = address
        self.n_workers = n_workers
        self.grace_period = grace_period
        self.paths = [os.path.abspath(p) for p in paths]
        self.packages = dict(packages or {})
        self._cluster: Any = None
        self._client: Any = None

    async def start(self) -> None:
        """Connect to the scheduler (or start a local cluster) and prepare the workers."""
        distributed = _distributed()
        import dask

        # The runner retries attempts; the scheduler must not rerun one a dead worker held.
        dask.config.set({"distributed.scheduler.allowed-failures": 0})
        if self.address is None:
            self._cluster = await distributed.LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=1,
                processes=True,
                asynchronous=True,
                dashboard_address=None,
                # The scheduler serves /health and /metrics even without a dashboard, on 8787
                # by default: a second cluster on the machine (another job, another user) found
                # it taken and warned, which fails a run under -W error. Any free port will do.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )
            address = self._cluster.scheduler_address
        else:
            address = self.address
        try:
            self._client = await distributed.Client(address, asynchronous=True, timeout=30)
        except OSError as error:
            await self.close()
            raise ConnectionError(
                f"cannot reach the dask scheduler at {address}: {error}"
            ) from None
        paths = [*self.paths, *(p for p in sys.path[:1] if p)]
        await self._client.register_plugin(
            _paths_plugin(paths, self.packages), name="flowmancer-paths"
        )

    async def close(self) -> None:
        """Disconnect; close the local cluster if this executor started it."""
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        # Bounded: closing must not wait long on a scheduler that is gone.
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(timeout=5), 10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(cluster.close(), 30)

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        """Submit the attempt, wait for it, deliver its output, return how it ended."""
        distributed = _distributed()
        client = self._client
        if client is None:
            raise RuntimeError("DaskExecutor.start() was not called")
        import cloudpickle

        stop_name = f"flowmancer-stop-{uuid.uuid4().hex}"
        # Sent as opaque bytes: the scheduler must never need the task's classes (it cannot
        # import them); the worker unpickles them once its sys.path holds the task code.
        # The checkpoint store's early record writes to this machine's disk: not from a worker.
        payload = cloudpickle.dumps(dataclasses.replace(attempt, completed=None))
        future = client.submit(
            _on_worker, payload, stop_name, self.grace_period, pure=False, retries=0
        )
        try:
            result, records = pickle.loads(await self._wait(future))
        except _SchedulerLost as error:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(future.cancel(), 5)
            return AttemptResult(False, str(error), ("SchedulerLost",))
        except asyncio.CancelledError:
            # Told to stop (timeout or abort): the worker delivers on_abort, then kills.
            stop = distributed.Event(stop_name, client=client)
            try:
                await asyncio.wait_for(stop.set(), 10)
                result, records = pickle.loads(
                    await asyncio.wait_for(asyncio.shield(future), self.grace_period + 10)
                )
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(future.cancel(), 10)
                return AttemptResult(False, "stopped", stopped=True)
            finally:
                with contextlib.suppress(Exception):  # an Event lives until cleared
                    await asyncio.wait_for(stop.clear(), 10)
        except distributed.client.FutureCancelledError:
            # Not cancelled by us (that is the branch above): the scheduler dropped it, which
            # it does when the connection to it is lost.
            status = getattr(client, "status", "")
            lost = status != "running"
            why = "lost the dask scheduler" if lost else "the cluster cancelled the attempt"
            return AttemptResult(False, f"{why} (client {status or 'unknown'})", ("Cancelled",))
        except Exception as error:  # a worker lost mid-attempt, a lost scheduler, ...
            return AttemptResult(False, _describe_loss(error), (type(error).__name__,))
        for record in records:
            emit(record)
        if not isinstance(result, AttemptResult):
            return AttemptResult(False, f"the worker sent back {type(result).__name__}")
        return result

    async def _wait(self, future: Any) -> Any:
        """The future's result; ``_SchedulerLost`` once the scheduler has been gone too long."""

        async def result() -> Any:
            return await future

        waiter = asyncio.ensure_future(result())
        gone_since: float | None = None
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=0.25)
                if done:
                    return waiter.result()
                status = getattr(self._client, "status", "running")
                if status == "running":
                    gone_since = None
                    continue
                now = asyncio.get_running_loop().time()
                gone_since = gone_since if gone_since is not None else now
                if now - gone_since >= self.reconnect_timeout:
                    raise _SchedulerLost(
                        f"lost the dask scheduler at {self.address or 'the local cluster'} "
                        f"(no connection for {self.reconnect_timeout:g} s)"
                    )
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(BaseException):
                    await waiter


class _SchedulerLost(Exception):
    """The connection to the scheduler stayed down past ``reconnect_timeout``."""


def _describe_loss(error: BaseException) -> str:
    name = type(error).__name__
    if name == "KilledWorker":
        return "the dask worker running the attempt died"
    if isinstance(error, (OSError, TimeoutError)) or "CommClosed" in name:
        return f"lost the dask scheduler: {error}"
    return f"{name}: {error}"


def _paths_plugin(paths: Sequence[str], packages: Mapping[str, str]) -> Any:
    """A worker plugin: the task code's folders on ``sys.path`` of every worker, now and later,
    and the packages made over folders (see ``folder_package``).

    Defined here, not at module level: importing this module must not import dask. (The class
    travels to the workers by value, as cloudpickle sends classes defined in functions.)
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class _Paths(WorkerPlugin):  # type: ignore[misc]
        def __init__(self, paths: Sequence[str], packages: Mapping[str, str]) -> None:
            self.paths = list(paths)
            self.packages = dict(packages)

        def setup(self, worker: Any) -> None:
            for path in reversed(self.paths):
                if path not in sys.path:
                    sys.path.insert(0, path)
            for name, folder in self.packages.items():
                folder_package(name, folder)

    return _Paths(paths, packages)


def _on_worker(payload: bytes, stop_name: str, grace: float) -> bytes:
    """On the worker: run the attempt in a forked child with the process executor's machinery
    (on a private event loop in this worker thread); stop it when the client asks. The result
    goes back as bytes, unpickled only by the client."""
    import cloudpickle
    from distributed import Event, get_client

    attempt: Attempt = pickle.loads(payload)

    from ._process import ProcessExecutor

    records: list[LogRecord] = []
    stop = Event(stop_name, client=get_client())

    async def main() -> AttemptResult:
        task = asyncio.ensure_future(ProcessExecutor(grace).run_attempt(attempt, records.append))
        told = False
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            if not told and not task.done() and await asyncio.to_thread(_is_set, stop):
                told = True
                task.cancel()  # graceful: on_abort, then the grace period, then a kill
        outcome: AttemptResult = task.result()
        return outcome

    result: AttemptResult = asyncio.run(main())
    data: bytes = cloudpickle.dumps((result, records))
    return data


def _is_set(event: Any) -> bool:
    try:
        return bool(event.is_set())
    except Exception:
        return False
