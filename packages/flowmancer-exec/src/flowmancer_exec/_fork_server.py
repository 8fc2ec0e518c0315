"""The fork server: a small process, forked from the driver early, that forks each attempt.

Why: forking costs time in proportion to the size of the process forked (its page tables, and
the pages a child then copies). The driver grows as it reads the job, prepares the run and
imports the runner; a process forked from it before all that stays small, and forking attempts
from there is cheaper (see benchmarks/exec_runner.py).

How, after CPython's ``multiprocessing.forkserver``: the driver and the server share one Unix
socket pair (``SOCK_SEQPACKET``, a message per send). The driver asks the server to import a task
class's module, then to fork attempts (each sent as a pickle, run by ``child_main`` exactly as on
the driver's own fork path); the server answers with the child's pid and passes the read ends of
its three pipes (``SCM_RIGHTS``), so the driver reads the attempt's output itself. The server
reaps its children and tells the driver how each ended. Everything else — process groups,
stopping, timeouts, output — is the driver's, as on the fork path.

No process is left behind: the server dies with the driver (``PR_SET_PDEATHSIG``, and the end of
the socket when the driver is gone), ending its attempts' process groups first; each attempt
dies with the server. The server ignores SIGINT (a terminal's Ctrl-C is the driver's to handle:
it stops the attempts itself) and is in a process group of its own.

Linux only (death signals, pidfds), and only when asked for (``FLOWMANCER_FORK_SERVER=1``);
otherwise the driver forks every attempt itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import selectors
import signal
import socket
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["MAX_MESSAGE", "ImportChain", "serve", "server_wanted", "spawn_server"]

#: The largest message sent in one piece; an attempt bigger than this is sent in parts.
MAX_MESSAGE = 32 * 1024

#: (module name, folder package's search path or None) for a module and each of its parents.
ImportChain = list[tuple[str, "list[str] | None"]]


def server_wanted() -> bool:
    """Whether a fork server may be used here: asked for with ``FLOWMANCER_FORK_SERVER=1``
    (off by default: on the loaded 2-core machine it was measured on, the round trip through the
    server cost more than the smaller fork saved; see the README), and on Linux (death signals,
    pidfds)."""
    if os.environ.get("FLOWMANCER_FORK_SERVER", "").strip().lower() not in (
        "1",
        "yes",
        "true",
        "on",
    ):
        return False
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def spawn_server() -> tuple[int, socket.socket]:
    """Fork the server from this process; its pid and the driver's end of the socket."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the server: never returns
        code = 0
        try:
            ours.close()
            serve(theirs, parent)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    theirs.close()
    ours.set_inheritable(False)
    return pid, ours


def _send(sock: socket.socket, message: tuple[Any, ...], fds: list[int] | None = None) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


class _Server:
    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name  # the driver's, which its attempts take back
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.children: dict[int, int] = {}  # pidfd -> pid
        self.parts: list[bytes] = []

    def run(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.sock:
                    if not self._on_message():
                        return
                else:
                    self._reap(int(key.fd))

    def _on_message(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE + 4096, 16)
        except ConnectionResetError:
            data, fds = b"", []
        if not data:  # the driver is gone
            return False
        message = pickle.loads(data)
        kind = message[0]
        if kind == "part":
            self.parts.append(message[1])
        elif kind == "fork":
            payload = b"".join([*self.parts, message[1]])
            self.parts.clear()
            try:
                self._fork(payload, tuple(fds))
            finally:
                for fd in fds:
                    os.close(fd)
        elif kind == "import":
            _, name, chain, path = message
            _send(self.sock, ("imported", name, *_import(chain, path)))
        return True

    def _fork(self, payload: bytes, fds: tuple[int, ...]) -> None:
        from ._attempt_fork import fork_attempt
        from ._process_name import set_process_name

        def load() -> Any:
            set_process_name(self.name)
            attempt = pickle.loads(payload)
            if fds:  # the completion recorder's descriptors, received with the attempt
                attempt.completed.rebind(fds)
            return attempt, None

        keep = (self.sock.fileno(), self.selector_fd(), *self.children)
        try:
            forked = fork_attempt(None, load, keep, yield_cpu=False)  # type: ignore[arg-type]
        except Exception as error:
            _send(self.sock, ("failed", repr(error)))
            return
        try:
            pidfd = os.pidfd_open(forked.pid)
            self.children[pidfd] = forked.pid
            self.selector.register(pidfd, selectors.EVENT_READ)
            _send(self.sock, ("forked", forked.pid), [forked.channel, forked.out, forked.err])
        finally:
            for fd in (forked.channel, forked.out, forked.err):
                os.close(fd)

    def selector_fd(self) -> int:
        fileno = getattr(self.selector, "fileno", None)
        return int(fileno()) if fileno is not None else -1

    def _reap(self, pidfd: int) -> None:
        pid = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        # As the driver's own fork path does: the rest of the group goes before the child is
        # reaped (a zombie keeps the group's id from being reused meanwhile).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        _send(self.sock, ("exit", pid, status))

    def end_all(self) -> None:
        """End every attempt's process group (the driver is gone)."""
        for pid in self.children.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


_server: list[_Server] = []


def _on_parent_death(signum: int, frame: object) -> None:
    for server in _server:
        server.end_all()
    os._exit(0)


def serve(sock: socket.socket, parent: int) -> None:
    """The server's life: answer the driver until it is gone, then end every attempt."""
    from ._c_signal import c_signal
    from ._death_signal import death_signal_setter
    from ._process_name import FORK_SERVER_NAME, process_name, set_process_name

    # Out of the terminal's process group: Ctrl-C is the driver's to handle.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.set_wakeup_fd(-1)
    c_signal(signal.SIGINT, int(signal.SIG_IGN))
    c_signal(signal.SIGHUP, int(signal.SIG_IGN))
    c_signal(signal.SIGTERM, _on_parent_death)
    c_signal(signal.SIGCHLD, int(signal.SIG_DFL))
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    die_with = death_signal_setter()
    if die_with is not None:
        die_with(signal.SIGTERM)
    if os.getppid() != parent:  # it died before we asked
        return
    driver_name = process_name()
    set_process_name(FORK_SERVER_NAME)
    server = _Server(sock, driver_name)
    _server.append(server)
    try:
        server.run()
    finally:
        server.end_all()


def _import(chain: ImportChain, path: list[str]) -> tuple[bool, str]:
    """Import a task class's module as the driver did: (done, what went wrong)."""
    from ._folders import folder_package

    for entry in path:
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        with _quiet():
            for name, folder in chain:
                if name in sys.modules:
                    continue
                if folder is not None:
                    folder_package(name, folder[0])
                    sys.modules[name].__path__[:] = folder
                else:
                    importlib.import_module(name)
    except BaseException as error:  # the user's module: anything at all, SystemExit too
        return False, f"{type(error).__name__}: {error}"
    return True, ""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """What a module prints when imported again here was printed by the driver already."""
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stdout = sys.stderr = devnull
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved
