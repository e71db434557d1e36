"""The QR and typed-code pairings of ``edge-dan pair``, as the agent carries them out.

``pair --qr`` and ``pair --code`` open an offer on the agent (``Agent.offer_qr`` /
``offer_code``): the QR text (``EDGEDAN:1:...``) or the 8 digits go to the owner as progress, and
the request ends when a device paired, or with why not (expired, used by a device without the
secret, five wrong codes, declined). ``pair --scan-text`` and ``pair --code-entry`` pair from the
text or the digits (``Agent.pair_by_qr`` / ``pair_by_code``), looking for the showing device among
the strangers nearby open to pairing. Each owner names the other (``--yes --name``, or asked);
only when both agree is anything kept (``edge_dan.agent.pairing_offers``).

The code is shown to whoever asked for it (the terminal of ``pair --code``) and never written to
the agent's log: a log outlives the window and may be read by others.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Literal, Protocol

from edge_dan.agent import AgentError
from edge_dan.agent.pairing import PAIRING_TIMEOUT
from edge_dan.errors import EdgeDanError, UsageError
from edge_dan.owner.peers import Peer
from edge_dan.wire.errors import InvalidPairingPayload, PairingError

if TYPE_CHECKING:
    from edge_dan.agent import Agent
    from edge_dan.agent.pairing_offers import NamePeer

Method = Literal["qr", "code"]


class PairingFailed(EdgeDanError):
    """The pairing did not complete (declined by either owner, timed out, or broke off)."""


class Exchange(Protocol):
    """How a request talks to the owner who made it (``agent_service.Exchange``)."""

    async def progress(self, event: dict[str, Any]) -> None: ...

    async def ask(self, question: dict[str, Any], timeout: float) -> dict[str, Any] | None: ...


class AgentService(Protocol):
    """What these pairings use of ``agent_service.AgentService`` (which imports this module)."""

    agent: Agent

    def log(self, event: str, **fields: object) -> None: ...

    def free_name(self, wanted: str) -> str | None: ...


METHOD_WORDS = {"qr": "QR code", "code": "typed code"}


def namer(
    service: AgentService, exchange: Exchange, method: Method, yes: bool, name: str | None
) -> NamePeer:
    """How the owner names the device that paired: ``name`` under ``--yes``, else asked."""

    async def name_peer(fingerprint: str) -> str | None:
        if yes:
            await exchange.progress({"event": "naming", "fingerprint": fingerprint})
            wanted = name
        else:
            question = {"question": "name", "fingerprint": fingerprint, "method": method}
            answer = await exchange.ask(question, PAIRING_TIMEOUT)
            wanted = None if answer is None else answer.get("name")
            if not isinstance(wanted, str) or not wanted.strip():
                service.log("pairing-declined", fingerprint=fingerprint)
                return None
        return service.free_name(wanted or f"partner {fingerprint[:9]}")

    return name_peer


def _paired(service: AgentService, peer: Peer) -> dict[str, Any]:
    service.log("pairing-completed", name=peer.name, fingerprint=peer.fingerprint)
    return {"paired": {"name": peer.name, "fingerprint": peer.fingerprint, "method": peer.method}}


async def offer(
    service: AgentService,
    exchange: Exchange,
    method: Method,
    seconds: float,
    *,
    yes: bool = False,
    name: str | None = None,
) -> dict[str, Any]:
    """Show a QR code or open a code window for ``seconds``; the partner once one paired."""
    agent = service.agent
    name_peer = namer(service, exchange, method, yes, name)
    if method == "qr":
        shown = await agent.offer_qr(seconds, name_peer)
        event = {"event": "qr", "text": shown.text, "seconds": seconds}
    else:
        shown = await agent.offer_code(seconds, name_peer)
        event = {
            "event": "code_window",
            "code": shown.code,
            "seconds": seconds,
            "attempts": shown.attempts_left,
        }
    service.log("pairing-offered", method=method, seconds=seconds)
    try:
        await exchange.progress(event)
        try:
            peer = await shown.result()
        except PairingError as exc:
            service.log("pairing-failed", method=method, why=type(exc).__name__)
            raise PairingFailed(str(exc)) from None
        return _paired(service, peer)
    finally:
        with contextlib.suppress(AgentError):
            await agent.close_pairing()
        service.log("pairing-closed")


async def join(
    service: AgentService,
    exchange: Exchange,
    method: Method,
    secret: str,
    wait: float,
    *,
    yes: bool = False,
    name: str | None = None,
) -> dict[str, Any]:
    """Pair from a QR code's text or a typed code with the device showing it nearby."""
    name_peer = namer(service, exchange, method, yes, name)
    await exchange.progress({"event": "looking", "seconds": wait, "method": method})
    service.log("pairing-started", method=method)
    try:
        if method == "qr":
            peer = await service.agent.pair_by_qr(secret, name_peer, wait=wait)
        else:
            peer = await service.agent.pair_by_code(secret, name_peer, wait=wait)
    except InvalidPairingPayload as exc:
        raise UsageError(str(exc)) from None
    except (PairingError, AgentError) as exc:
        service.log("pairing-failed", method=method, why=type(exc).__name__)
        raise PairingFailed(str(exc)) from None
    return _paired(service, peer)
