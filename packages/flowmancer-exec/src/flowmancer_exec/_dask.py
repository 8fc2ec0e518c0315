"""``DaskExecutor``: attempts on the workers of a ``dask.distributed`` cluster.

On the worker each attempt runs exactly as under the process executor — forked into a child
process of its own, its whole lifecycle there, its output captured at the file descriptors —
so a task that crashes takes down its child, not the worker. The output is sent back with the
result when the attempt ends (not streamed while it runs), and handed to the run's loggers with
the times it was produced. Retries, timeouts, ``max_concurrency`` and pools stay with the
runner; the cluster never retries an attempt by itself.

Three parts, one job each: ``_Connection`` starts (reaches the cluster, ships the project's
code, watches the scheduler), ``_Stopper`` stops attempts on the workers (in batches, before or
while they run), and ``DaskExecutor.run_attempt`` submits one attempt and settles how it ended.

Only imported when asked for: ``import flowmancer_exec`` never touches dask.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from ._dask_code import CodeBundle, collect_code
from ._dask_install import code_plugin
from ._dask_connect import allowed_failures, connect, parse_address, warn
from ._dask_worker import Settings, request_stop, run_on_worker, unpack
from ._errors import ExecutorStartError, ExecutorUnavailableError
from ._interface import Attempt, AttemptResult, Emit

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
        distributed = _distributed()
        if address is not None:
            parse_address(distributed, address)  # a typo is said now, not when connecting
        self.address = address
        self.n_workers = n_workers
        self.grace_period = grace_period
        self.paths = [os.path.abspath(p) for p in paths]
        self.reconnect_timeout = reconnect_timeout
        self.connect_timeout = connect_timeout
        self._connection: _Connection | None = None
        self._stopper: _Stopper | None = None
        self._cleanup: set[asyncio.Future[Any]] = set()

    async def start(self) -> None:
        """Reach the scheduler (or start a local cluster) and send the project's code.

        Raises:
            ExecutorStartError: no Dask scheduler could be reached at the address (the message
                says what was found there).
        """
        connection = _Connection(self)
        self._connection = connection
        await connection.open()
        self._stopper = _Stopper(connection)

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
        waiter = asyncio.ensure_future(_outcome(future))
        stops = 0
        try:
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
                    break
                waiter.cancel()
                return connection.lost_result()
        finally:
            if connection.claim:
                self._later(connection.forget_claim(key))
        kind, value = waiter.result()
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

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._cleanup.add(task)
        task.add_done_callback(self._cleanup.discard)


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


class _Connection:
    """The executor's hold on the cluster: the client (and the local cluster it started), the
    project's code on the cluster, and whether the scheduler is there."""

    def __init__(self, executor: DaskExecutor) -> None:
        self.executor = executor
        self.client: Any = None
        self.cluster: Any = None
        self.code = ""  # the digest of the project's code on the cluster
        self.claim = True
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost_since: float | None = None
        self.monitor: asyncio.Task[None] | None = None
        self.quiet: dict[str, int] = {}

    @property
    def where(self) -> str:
        return self.executor.address or "the local cluster"

    async def open(self) -> None:
        distributed = _distributed()
        import dask

        executor = self.executor
        self._quiet_dask()
        if executor.address is None:
            # The runner retries attempts; the scheduler must not rerun one a dead worker held.
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self.cluster = await distributed.LocalCluster(
                    n_workers=executor.n_workers,
                    threads_per_worker=1,
                    processes=True,
                    asynchronous=True,
                    # No dashboard; its HTTP server on a free port (8787 may be taken).
                    dashboard_address=None,
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )
            self.client = await distributed.Client(
                self.cluster, asynchronous=True, set_as_default=False
            )
        else:
            self.client = await connect(distributed, executor.address, executor.connect_timeout)
        failures = await allowed_failures(self.client, executor.connect_timeout)
        self.claim = failures != 0
        if failures:
            warn(
                f"the dask scheduler at {self.where} reruns a task whose worker died "
                f"(distributed.scheduler.allowed-failures: {failures}); Flowmancer fails such a "
                "second start instead of running it unseen (two more round trips per attempt): "
                "start the scheduler with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0"
            )
        await self._ship(collect_code(executor.paths))
        self.monitor = asyncio.ensure_future(self._watch())

    async def _ship(self, bundle: CodeBundle) -> None:
        """The project's code on every worker, now and joining later (see ``code_plugin``)."""
        try:
            await asyncio.wait_for(
                self.client.register_plugin(
                    code_plugin(bundle), name=f"flowmancer-code-{bundle.project}"
                ),
                max(self.executor.connect_timeout, 30),
            )
        except Exception as error:
            raise ExecutorStartError(
                self.where, f"the project's code could not be sent to the workers: {error!r}"
            ) from None
        self.code = bundle.digest

    def _quiet_dask(self) -> None:
        # What Dask's client logs about a lost scheduler (tracebacks included) is said here in
        # one line per attempt instead.
        for name in ("distributed", "tornado"):
            logger = logging.getLogger(name)
            self.quiet[name] = logger.level
            logger.setLevel(logging.CRITICAL)

    async def _watch(self) -> None:
        """Notice the scheduler going away; once it has been gone ``reconnect_timeout``, every
        attempt waiting on it is settled (``lost``)."""
        loop = asyncio.get_running_loop()
        executor = self.executor
        while not self.lost.done():
            await asyncio.sleep(0.25)
            if self.client is None:
                return
            if getattr(self.client, "status", "running") == "running":
                self.lost_since = None
                continue
            self.lost_since = self.lost_since if self.lost_since is not None else loop.time()
            if loop.time() - self.lost_since >= executor.reconnect_timeout:
                await self._wait_for_the_watchdogs()
                if not self.lost.done():
                    self.lost.set_result(None)

    def is_lost(self) -> bool:
        return self.lost_since is not None or getattr(self.client, "status", "") != "running"

    async def _wait_for_the_watchdogs(self) -> None:
        # The workers stop an attempt left without the scheduler after reconnect_timeout, and
        # give it the grace period: only then may the run end and a resume start it again.
        if self.lost_since is None:
            return
        loop = asyncio.get_running_loop()
        end = self.lost_since + self.executor.reconnect_timeout + self.executor.grace_period + 1
        await asyncio.sleep(max(0.0, end - loop.time()))

    async def settle_lost(self) -> AttemptResult:
        """An attempt whose future was lost with the scheduler: failed once its worker has
        stopped it (see ``_wait_for_the_watchdogs``)."""
        if self.lost_since is None:
            self.lost_since = asyncio.get_running_loop().time()
        await asyncio.shield(self.lost)
        return self.lost_result()

    def lost_result(self) -> AttemptResult:
        return AttemptResult(
            False,
            f"lost the dask scheduler at {self.where} (gone for more than "
            f"{self.executor.reconnect_timeout:g} s; the attempt was stopped on its worker)",
            ("SchedulerLost",),
        )

    async def forget_claim(self, key: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.scheduler.event_clear(name=f"{key}-started"), 10)

    async def close(self) -> None:
        if self.monitor is not None:
            self.monitor.cancel()
        client, self.client = self.client, None
        cluster, self.cluster = self.cluster, None
        # Bounded: closing must not wait long on a scheduler that is gone.
        if client is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(client.close(timeout=5), 10)
        if cluster is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(cluster.close(), 30)
        for name, level in self.quiet.items():
            logging.getLogger(name).setLevel(level)


