"""The Dask executor's hold on the cluster, and how it stops attempts there.

``Connection`` starts (reaches the scheduler or starts a local cluster, ships the project's code)
and watches (notices the scheduler gone, and settles the attempts lost with it once the workers'
watchdogs have stopped them); ``Stopper`` stops attempts on the workers, in batches, before or
while they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from ._dask_code import CodeBundle, collect_code
from ._dask_connect import allowed_failures, connect, distributed_module, warn
from ._dask_install import code_plugin
from ._dask_worker import request_stop
from ._errors import ExecutorStartError
from ._interface import AttemptResult

__all__ = ["ClusterSettings", "Connection", "Stopper"]


@dataclasses.dataclass(frozen=True)
class ClusterSettings:
    """What the connection needs of the executor's settings (see ``DaskExecutor``)."""

    address: str | None
    n_workers: int | None
    grace_period: float
    paths: tuple[str, ...]
    reconnect_timeout: float
    connect_timeout: float


class Connection:
    """The executor's hold on the cluster: the client (and the local cluster it started), the
    project's code on the cluster, and whether the scheduler is there."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
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
        return self.settings.address or "the local cluster"

    async def open(self) -> None:
        distributed = distributed_module()
        import dask

        settings = self.settings
        self._quiet_dask()
        if settings.address is None:
            # The runner retries attempts; the scheduler must not rerun one a dead worker held.
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self.cluster = await distributed.LocalCluster(
                    n_workers=settings.n_workers,
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
            self.client = await connect(distributed, settings.address, settings.connect_timeout)
        failures = await allowed_failures(self.client, settings.connect_timeout)
        self.claim = failures != 0
        if failures:
            warn(
                f"the dask scheduler at {self.where} reruns a task whose worker died "
                f"(distributed.scheduler.allowed-failures: {failures}); Flowmancer fails such a "
                "second start instead of running it unseen (two more round trips per attempt): "
                "start the scheduler with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0"
            )
        await self._ship(collect_code(settings.paths))
        self.monitor = asyncio.ensure_future(self._watch())

    async def _ship(self, bundle: CodeBundle) -> None:
        """The project's code on every worker, now and joining later (see ``code_plugin``)."""
        try:
            await asyncio.wait_for(
                self.client.register_plugin(
                    code_plugin(bundle), name=f"flowmancer-code-{bundle.project}"
                ),
                max(self.settings.connect_timeout, 30),
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
        settings = self.settings
        while not self.lost.done():
            await asyncio.sleep(0.25)
            if self.client is None:
                return
            if getattr(self.client, "status", "running") == "running":
                self.lost_since = None
                continue
            self.lost_since = self.lost_since if self.lost_since is not None else loop.time()
            if loop.time() - self.lost_since >= settings.reconnect_timeout:
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
        end = self.lost_since + self.settings.reconnect_timeout + self.settings.grace_period + 1
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
            f"{self.settings.reconnect_timeout:g} s; the attempt was stopped on its worker)",
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


class Stopper:
    """Stops attempts on the workers, in one message for all those asked in the same moment:
    each worker stops those it runs and will not start the others; those no worker has started
    yet are then cancelled on the scheduler (``cancelled``)."""

    def __init__(self, connection: Connection) -> None:
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
