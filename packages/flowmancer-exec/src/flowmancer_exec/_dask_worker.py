"""What runs on a Dask worker: one attempt, forked by the worker's fork server, watched until it
ends.

``run_on_worker`` is a coroutine, so Dask runs it on the worker's event loop: the attempt is
handed to the worker's fork server (``_dask_fork``, ``_dask_forkserver``), which forks its child
and reads it with the process executor's machinery; the worker waits for the packed end it
sends back, and everything it checks while it waits is local to the worker — no round trip to
the scheduler while an attempt runs.

Neither the worker nor its fork server imports the project's code: the attempt arrives as bytes
and is unpickled in the child, after the project's modules (``CodeBundle``) are installed there;
the child's ``shared_dict`` changes and result come back as bytes too (``Opaque``) and are
unpickled by the driver.

The watchdog: an attempt whose worker loses the scheduler, or whose task the scheduler no
longer wants (its driver is gone), is stopped on the worker (``on_abort``, the grace period, then
its process group is killed), so that it never runs on beside a resumed run.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import pickle
import time
from collections.abc import Callable
from typing import Any

from ._dask_fork import fork_server
from ._dask_forkserver import Opaque, pack
from ._dask_install import held
from ._interface import Attempt, AttemptResult
from ._records import LogRecord

__all__ = ["Settings", "request_stop", "run_on_worker", "unpack"]

# States of a task the worker is still asked to run (anything else: the scheduler dropped it).
_WANTED = frozenset({"executing", "long-running", "resumed"})


@dataclasses.dataclass(frozen=True)
class Settings:
    """How an attempt is run and watched on the worker (sent with each attempt)."""

    key: str
    #: The version of the project's code the attempt runs (``CodeBundle.digest``).
    code: str
    job: str
    run_id: str
    task: str
    number: int
    grace_period: float
    #: Seconds an attempt goes on without its worker's connection to the scheduler.
    orphan_after: float
    #: Ask the scheduler whether this attempt was started before (it reruns tasks of dead
    #: workers when its allowed-failures is not 0).
    claim: bool
    #: The driver's working folder: the attempt's too where the worker has it (the same
    #: machine, a shared file system), as under the process executor.
    cwd: str = ""


# Attempts asked to stop on this worker (key -> at once), before or while they run; bounded.
_stops: collections.OrderedDict[str, bool] = collections.OrderedDict()
_STOPS_KEPT = 100_000
# The attempts running on this worker: key -> its stop (argument: at once).
_running: dict[str, Callable[[bool], None]] = {}


def request_stop(keys: list[str], at_once: bool) -> list[str]:
    """Run on every worker's event loop by the driver: stop these attempts, also those that
    have not started here yet (they will not). Returns the keys running here."""
    here = []
    for key in keys:
        _stops[key] = _stops.get(key, False) or at_once
        stop = _running.get(key)
        if stop is not None:
            stop(at_once)
            here.append(key)
    while len(_stops) > _STOPS_KEPT:
        _stops.popitem(last=False)
    return here


async def run_on_worker(payload: bytes, settings: Settings) -> bytes:
    """Run one attempt, forked by this worker's fork server; its result and output as bytes."""
    from distributed import get_worker

    worker = get_worker()
    key = settings.key
    if key in _stops:
        return pack(AttemptResult(False, "the run was aborted before it started", (), True), [])
    if settings.claim and not await _claim(worker, key):
        reason = (
            "the dask scheduler started this attempt a second time (the worker running it "
            "died); it is not run again unseen: retries are Flowmancer's, and the scheduler "
            "should run with distributed.scheduler.allowed-failures: 0"
        )
        return pack(AttemptResult(False, reason, ("DuplicateStart",)), [])
    code = held(settings.code)
    if code is None:
        reason = (
            "this worker does not hold the version of the project's code this run loaded (a "
            "run of a newer version of the project replaced it on the cluster); run it again"
        )
        return pack(AttemptResult(False, reason, ("CodeMissing",)), [])
    server = fork_server()
    finished = server.start(key, payload, code, settings)
    notes: list[LogRecord] = []  # the worker's own, merged into the attempt's output
    told = [False]

    def stop_here(at_once: bool) -> None:
        if not told[0]:
            told[0] = True
            server.stop(key, False)  # graceful: on_abort, then the grace period, then the kill
        if at_once:
            server.stop(key, True)

    _running[key] = stop_here
    if _stops.get(key) is not None:  # asked while this attempt was being started
        stop_here(_stops[key])
    watch = _Watchdog(worker, key, settings.orphan_after)
    try:
        while not finished.done():
            await asyncio.wait({finished}, timeout=0.5)
            why = None if finished.done() else watch.orphaned()
            if why is not None and not told[0]:
                notes.append(
                    LogRecord(
                        settings.job,
                        settings.run_id,
                        settings.task,
                        settings.number,
                        "ERROR",
                        f"stopped: {why}",
                        time.time(),
                        "runner",
                    )
                )
                stop_here(False)
    except asyncio.CancelledError:  # the worker is closing: nothing may run on after it
        stop_here(True)
        raise
    finally:
        _running.pop(key, None)
        _stops.pop(key, None)
    data: bytes = finished.result()
    if notes:
        result, records = pickle.loads(data)
        data = pack(result, sorted([*records, *notes], key=lambda r: r.time))
    return data


