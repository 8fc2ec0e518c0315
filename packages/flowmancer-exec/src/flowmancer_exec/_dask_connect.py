"""Reaching a Dask scheduler: bounded, cancellable at any moment, every failure one line.

Before the Dask client is made, the address is checked and the endpoint asked, with plain
asyncio, whether it speaks like a Dask scheduler: a port where nothing listens, a host that does
not answer, a service that says nothing or something else, each end in a message naming the
address and what was found there — not in a client waiting forever for a handshake, or reading
a banner as a frame length and running out of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
from typing import Any

from ._errors import ExecutorStartError, ExecutorUnavailableError

__all__ = ["allowed_failures", "connect", "distributed_module", "parse_address"]

FIX = "pip install 'flowmancer-exec[dask]' (or 'flowmancer[dask]')"

DEFAULT_PORT = 8786
# Dask's first frame: its length as a native unsigned 64-bit number, then a small message.
_HEADER = struct.Struct("Q")
_HANDSHAKE_MAX = 1 << 20


def distributed_module() -> Any:
    """``distributed``, imported now; a message with the command that installs it if missing."""
    try:
        import distributed
    except ImportError:
        raise ExecutorUnavailableError("dask", FIX) from None
    return distributed


def parse_address(distributed: Any, address: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``address``; a message naming it when it cannot be one."""
    scheme, sep, location = address.partition("://")
    if not sep:
        scheme, location = "tcp", address
    known = sorted(getattr(distributed.comm.registry, "backends", {}) or ("tcp", "tls"))
    if scheme not in known:
        raise ExecutorStartError(
            address,
            f"unknown protocol {scheme!r} (one of {', '.join(known)}; "
            f"for example tcp://scheduler-host:{DEFAULT_PORT})",
        )
    if scheme not in ("tcp", "tls"):
        return scheme, location, None
    try:
        host, port = distributed.comm.addressing.parse_host_port(location, DEFAULT_PORT)
    except (ValueError, TypeError) as error:
        raise ExecutorStartError(address, f"not a HOST:PORT address ({error})") from None
    if not host:
        raise ExecutorStartError(address, "no host in the address")
    return scheme, str(host), int(port)


async def connect(distributed: Any, address: str, timeout: float) -> Any:
    """A connected asynchronous ``distributed.Client``, within ``timeout`` seconds.

    Raises:
        ExecutorStartError: the address is wrong, or no Dask scheduler answered there.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    scheme, host, port = parse_address(distributed, address)
    if port is not None:
        await _probe(address, host, port, timeout, deadline, handshake=scheme == "tcp")
    left = max(deadline - loop.time(), 1.0)
    client = distributed.Client(address, asynchronous=True, timeout=left, set_as_default=False)
    try:
        await asyncio.wait_for(client, left + 2)
    except BaseException as error:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(client.close(timeout=2), 3)
        if isinstance(error, asyncio.CancelledError):
            raise
        if isinstance(error, asyncio.TimeoutError):
            raise ExecutorStartError(
                address, f"the scheduler did not take the client within {timeout:g} s"
            ) from None
        if isinstance(error, Exception):
            raise ExecutorStartError(address, _one_line(error)) from None
        raise
    return client


async def _probe(
    address: str, host: str, port: int, timeout: float, deadline: float, *, handshake: bool
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        left = deadline - loop.time()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), left)
            break
        except ConnectionRefusedError:
            # A scheduler that is starting up refuses for a moment: asked again until the end.
            if deadline - loop.time() <= 0.2:
                raise ExecutorStartError(
                    address,
                    f"nothing listens there (connection refused, tried for {timeout:g} s)",
                ) from None
            await asyncio.sleep(0.2)
        except socket.gaierror as error:
            raise ExecutorStartError(
                address, f"the host name {host!r} cannot be resolved ({error.strerror or error})"
            ) from None
        except asyncio.TimeoutError:
            raise ExecutorStartError(
                address, f"no answer within {timeout:g} s (the host or its port does not reply)"
            ) from None
        except OSError as error:
            raise ExecutorStartError(address, error.strerror or str(error)) from None
    try:
        if handshake:
            await _read_handshake(address, reader, timeout, deadline)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1)


async def _read_handshake(
    address: str, reader: asyncio.StreamReader, timeout: float, deadline: float
) -> None:
    """A Dask scheduler speaks first: one frame holding its handshake."""
    loop = asyncio.get_running_loop()
    body = b""
    try:
        header = await asyncio.wait_for(reader.readexactly(_HEADER.size), deadline - loop.time())
        (length,) = _HEADER.unpack(header)
        if 0 < length <= _HANDSHAKE_MAX:
            body = await asyncio.wait_for(reader.readexactly(length), deadline - loop.time())
        else:  # what it said, to show: the rest of a banner's first line, if it comes at once
            with contextlib.suppress(asyncio.TimeoutError, OSError):
                header += await asyncio.wait_for(reader.read(32), 0.5)
    except asyncio.TimeoutError:
        raise ExecutorStartError(
            address,
            f"the connection was accepted but nothing was said within {timeout:g} s "
            "(not a dask scheduler: a dask scheduler greets first)",
        ) from None
    except asyncio.IncompleteReadError as error:
        said = f" after {error.partial[:40]!r}" if error.partial else " without a word"
        raise ExecutorStartError(
            address, f"the other end closed the connection{said} (not a dask scheduler)"
        ) from None
    except OSError as error:
        raise ExecutorStartError(address, error.strerror or str(error)) from None
    if b"compression" not in body and b"pickle-protocol" not in body:
        raise ExecutorStartError(address, _not_dask(header + body))


def _not_dask(said: bytes) -> str:
    return f"it answered, but not as a dask scheduler does (it sent {said[:40]!r})"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


async def allowed_failures(client: Any, timeout: float) -> int | None:
    """The scheduler's ``allowed-failures``: how often it reruns a task whose worker died on
    its own (None when it cannot be asked)."""
    try:
        value = await asyncio.wait_for(
            client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures),
            timeout,
        )
    except Exception:
        return None
    return value if isinstance(value, int) else None


def warn(text: str) -> None:
    print(f"flowmancer: warning: {text}", file=sys.stderr)
