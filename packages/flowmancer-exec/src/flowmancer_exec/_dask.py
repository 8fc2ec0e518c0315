"""``DaskExecutor``: attempts on the workers of a ``dask.distributed`` cluster.

On the worker each attempt runs exactly as under the process executor — forked into a child
process of its own (by the worker's fork server, a small process beside it), its whole lifecycle
there, its output captured at the file descriptors — so a task that crashes takes down its child,
not the worker. The output is sent back with the result when the attempt ends (not streamed
while it runs), and handed to the run's loggers with the times it was produced. Retries,
timeouts, ``max_concurrency`` and pools stay with the runner; the cluster never retries an
attempt by itself.

The parts, one job each: ``Connection`` (``_dask_cluster``) reaches the cluster, ships the
project's code and watches the scheduler; ``Stopper`` stops attempts on the workers; here, each
attempt is submitted (``_submit``), watched until it ends, is lost or is told to stop
(``_watch``), and how it ended is settled into an ``AttemptResult`` (``_settle``).

Only imported when asked for: ``import flowmancer_exec`` never touches dask.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import uuid
from collections.abc import Sequence
from typing import Any

from ._dask_cluster import ClusterSettings, Connection, Stopper
from ._dask_connect import distributed_module, parse_address
from ._dask_worker import Settings, run_on_worker, unpack
from ._interface import Attempt, AttemptResult, Emit

__all__ = ["DaskExecutor"]


class DaskExecutor:
    """Runs each attempt on a Dask worker (in a forked child process there).

    Args:
        address: a running scheduler (``tcp://host:8786``); without one, a ``LocalCluster`` of
            worker processes is started for the run and closed after it.
        n_workers: the size of that local cluster (default: one per core).
        grace_period: seconds an attempt told to stop (timeout, abort) has for ``on_abort``
            before its process group is killed, on the worker.
        paths: the project's folders (the driver's first): every module this process loaded
            from them is sent to the workers, as loaded, and run there under its own name in
            each attempt's own process.
        reconnect_timeout: seconds without the scheduler after which running attempts are
            stopped on their workers and then FAILED ("lost the dask scheduler"); the run then
            ends and ``-r`` resumes it.
        connect_timeout: seconds to reach the scheduler before the run gives up (it has not
            started then: nothing ran).

    Raises:
        ExecutorUnavailableError: dask is not installed (with the command that installs it).
        ExecutorStartError: ``address`` cannot be an address (an unknown protocol, no port).
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        grace_period: float = 5.0,
        paths: Sequence[str] = (),
        reconnect_timeout: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        distributed = distributed_module()
        if address is not None:
            parse_address(distributed, address)  # a typo is said now, not when connecting
        self.address = address
        self.n_workers = n_workers
        self.grace_period = grace_period
        self.paths = [os.path.abspath(p) for p in paths]
        self.reconnect_timeout = reconnect_timeout
        self.connect_timeout = connect_timeout
        self._connection: Connection | None = None
        self._stopper: Stopper | None = None
        self._cleanup: set[asyncio.Future[Any]] = set()

    async def start(self) -> None:
        """Reach the scheduler (or start a local cluster) and send the project's code.

        Raises:
            ExecutorStartError: no Dask scheduler could be reached at the address (the message
                says what was found there).
        """
        connection = Connection(
            ClusterSettings(
                self.address,
                self.n_workers,
                self.grace_period,
                tuple(self.paths),
                self.reconnect_timeout,
                self.connect_timeout,
            )
        )
        self._connection = connection
        await connection.open()
        self._stopper = Stopper(connection)

    async def close(self) -> None:
        """Disconnect; close the local cluster if this executor started it."""
        if self._cleanup:
            await asyncio.wait(set(self._cleanup), timeout=5)
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def run_attempt(self, attempt: Attempt, emit: Emit) -> AttemptResult:
        """Submit the attempt, wait for it, deliver its output, return how it ended.

        A cancellation asks the workers to stop it (a second one: at once) and the result still
        comes back, as ``Executor`` says.
        """
        connection, stopper = self._connection, self._stopper
        if connection is None or stopper is None or connection.client is None:
            raise RuntimeError("DaskExecutor.start() was not called")
        key, future = self._submit(connection, attempt)
        try:
            outcome = await _watch(connection, stopper, key, future)
        finally:
            if connection.claim:
                self._later(connection.forget_claim(key))
        if outcome is None:
            return connection.lost_result()
        return await _settle(connection, stopper, key, outcome, attempt, emit)

    def _submit(self, connection: Connection, attempt: Attempt) -> tuple[str, Any]:
        """The attempt on the cluster: its key and its Dask future."""
        import cloudpickle

        key = f"flowmancer-{uuid.uuid4().hex}"
        settings = Settings(
            key,
            connection.code,
            attempt.job,
            attempt.run_id,
            attempt.task,
            attempt.number,
            self.grace_period,
            self.reconnect_timeout,
            connection.claim,
            os.getcwd(),
        )
        # Opaque bytes: the scheduler never needs the task's classes, and the worker process
        # never imports them (the attempt's child does, from the code shipped with it).
        # The checkpoint store's early record writes to this machine's disk: not from a worker.
        payload = cloudpickle.dumps(dataclasses.replace(attempt, completed=None))
        future = connection.client.submit(
            run_on_worker, payload, settings, key=key, pure=False, retries=0
        )
        return key, future

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._cleanup.add(task)
        task.add_done_callback(self._cleanup.discard)