class _Watchdog:
    """Whether an attempt running on this worker has been left alone: its worker lost the
    scheduler (for ``orphan_after`` seconds) or is closing, or the scheduler dropped its task
    (the driver that wanted it is gone). Looks at the worker's own state only."""

    def __init__(self, worker: Any, key: str, orphan_after: float) -> None:
        self.worker = worker
        self.key = key
        self.orphan_after = orphan_after
        self.lost_since: float | None = None

    def orphaned(self) -> str | None:
        worker = self.worker
        status = getattr(getattr(worker, "status", None), "name", "running")
        if status not in ("running", "paused"):
            return f"the dask worker is {status}"
        task = worker.state.tasks.get(self.key)
        if task is None or task.state not in _WANTED:
            return "the scheduler dropped the attempt (its driver is gone)"
        stream = getattr(worker, "batched_stream", None)
        comm = getattr(stream, "comm", None)
        if comm is None or comm.closed():
            now = time.monotonic()
            self.lost_since = self.lost_since if self.lost_since is not None else now
            if now - self.lost_since >= self.orphan_after:
                return f"the worker lost the dask scheduler {self.orphan_after:g} s ago"
        else:
            self.lost_since = None
        return None


async def _claim(worker: Any, key: str) -> bool:
    """True the first time ``key`` starts anywhere on the cluster (a flag on the scheduler,
    cleared by the driver when the attempt has ended)."""
    name = f"{key}-started"
    if await worker.scheduler.event_is_set(name=name):
        return False
    await worker.scheduler.event_set(name=name)
    return True


def unpack(data: bytes, attempt: Attempt) -> tuple[AttemptResult, list[LogRecord]]:
    """On the driver: the result and output ``run_on_worker`` sent back for ``attempt``."""
    result, records = pickle.loads(data)
    if not isinstance(result, AttemptResult):
        return AttemptResult(False, f"the worker sent back {type(result).__name__}"), []
    if isinstance(result.updates, Opaque):
        try:
            updates = pickle.loads(result.updates.data)
        except Exception as error:
            reason = f"its shared_dict changes could not be read here: {error!r}"
            result = dataclasses.replace(result, ok=False, reason=reason, updates={})
        else:
            result = dataclasses.replace(result, updates=updates)
    if isinstance(result.value, Opaque):
        try:
            value = pickle.loads(result.value.data)
        except Exception as error:
            # Kept as the child's unsendable result is: the task ran, its result is dropped.
            text = (
                f"its result cannot be read here ({error!r}): dropped, so the tasks after it "
                "do not see it, and a resume runs this task again"
            )
            records = [*records, attempt.record("ERROR", text, time.time(), "runner")]
            unsaved = (*result.unsaved, "its result")
            result = dataclasses.replace(result, value=None, unsaved=unsaved)
        else:
            result = dataclasses.replace(result, value=value)
    return result, list(records)
