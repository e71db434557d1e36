"""The running agent's control socket: ``HOME/control.sock``, the owner's only.

Created with mode 0600 (the umask is set around ``bind``, then the mode is checked), and each
connecting process's uid is checked too (``SO_PEERCRED``, Linux), so another local user can
neither connect nor read what the agent answers. A socket file left by an agent that was killed
refuses connections: it is recognised as stale and replaced; one that still answers means an
agent is running on this home, and a second one is refused. The file is removed on stop.

One request per connection (``edge_dan.cli.control_protocol``); the handler streams progress and
questions through an ``Exchange`` and returns the result. A bad request, a client that goes
away, or a handler's ``EdgeDanError`` ends that connection with an error line; the agent goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edge_dan.cli.control_protocol import (
    AgentUnreachable,
    BadMessage,
    LineBuffer,
    Request,
    decode_reply,
    decode_request,
    error_reply,
    reply,
)
from edge_dan.errors import EdgeDanError

SOCKET_NAME = "control.sock"
REQUEST_TIMEOUT = 10.0  # seconds a client has to send its request line
READ_CHUNK = 4096
INTERNAL_ERROR = 70


class AgentAlreadyRunning(EdgeDanError):
    """Another agent answers on this home's control socket."""


def socket_path(home: Path) -> Path:
    return home / SOCKET_NAME


class SocketExchange:
    """Progress and questions over one client connection (the handler's side)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lines = LineBuffer()
        self._ready: list[bytes] = []

    async def read_line(self, timeout: float) -> bytes:
        async with asyncio.timeout(timeout):
            while not self._ready:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    raise ConnectionResetError("the client closed the connection")
                self._ready.extend(self._lines.feed(data))
        return self._ready.pop(0)

    async def send(self, line: bytes) -> None:
        self._writer.write(line)
        await self._writer.drain()

    async def progress(self, event: dict[str, Any]) -> None:
        """Tell the client; a client that went away misses it (the work goes on)."""
        with contextlib.suppress(ConnectionError, OSError):
            await self.send(reply("progress", event))

    async def ask(self, question: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The client's answer to ``question``; None (a no) if it says no, goes away, sends
        something else, or does not answer within ``timeout``."""
        try:
            await self.send(reply("ask", question))
            kind, body = decode_reply(await self.read_line(timeout))
        except (ConnectionError, OSError, TimeoutError, BadMessage):
            return None
        return body if kind == "answer" and isinstance(body, dict) else None


Handler = Callable[[Request, SocketExchange], Awaitable[dict[str, Any]]]


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """The connecting process's uid (Linux ``SO_PEERCRED``); None where it cannot be read."""
    sock = writer.get_extra_info("socket")
    peercred = getattr(socket, "SO_PEERCRED", None)
    if sock is None or peercred is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def answers(path: Path) -> bool:
    """Whether something listens on the socket at ``path`` (a running agent)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def claim(path: Path) -> None:
    """Make room for our socket at ``path``: refuse if an agent answers there, remove a stale
    socket, and never remove anything that is not a socket."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise AgentUnreachable(f"{path} exists and is not a socket; move it away first")
    if answers(path):
        raise AgentAlreadyRunning(
            f"an agent is already running on this home (its control socket {path} answers);"
            " stop it first, or use it: 'edge-dan pair' and 'edge-dan negotiate' go through it"
        )
    path.unlink()  # stale: its agent was killed before it could remove it


MAX_SOCKET_PATH = 108  # sun_path on Linux, its final NUL included


class ControlServer:
    """Serve ``handle`` on ``HOME/control.sock`` while started."""

    def __init__(self, home: Path, handle: Handler, on_bug: Callable[[str], None]) -> None:
        self.path = socket_path(home)
        self._handle = handle
        self._on_bug = on_bug
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        claim(self.path)
        old = os.umask(0o177)  # the socket is born 0600: no window where others may connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        except OSError as exc:
            hint = ""
            if len(os.fsencode(self.path)) >= MAX_SOCKET_PATH:
                hint = f" (a socket path has under {MAX_SOCKET_PATH} bytes: give a shorter --home)"
            raise AgentUnreachable(
                f"cannot create the control socket {self.path}: {exc.strerror or exc}{hint}"
            ) from None
        finally:
            os.umask(old)
        info = self.path.lstat()
        self._inode = info.st_ino
        if stat.S_IMODE(info.st_mode) & 0o077:
            await self.stop()
            raise AgentUnreachable(f"{self.path} could not be made private (mode 0600)")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            # Only our own socket: a second agent's failed start must not remove the first's.
            if self.path.lstat().st_ino == self._inode:
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._answer(reader, writer)
        except asyncio.CancelledError:
            # The agent is stopping: the client hears so rather than a dropped line. Not
            # re-raised: Python 3.11's stream server logs a cancelled client task as an
            # unhandled error (a traceback in the owner's terminal on a clean Ctrl-C).
            stopping = AgentUnreachable("the agent stopped before it finished this request")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._send_quietly(SocketExchange(reader, writer), error_reply(stopping))
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        exchange = SocketExchange(reader, writer)
        uid = _peer_uid(writer)
        if uid is not None and uid != os.geteuid():
            await self._send_quietly(exchange, error_reply(AgentUnreachable("not your agent")))
            return
        try:
            request = decode_request(await exchange.read_line(REQUEST_TIMEOUT))
            result = await self._handle(request, exchange)
        except EdgeDanError as error:
            await self._send_quietly(exchange, error_reply(error))
        except (ConnectionError, TimeoutError):
            return  # the client went away or never asked anything
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: the client hears of it; the agent goes on
            self._on_bug(f"{type(exc).__name__}: {exc}")
            body = {"message": f"internal error: {type(exc).__name__}", "exit_code": INTERNAL_ERROR}
            await self._send_quietly(exchange, reply("error", body))
        else:
            await self._send_quietly(exchange, reply("result", result))

    @staticmethod
    async def _send_quietly(exchange: SocketExchange, line: bytes) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await exchange.send(line)


def report_bug(text: str) -> None:  # pragma: no cover - the default when no log is given
    print(f"edge-dan: internal error in a control request: {text}", file=sys.stderr)