async def _watch(
    connection: Connection, stopper: Stopper, key: str, future: Any
) -> tuple[str, Any] | None:
    """Wait for the attempt's end (``_outcome``); None when the scheduler was lost for good. A
    cancellation of the waiting task asks the workers to stop the attempt (a second: at once)
    and the wait goes on: the attempt's end still comes back."""
    waiter = asyncio.ensure_future(_outcome(future))
    stops = 0
    while True:
        try:
            watched: set[asyncio.Future[Any]] = {waiter, connection.lost}
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()
            stopper.request(key, future, at_once=stops > 0)
            stops += 1
            continue
        if waiter in done:
            return waiter.result()
        waiter.cancel()
        return None


async def _settle(
    connection: Connection,
    stopper: Stopper,
    key: str,
    outcome: tuple[str, Any],
    attempt: Attempt,
    emit: Emit,
) -> AttemptResult:
    """How the attempt ended, from what its future gave: its output emitted."""
    kind, value = outcome
    if kind == "data":
        result, records = unpack(value, attempt)
        for record in records:
            emit(record)
        return result
    if kind == "cancelled" and key in stopper.cancelled:
        stopper.cancelled.discard(key)
        return AttemptResult(False, "the run was aborted before it started", (), True)
    if connection.is_lost() or kind == "lost":
        return await connection.settle_lost()
    if kind == "cancelled":
        return AttemptResult(False, "the cluster cancelled the attempt", ("Cancelled",))
    return AttemptResult(False, _describe(value), (type(value).__name__,))


async def _outcome(future: Any) -> tuple[str, Any]:
    """How a Dask future ended, as data: ("data", bytes), ("cancelled", None), ("lost", error)
    or ("error", exception) — never raised, so that it cannot pass for our own cancellation."""
    try:
        return "data", await future
    except asyncio.CancelledError:
        if _cancelling():
            raise
        return "cancelled", None
    except concurrent.futures.CancelledError:  # Dask's FutureCancelledError
        return "cancelled", None
    except Exception as error:
        if isinstance(error, OSError) or "CommClosed" in type(error).__name__:
            return "lost", error
        return "error", error


def _cancelling() -> bool:
    task = asyncio.current_task()
    counter = getattr(task, "cancelling", None)
    return bool(counter()) if counter is not None else False


def _describe(error: BaseException) -> str:
    if type(error).__name__ == "KilledWorker":
        return "the dask worker running the attempt died"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
