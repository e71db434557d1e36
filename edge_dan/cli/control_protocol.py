"""The control socket's messages: newline-delimited JSON, checked strictly, with no I/O here.

One request per connection, a JSON object on one line::

    {"op": "pair_open", "args": {"seconds": 120}}

The agent answers with lines of its own, each a JSON object with exactly one key:
``progress`` (something happened; any number), ``ask`` (a question for the owner; the client
answers with one ``{"answer": {...}}`` line, or ``{"answer": null}`` to decline), then one final
``result`` or ``error`` line, after which the agent closes the connection.

Everything a peer sends is bounded (``MAX_LINE`` bytes a line) and checked against the operation's
fields before anything acts on it: a malformed request gets an ``error`` line, never a crash. The
socket is only the owner's (mode 0600, and the peer's uid is checked), but a bug in a script or a
half-written line must not take the agent down either.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_dan.errors import EdgeDanError, UsageError

MAX_LINE = 64 * 1024  # bytes in one line, newline included: far above any real request
MAX_TEXT = 1000  # characters in one text field (an option, a topic, a name)
MAX_ITEMS = 64  # entries in one list field (options, issue values, partners)
MAX_SECONDS = 24 * 3600.0


class BadMessage(UsageError):
    """A control line that is not what the protocol allows (says why, never echoes it)."""


class AgentUnreachable(EdgeDanError):
    """The running agent's control socket could not be used."""


def _text(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise BadMessage(f"expected text of 1 to {MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise BadMessage("text must not hold control characters")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadMessage("expected true or false")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadMessage("expected a number of seconds")
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise BadMessage(f"seconds must be above 0 and at most {MAX_SECONDS:.0f}")
    return seconds


def _texts(value: object) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
        raise BadMessage(f"expected a list of 1 to {MAX_ITEMS} texts")
    return [_text(item) for item in value]


def _optional_texts(value: object) -> list[str]:
    return [] if value == [] else _texts(value)


def _issues(value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict) or len(value) > MAX_ITEMS:
        raise BadMessage(f"issues: expected an object of at most {MAX_ITEMS} issues")
    return {_text(name): _texts(values) for name, values in value.items()}


def _protocol(value: object) -> str:
    if value not in ("mediated", "ao"):
        raise BadMessage("protocol must be 'mediated' or 'ao'")
    return str(value)


Check = Callable[[object], Any]
# Each operation's fields: name -> (check, default). A field without a default is required.
_REQUIRED = object()
OPERATIONS: Mapping[str, Mapping[str, tuple[Check, object]]] = {
    "status": {},
    "pair_open": {
        "seconds": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    "pair_with": {
        "peer": (_optional_text, None),
        "wait": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    # QR and typed-code pairing (edge_dan.cli.pair_modes): show/open, or pair from the secret.
    "pair_qr": {
        "seconds": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    "pair_code": {
        "seconds": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    "pair_scan": {
        "secret": (_text, _REQUIRED),
        "wait": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    "pair_code_entry": {
        "secret": (_text, _REQUIRED),
        "wait": (_seconds, _REQUIRED),
        "yes": (_flag, False),
        "name": (_optional_text, None),
    },
    "negotiate": {
        "topic": (_text, _REQUIRED),
        "options": (_optional_texts, []),
        "issues": (_issues, {}),
        "partners": (_texts, _REQUIRED),
        "deadline": (_seconds, _REQUIRED),
        "protocol": (_protocol, "mediated"),
        "wait": (_seconds, _REQUIRED),
    },
}


@dataclass(frozen=True)
class Request:
    op: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_line(self) -> bytes:
        return encode({"op": self.op, "args": self.args})


def _reject_constant(name: str) -> object:
    raise BadMessage(f"{name} is not a JSON number this protocol accepts")


def _object(line: bytes) -> dict[str, Any]:
    """One line as a JSON object (UTF-8, no NaN or Infinity, under ``MAX_LINE``)."""
    if len(line) > MAX_LINE:
        raise BadMessage(f"a control line may hold at most {MAX_LINE} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("a control line must be UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"not JSON ({exc.msg})") from None
    except RecursionError:  # deeply nested arrays: valid JSON, but not ours
        raise BadMessage("nested too deeply") from None
    if not isinstance(value, dict):
        raise BadMessage("a control line must be a JSON object")
    return value


def decode_request(line: bytes) -> Request:
    """The request on ``line``, every field checked; ``BadMessage`` otherwise."""
    value = _object(line)
    if set(value) - {"op", "args"}:
        raise BadMessage("a request holds only 'op' and 'args'")
    op = value.get("op")
    if not isinstance(op, str) or op not in OPERATIONS:
        raise BadMessage(f"unknown operation; known: {', '.join(sorted(OPERATIONS))}")
    given = value.get("args", {})
    if not isinstance(given, dict):
        raise BadMessage("'args' must be a JSON object")
    fields = OPERATIONS[op]
    unknown = set(given) - set(fields)
    if unknown:
        raise BadMessage(f"{op}: unknown field(s) {', '.join(sorted(map(repr, unknown)))[:200]}")
    args: dict[str, Any] = {}
    for name, (check, default) in fields.items():
        if name in given:
            try:
                args[name] = check(given[name])
            except BadMessage as exc:
                raise BadMessage(f"{op}: {name}: {exc}") from None
        elif default is _REQUIRED:
            raise BadMessage(f"{op}: {name} is required")
        else:
            args[name] = default
    return Request(op, args)


REPLY_KINDS = frozenset({"progress", "ask", "result", "error", "answer"})


def decode_reply(line: bytes) -> tuple[str, Any]:
    """A line from the other side after the request: (kind, body)."""
    value = _object(line)
    if len(value) != 1 or next(iter(value)) not in REPLY_KINDS:
        raise BadMessage(f"a reply holds exactly one of: {', '.join(sorted(REPLY_KINDS))}")
    kind, body = next(iter(value.items()))
    if kind in ("progress", "ask", "result") and not isinstance(body, dict):
        raise BadMessage(f"{kind} must be a JSON object")
    if kind == "error" and not (
        isinstance(body, dict)
        and isinstance(body.get("message"), str)
        and isinstance(body.get("exit_code"), int)
    ):
        raise BadMessage("error must hold a message and an exit_code")
    if kind == "answer" and body is not None and not isinstance(body, dict):
        raise BadMessage("answer must be a JSON object or null")
    return kind, body


def encode(value: Mapping[str, Any]) -> bytes:
    """One line of JSON (no NaN, ASCII-safe for any terminal it ends up on)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii") + b"\n"


def reply(kind: str, body: object) -> bytes:
    return encode({kind: body})


def error_reply(error: EdgeDanError) -> bytes:
    return reply("error", {"message": str(error), "exit_code": error.exit_code})


class LineBuffer:
    """Bytes in, complete lines out (without the newline); a line past ``MAX_LINE`` is refused
    as soon as it is known to be too long, not once it has all arrived."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._limit = limit
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._pending += data
        lines = []
        while (end := self._pending.find(b"\n")) >= 0:
            line = bytes(self._pending[:end])
            del self._pending[: end + 1]
            if len(line) >= self._limit:
                raise BadMessage(f"a control line may hold at most {self._limit} bytes")
            lines.append(line)
        if len(self._pending) >= self._limit:
            raise BadMessage(f"a control line may hold at most {self._limit} bytes")
        return lines
