"""The driver's side of the fork server (see ``_fork_server``): which attempts it can start,
asking it to, and hearing how each ended.

The server cannot start an attempt — which is then forked by the driver itself, as without a
server — when: its task class lives in ``__main__`` or inside a function (the server cannot
import it), its module failed to import in the server or is still being imported there (the
first attempts of a class, while the server imports its module in the background), the attempt
cannot be pickled, the driver's working directory or environment changed since the server was
started, or the server is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ._attempt_fork import Forked
from ._fork_server import MAX_MESSAGE, ImportChain, server_wanted, spawn_server
from ._interface import Attempt

__all__ = ["ForkServer", "current_server", "fork_server_for_run"]

# How a child that the server could not report on ended, as the driver reads it: killed.
_KILLED = signal.SIGKILL


class ForkServer:
    """A running fork server, as the driver talks to it."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.pid, self.sock = spawn_server()
        self.alive = True
        self.cwd = os.getcwd()
        self.environ = dict(os.environ)
        self.modules: dict[str, bool | None] = {}  # None: being imported
        self.exits: dict[int, Callable[[int], None]] = {}
        self.early: dict[int, int] = {}  # exits heard before their watcher was registered
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- the driver's loop ----------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hear the server on ``loop`` (the run's)."""
        if self.loop is loop or not self.alive:
            return
        self.detach()
        self.sock.setblocking(False)
        loop.add_reader(self.sock.fileno(), self._readable)
        self.loop = loop

    def detach(self) -> None:
        """Stop hearing the server on the run's loop (the run is over)."""
        if self.loop is not None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.sock.fileno())
            self.loop = None

    def _readable(self) -> None:
        for message in self._receive(block=False):
            self._dispatch(message)

    def _receive(self, block: bool) -> Iterator[tuple[Any, ...]]:
        """Messages waiting (``block``: at least one); the server's end is the driver's too."""
        self.sock.setblocking(block)
        try:
            while self.alive:
                try:
                    data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 3)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    data, fds = b"", []
                if not data:
                    self._gone()
                    return
                message = pickle.loads(data)
                if fds:
                    message = (*message, fds)
                yield message
                if block:
                    return
        finally:
            with contextlib.suppress(OSError):
                self.sock.setblocking(False)

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "exit":
            _, pid, status = message
            exited = self.exits.pop(pid, None)
            if exited is None:
                self.early[pid] = status
            else:
                exited(status)
        elif kind == "imported":
            _, name, ok, _ = message
            self.modules[name] = bool(ok)

    def _gone(self) -> None:
        """The server died: its attempts died with it (each was told to)."""
        if not self.alive:
            return
        self.alive = False
        loop = self.loop
        self.detach()
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, 0)
        exits, self.exits = self.exits, {}
        for exited in exits.values():
            # On the loop, not inside whatever noticed (a start of another attempt, say).
            if loop is not None:
                loop.call_soon(exited, _KILLED)
            else:
                exited(_KILLED)

    # -- starting attempts ----------------------------------------------------------------------

    def fork(self, attempt: Attempt) -> Forked | None:
        """Have the server fork ``attempt``'s child; None when it cannot (fork it yourself)."""
        if not self.alive or not self._serves(attempt.task_class):
            return None
        if os.getcwd() != self.cwd or os.environ != self.environ:
            return None
        # A completion recorder writes through descriptors the driver opened after the server
        # was forked: they go with the attempt, or the driver forks it (a recorder that cannot
        # say which it needs).
        fds: tuple[int, ...] = ()
        if attempt.completed is not None:
            descriptors = getattr(attempt.completed, "descriptors", None)
            if descriptors is None or not hasattr(attempt.completed, "rebind"):
                return None
            fds = tuple(descriptors())
        try:
            payload = pickle.dumps(attempt, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return None
        try:
            pieces = [payload[i : i + MAX_MESSAGE] for i in range(0, len(payload), MAX_MESSAGE)]
            for piece in pieces[:-1]:
                self._send(("part", piece))
            self._send(("fork", pieces[-1]), list(fds))
            while self.alive:
                for message in self._receive(block=True):
                    if message[0] == "forked":
                        pid, fds = message[1], message[2]
                        return Forked(pid, *fds)
                    if message[0] == "failed":
                        return None
                    # Later: the watchers' callbacks run on the loop, not inside this call.
                    self._later(message)
        except OSError:
            self._gone()
        return None

    def _later(self, message: tuple[Any, ...]) -> None:
        if self.loop is not None:
            self.loop.call_soon(self._dispatch, message)
        else:
            self._dispatch(message)

    def watch_exit(self, pid: int, exited: Callable[[int], None]) -> None:
        """Call ``exited(status)`` once the server has reaped child ``pid``."""
        if pid in self.early:
            status = self.early.pop(pid)
            assert self.loop is not None
            self.loop.call_soon(exited, status)
        elif not self.alive:
            assert self.loop is not None
            self.loop.call_soon(exited, _KILLED)
        else:
            self.exits[pid] = exited

    def _serves(self, cls: type) -> bool:
        """Whether the server has ``cls``'s module imported; asks it to import it the first
        time (the attempts of its classes are forked here until it has)."""
        name = cls.__module__
        known = self.modules.get(name, "ask")
        if known != "ask":
            return known is True and "<" not in cls.__qualname__
        chain = _import_chain(cls)
        self.modules[name] = None if chain is not None else False
        if chain is not None:
            try:
                self._send(("import", name, chain, list(sys.path)))
            except OSError:
                self._gone()
        return False

    def _send(self, message: tuple[Any, ...], fds: list[int] | None = None) -> None:
        self.sock.setblocking(True)
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            if fds:
                socket.send_fds(self.sock, [data], fds)
            else:
                self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    # -- the end ----------------------------------------------------------------------------------

    def close(self) -> None:
        """End the server (and what is left of its attempts) and reap it."""
        if self.alive:
            self.alive = False
            self.detach()
            with contextlib.suppress(OSError):
                self.sock.close()
        # The end of the socket tells it to go; it ends its attempts' groups first.
        for _ in range(200):
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                return
            time.sleep(0.005)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def _import_chain(cls: type) -> ImportChain | None:
    """How the server imports ``cls``'s module: it and its parents, each either by name or as
    a folder package (see ``_folders``); None when it cannot."""
    name = cls.__module__
    if name == "__main__" or "<" in cls.__qualname__ or name not in sys.modules:
        return None
    chain: ImportChain = []
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        module = sys.modules.get(prefix)
        if module is None:
            return None
        spec = getattr(module, "__spec__", None)
        path = getattr(module, "__path__", None)
        folder = None
        if spec is not None and spec.origin is None and path is not None:
            folder = list(path)
        chain.append((prefix, folder))
    return chain


_current: list[ForkServer] = []


def current_server() -> ForkServer | None:
    """The fork server started for this run, if any (and still there)."""
    # Not in a process forked from the driver (an attempt): the server is the driver's.
    if _current and _current[0].alive and _current[0].owner == os.getpid():
        return _current[0]
    return None


@contextlib.contextmanager
def fork_server_for_run(wanted: bool = True) -> Iterator[ForkServer | None]:
    """Start the fork server now (before the driver grows) and end it when the block ends.

    Nothing is started when ``wanted`` is false, when the server is not asked for or cannot
    work here (see ``server_wanted``) or when one is already running (a driver started inside
    a run).
    """
    if not wanted or _current or not server_wanted():
        yield None
        return
    try:
        server = ForkServer()
    except OSError:
        yield None
        return
    _current.append(server)
    try:
        yield server
    finally:
        _current.remove(server)
        server.close()
