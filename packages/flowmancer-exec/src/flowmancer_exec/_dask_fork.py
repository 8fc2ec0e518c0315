"""The worker's side of its fork server (``_dask_forkserver``): started with the worker's first
attempt, asked to run and stop attempts, restarted if it ever dies.

Nothing here imports dask.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import struct
import subprocess
import sys
from typing import Any

from ._channel import FrameReader, read_available
from ._dask_code import CodeBundle
from ._dask_forkserver import pack
from ._dask_install import KEPT_VERSIONS
from ._interface import AttemptResult

__all__ = ["ForkServer", "fork_server"]

# The framing of ``_channel.ChannelWriter``, which the server reads with a ``FrameReader``.
_HEADER = struct.Struct("<I")

_BOOT = (
    "import sys; sys.path[:] = {path!r}; "
    "from flowmancer_exec._dask_forkserver import main; sys.exit(main(sys.argv))"
)


class ForkServer:
    """One fork server process and the attempts it runs for this worker."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        to_read, self.to_server = os.pipe()
        self.from_server, from_write = os.pipe()
        try:
            # A fresh interpreter, not a fork of the worker: small, and without dask.
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _BOOT.format(path=list(sys.path)),
                    str(to_read),
                    str(from_write),
                    str(os.getpid()),
                ],
                pass_fds=(to_read, from_write),
                stdin=subprocess.DEVNULL,
                # Signals meant for the worker's terminal are the worker's: the server ends
                # when the worker does.
                start_new_session=True,
            )
        except BaseException:
            for fd in (self.to_server, self.from_server):
                os.close(fd)
            raise
        finally:
            os.close(to_read)
            os.close(from_write)
        os.set_blocking(self.to_server, False)
        os.set_blocking(self.from_server, False)
        self.alive = True
        # The versions the server holds, the most recently used last: it drops the oldest
        # beyond KEPT_VERSIONS as this does (``keep``, ``held``), so one dropped there is sent
        # again.
        self.digests: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.pending: dict[str, asyncio.Future[bytes]] = {}
        self.backlog = bytearray()
        self.frames = FrameReader()
        loop.add_reader(self.from_server, self._readable)

    def start(self, key: str, payload: bytes, bundle: CodeBundle, settings: Any) -> Any:
        """Fork the attempt on the server; the future gets its packed end (``pack``)."""
        finished: asyncio.Future[bytes] = self.loop.create_future()
        self.pending[key] = finished
        if bundle.digest in self.digests:
            self.digests.move_to_end(bundle.digest)
        else:
            self.digests[bundle.digest] = None
            self._send(("code", bundle))
            while len(self.digests) > KEPT_VERSIONS:
                self.digests.popitem(last=False)
        self._send(
            (
                "run",
                key,
                payload,
                bundle.digest,
                settings.grace_period,
                settings.job,
                settings.run_id,
                settings.task,
                settings.number,
                settings.cwd,
            )
        )
        return finished

    def stop(self, key: str, at_once: bool) -> None:
        """The first stop: ``on_abort`` and the grace period; at once: its group is killed."""
        if key in self.pending:
            self._send(("stop", key, at_once))

    def close(self) -> None:
        """End the server and what it runs (the worker never does: it ends with the worker)."""
        self._gone()

    def _send(self, message: tuple[Any, ...]) -> None:
        if not self.alive:
            return
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        frame = _HEADER.pack(len(payload)) + payload
        if self.backlog:
            self.backlog += frame
            return
        try:
            written = os.write(self.to_server, frame)
        except BlockingIOError:
            written = 0
        except OSError:
            return  # the server is gone: its end of output follows
        if written < len(frame):
            # A large message (a big project's code): the rest as the server reads.
            self.backlog += frame[written:]
            self.loop.add_writer(self.to_server, self._flush)

    def _flush(self) -> None:
        try:
            written = os.write(self.to_server, self.backlog)
        except BlockingIOError:
            return
        except OSError:
            written = len(self.backlog)
        del self.backlog[:written]
        if not self.backlog:
            self.loop.remove_writer(self.to_server)

    def _readable(self) -> None:
        chunks, eof = read_available(self.from_server)
        for chunk in chunks:
            for message in self.frames.feed(chunk):
                if message[0] == "done":
                    finished = self.pending.pop(message[1], None)
                    if finished is not None and not finished.done():
                        finished.set_result(message[2])
        if eof:
            self._gone()

    def _gone(self) -> None:
        """The server ended (killed, out of memory): its attempts died with it."""
        if not self.alive:
            return
        self.alive = False
        self.loop.remove_reader(self.from_server)
        if self.backlog:
            self.loop.remove_writer(self.to_server)
        for fd in (self.from_server, self.to_server):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self.process.kill()
        code = self.process.wait()
        result = AttemptResult(
            False, f"the dask worker's fork server ended (exit code {code}) while it ran"
        )
        for finished in self.pending.values():
            if not finished.done():
                finished.set_result(pack(result, []))
        self.pending.clear()


_servers: dict[int, ForkServer] = {}


def fork_server() -> ForkServer:
    """This worker's fork server (started now if it has none, or if it died)."""
    loop = asyncio.get_running_loop()
    key = id(loop)
    server = _servers.get(key)
    if server is None or not server.alive or server.loop is not loop:
        server = _servers[key] = ForkServer(loop)
    return server
