"""The fork server: a small process beside each Dask worker that forks the worker's attempts.

Forking the worker itself for every attempt copied the page tables of a process holding all of
dask (and tore them down again when the attempt exited): measured on 1000 no-op attempts over two
workers (benchmarks/dask_overhead.py), about 10 ms of system time per attempt, most of
Flowmancer's overhead over plain Dask. This process imports Flowmancer's executor and the
installed modules the project uses (``warm_up``), never dask; each attempt is forked from it,
with the process executor's machinery (its own process group, output caught at the file
descriptors, ``on_abort`` and the grace period on a stop), exactly as it was forked from the
worker before.

The worker starts it (``_dask_fork.ForkServer``) and talks to it over two pipes, in the framed
messages of ``_channel``:

- worker -> server: ``("code", bundle)`` once per version of a project's code,
  ``("run", key, payload, digest, grace_period, job, run_id, task, number, cwd)`` and
  ``("stop", key, at_once)``;
- server -> worker: ``("done", key, packed)``, the attempt's result and output as the worker
  sends them on to the driver (bytes it never needs to read).

It dies with its worker: ``PR_SET_PDEATHSIG`` on Linux, and the end of its input (the worker
closed, or was killed) stops every attempt at once and ends the server when they are gone; each
attempt dies with the server in turn (the process executor sets that up for its children).

Started with the worker's ``sys.path`` and folder, given its pipes and the worker's pid:
``main([..., IN, OUT, WORKER_PID])``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

from ._channel import ChannelWriter, FrameReader, read_available
from ._dask_install import held, install_code, keep, warm_up
from ._death_signal import death_signal_setter
from ._interface import Attempt, AttemptResult
from ._process import ProcessExecutor
from ._records import LogRecord
from ._task import Task

__all__ = ["Opaque", "encode", "main", "pack"]


class Opaque:
    """Pickled bytes carried without unpickling them (the child's ``shared_dict`` changes and
    its result may hold instances of the project's classes, which only the driver and the
    attempt's own process import)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[object, ...]:
        return (Opaque, (self.data,))


def encode(value: Any) -> Opaque:
    """In the attempt's child: a value of the project's as bytes."""
    import cloudpickle

    return Opaque(cloudpickle.dumps(value))


def pack(result: AttemptResult, records: list[LogRecord]) -> bytes:
    """An attempt's end as the driver reads it (``_dask_worker.unpack``)."""
    return pickle.dumps((result, records), protocol=pickle.HIGHEST_PROTOCOL)


class _Unknown(Task):
    """Stands for the task's class where it is not imported (the server process)."""

    def run(self) -> None:
        """Never run."""


class _Server:
    def __init__(self, loop: asyncio.AbstractEventLoop, read_fd: int, write_fd: int) -> None:
        self.loop = loop
        self.read_fd = read_fd
        self.out = ChannelWriter(write_fd)
        self.frames = FrameReader()
        self.running: dict[str, Callable[[], None]] = {}
        self.executors: dict[float, ProcessExecutor] = {}
        self.closed: asyncio.Future[None] = loop.create_future()
        os.set_blocking(read_fd, False)
        loop.add_reader(read_fd, self._readable)

    def _send(self, message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: its end of input follows
            self.out.send(message)

    def _readable(self) -> None:
        chunks, eof = read_available(self.read_fd)
        for chunk in chunks:
            for message in self.frames.feed(chunk):
                self._handle(message)
        if eof:
            self.loop.remove_reader(self.read_fd)
            # The worker is gone: nobody will read what the attempts do, and nothing of them
            # may run on after it.
            for stop in list(self.running.values()):
                stop()
                stop()
            if not self.closed.done():
                self.closed.set_result(None)

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "run":
            self._run(*message[1:])
        elif kind == "stop":
            _, key, at_once = message
            stop = self.running.get(key)
            if stop is not None:
                stop()
                if at_once:
                    stop()
        elif kind == "code":
            keep(message[1])
            warm_up(message[1])  # inherited by every attempt forked after it

    def _run(
        self,
        key: str,
        payload: bytes,
        digest: str,
        grace_period: float,
        job: str,
        run_id: str,
        task: str,
        number: int,
        cwd: str,
    ) -> None:
        bundle = held(digest)
        standin = Attempt(job, run_id, task, _Unknown, {}, (), number, False, {})
        records: list[LogRecord] = []
        if bundle is None:  # the worker sends a version before its first attempt
            result = AttemptResult(False, "the project's code did not reach the fork server")
            self._send(("done", key, pack(result, records)))
            return
        code = warm_up(bundle)
        read_fd, out = self.read_fd, self.out.fd

        def load() -> tuple[Attempt, Callable[[Any], Any]]:
            # The server's pipes are not the attempt's.
            for fd in (read_fd, out):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if cwd:
                with contextlib.suppress(OSError):
                    os.chdir(cwd)
            install_code(bundle, code)
            attempt: Attempt = pickle.loads(payload)
            return attempt, encode

        def finished(result: AttemptResult) -> None:
            self.running.pop(key, None)
            self._send(("done", key, pack(result, records)))

        executor = self.executors.get(grace_period)
        if executor is None:
            executor = self.executors[grace_period] = ProcessExecutor(grace_period)
        try:
            self.running[key] = executor.start_attempt(standin, records.append, finished, load)
        except Exception as error:  # no fork possible (out of processes, memory)
            self.running.pop(key, None)
            result = AttemptResult(False, f"the attempt's process could not start: {error!r}")
            self._send(("done", key, pack(result, records)))

    async def serve(self) -> None:
        await self.closed
        for executor in self.executors.values():
            await executor.close()


async def _serve(read_fd: int, write_fd: int) -> None:
    await _Server(asyncio.get_running_loop(), read_fd, write_fd).serve()


def main(argv: list[str]) -> int:
    """The server process: serve the worker on the pipes ``argv`` names until it goes."""
    read_fd, write_fd, worker = (int(a) for a in argv[1:4])
    die_with = death_signal_setter()
    if die_with is not None:
        die_with(signal.SIGKILL)
    if os.getppid() != worker:  # the worker died before we asked
        return 0
    # Every attempt unpickles its payload and pickles its result with it: imported once here
    # (measured: an import in each forked child cost several ms of each attempt).
    with contextlib.suppress(ImportError):
        import cloudpickle  # noqa: F401
    # A terminal's Ctrl-C is the worker's to handle (this process is in a session of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(read_fd, write_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