class _Stopper:
    """Stops attempts on the workers, in one message for all those asked in the same moment:
    each worker stops those it runs and will not start the others; those no worker has started
    yet are then cancelled on the scheduler (``cancelled``)."""

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.pending: dict[str, tuple[Any, bool]] = {}
        self.cancelled: set[str] = set()
        self.flushing: asyncio.Task[None] | None = None

    def request(self, key: str, future: Any, *, at_once: bool) -> None:
        self.pending[key] = (future, at_once or self.pending.get(key, (None, False))[1])
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the other stops of this moment join this message
        while self.pending:
            batch, self.pending = self.pending, {}
            for at_once in (False, True):
                keys = [k for k, (_, hard) in batch.items() if hard is at_once]
                if keys:
                    await self._stop(keys, at_once, {k: batch[k][0] for k in keys})

    async def _stop(self, keys: list[str], at_once: bool, futures: dict[str, Any]) -> None:
        client = self.connection.client
        if client is None:
            return
        try:
            answers = await asyncio.wait_for(
                client.run(request_stop, keys, at_once, on_error="ignore"), 10
            )
        except Exception:
            return  # the scheduler is gone: the workers' watchdogs stop what they run
        running = {key for here in (answers or {}).values() if here for key in here}
        queued = [key for key in keys if key not in running]
        if queued:
            self.cancelled.update(queued)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.cancel([futures[k] for k in queued]), 10)
