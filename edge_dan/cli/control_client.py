"""Talking to a running agent through its control socket (blocking: one command, one request).

``call`` sends the request, hands each progress line and question to the caller, and returns
the final result or raises the agent's error with the agent's exit code.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_dan.cli.control_protocol import (
    AgentUnreachable,
    BadMessage,
    LineBuffer,
    Request,
    decode_reply,
    reply,
)
from edge_dan.cli.control_server import answers, socket_path
from edge_dan.errors import EdgeDanError

READ_CHUNK = 4096
Progress = Callable[[dict[str, Any]], None]
Ask = Callable[[dict[str, Any]], dict[str, Any] | None]


class AgentRefused(EdgeDanError):
    """The running agent answered with an error (its message and exit code)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def running_agent(home: Path) -> Path | None:
    """The control socket of the agent running on ``home``, or None if none answers."""
    path = socket_path(home)
    return path if path.exists() and answers(path) else None


def call(path: Path, request: Request, *, on_progress: Progress, on_ask: Ask) -> dict[str, Any]:
    """Send ``request`` to the agent at ``path``; its result (progress and questions on the way)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            conn.connect(str(path))
            conn.sendall(request.to_line())
        except OSError as exc:
            raise AgentUnreachable(f"cannot reach the running agent ({exc.strerror})") from None
        lines = LineBuffer()
        while True:
            try:
                data = conn.recv(READ_CHUNK)
            except OSError as exc:
                raise AgentUnreachable(f"lost the running agent ({exc.strerror})") from None
            if not data:
                raise AgentUnreachable("the running agent closed the connection without an answer")
            for line in lines.feed(data):
                try:
                    kind, body = decode_reply(line)
                except BadMessage as exc:
                    raise AgentUnreachable(f"the running agent sent a bad line: {exc}") from None
                if kind == "progress":
                    on_progress(body)
                elif kind == "ask":
                    conn.sendall(reply("answer", on_ask(body)))
                elif kind == "result":
                    result: dict[str, Any] = body
                    return result
                elif kind == "error":
                    raise AgentRefused(body["message"], body["exit_code"])
    finally:
        conn.close()
