"""What runs in a forked child: leave the runner's plumbing behind, run the lifecycle, report.

Python-level prints and ``self.logger`` go through the framed channel (keeping level, order and
the time each line was made); file descriptors 1 and 2 are pipes the runner reads raw.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from ._c_flush import flush_c_stdio
from ._c_signal import c_sigmask, c_signal
from ._channel import ChannelWriter, LineWriter
from ._copy_on_write import freeze_inherited
from ._interface import Attempt
from ._lifecycle import (
    EarlyRecord,
    Outcome,
    Shield,
    StopRequested,
    error_text,
    run_lifecycle,
    shared_changes,
    shared_fingerprints,
)
from ._task import TaskLogger, TaskMetadata

__all__ = ["Load", "child_main"]


#: Run in the child before the attempt (see ``child_main``).
Load = Callable[[], "tuple[Attempt, Callable[[Any], Any] | None]"]


def child_main(
    attempt: Attempt,
    channel_fd: int,
    out_fd: int,
    err_fd: int,
    mask: set[int | signal.Signals],
    load: Load | None = None,
) -> None:
    """Run ``attempt`` in this freshly forked child and exit.

    ``load``, when given, is called first (with the output already captured) and returns the
    attempt to run instead and how to encode its ``shared_dict`` changes and its result for the
    channel: an executor whose process must not import the task code (a Dask worker) passes
    the attempt in as bytes and takes the changes and the result back as bytes.
    """
    code = 0
    freeze_inherited()
    channel = ChannelWriter(channel_fd)
    try:
        os.setpgid(0, 0)
        # Leave the runner's signal plumbing behind: its wakeup fd and handlers belong to the
        # runner's event loop, which this process must never touch.
        signal.set_wakeup_fd(-1)
        c_signal(signal.SIGINT, int(signal.SIG_DFL))
        c_signal(signal.SIGTERM, _stop_on_sigterm)
        c_signal(signal.SIGHUP, _stop_on_sigterm)
        c_sigmask(signal.SIG_SETMASK, mask)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.close(out_fd)
        os.close(err_fd)
        # A task that crashes in C code gets its Python stack in its own log (the runner's
        # faulthandler, if any, would write to the runner's terminal instead).
        faulthandler.enable(file=2, all_threads=False)
        encode = None
        if load is not None:
            attempt, encode = load()
        code = _run_in_child(attempt, channel, encode)
    except BaseException as error:  # the lifecycle catches everything; this is our own failure
        with contextlib.suppress(BaseException):
            channel.send(
                (
                    "result",
                    False,
                    f"the attempt could not start: {error!r}",
                    (),
                    False,
                    {},
                    (),
                    None,
                    (),
                )
            )
        code = 70
    finally:
        os._exit(code)


# Raised once the task's run() has returned: a stop then lets the remaining hooks finish.
_SHIELD = Shield()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # on_abort must not be cut short by another
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if not _SHIELD.up:
        raise StopRequested()


def _run_in_child(
    attempt: Attempt,
    channel: ChannelWriter,
    encode: Callable[[Any], Any] | None = None,
) -> int:
    def send_line(level: str, stream: str) -> Callable[[str, float], None]:
        return lambda text, when: channel.send(("log", level, text, when, stream))

    out = LineWriter(send_line("INFO", "stdout"), 1)
    err = LineWriter(send_line("ERROR", "stderr"), 2)
    sys.stdout = out
    sys.stderr = err
    logger = TaskLogger(
        lambda level, text, when: channel.send(("log", level, text, when, "logger"))
    )
    shared = dict(attempt.shared_dict)
    before = shared_fingerprints(shared)
    early = EarlyRecord(
        attempt,
        before,
        shared,
        lambda text: channel.send(("log", "WARNING", text, time.time(), "runner")),
    )
    _SHIELD.then = early.hook
    metadata = TaskMetadata(
        attempt.task, attempt.task_class.__name__, list(attempt.depends_on), attempt.number
    )
    try:
        instance = attempt.task_class._build(
            attempt.parameters, shared, logger, metadata, attempt.upstream, attempt.results
        )
    except BaseException as error:
        outcome = Outcome(False, f"could not create the task: {error_text(error)}", (), False)
        logger.exception("could not create the task")
    else:
        outcome = run_lifecycle(
            instance,
            attempt.restart,
            lambda text: channel.send(("log", "ERROR", text, time.time(), "runner")),
            _SHIELD,
        )
    early.settle(outcome)
    out.close()
    err.close()
    # os._exit skips the C library's exit handlers: printf output still buffered is lost.
    flush_c_stdio()
    updates, deleted = shared_changes(before, shared)
    head = ("result", outcome.ok, outcome.reason, outcome.error_types, outcome.stopped)
    # ``encode``: what leaves the process (shared_dict changes, the result) as the executor
    # carries it (on a Dask worker: bytes the worker process never unpickles).
    pack: Callable[[Any], Any] = _as_is if encode is None else encode
    value = outcome.value
    try:
        channel.send((*head, pack(updates), deleted, None if value is None else pack(value), ()))
    except Exception as error:  # a value in shared_dict, or the result, that cannot be pickled
        unsendable = [k for k, v in updates.items() if not _picklable(v, encode)]
        unsaved = [f"shared_dict[{k!r}]" for k in unsendable]
        if value is not None and not _picklable(value, encode):
            unsaved.append("its result")
            value = None
        text = (
            f"{' and '.join(unsaved)} cannot leave the process ({error}): dropped, so the "
            "tasks after it do not see it, and a resume runs this task again"
        )
        channel.send(("log", "ERROR", text, time.time(), "runner"))
        kept = {k: v for k, v in updates.items() if k not in unsendable}
        sent = None if value is None else pack(value)
        channel.send((*head, pack(kept), deleted, sent, tuple(unsaved)))
    return 0


def _as_is(value: Any) -> Any:
    return value


def _picklable(value: object, encode: Callable[[Any], Any] | None = None) -> bool:
    try:
        pickle.dumps(value) if encode is None else encode(value)
    except Exception:
        return False
    return True
