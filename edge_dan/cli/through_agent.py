"""A request to the agent, running or not: how ``pair`` and ``negotiate`` reach Little Dan.

If an agent runs on the home (``edge-dan run``: its control socket answers), the request goes to
it and the command relays its progress and questions. Otherwise the command starts the agent
itself on the LAN for the request's duration and stops it after; the owner sees the same lines
either way, because both paths run the same ``AgentService`` code.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from edge_dan.cli.context import Context
from edge_dan.cli.control_client import Ask, Progress, call, running_agent
from edge_dan.cli.control_protocol import Request
from edge_dan.cli.event_log import EventLog

if TYPE_CHECKING:
    from edge_dan.agent.networks import Network
    from edge_dan.cli.agent_service import AgentService
    from edge_dan.model import ValueModel


class _TerminalExchange:
    """The request's owner is this process: progress and questions go straight to them."""

    def __init__(self, on_progress: Progress, on_ask: Ask) -> None:
        self._on_progress = on_progress
        self._on_ask = on_ask

    async def progress(self, event: dict[str, Any]) -> None:
        self._on_progress(event)

    async def ask(self, question: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        # A daemon thread, not the loop's executor: a question left unanswered must not keep
        # the process alive once the request gave up on it.
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[dict[str, Any] | None] = loop.create_future()

        def read() -> None:
            try:
                value = self._on_ask(question)
            except (EOFError, OSError):
                value = None
            loop.call_soon_threadsafe(_settle, answer, value)

        threading.Thread(target=read, daemon=True).start()
        try:
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            print("\nNo answer in time: declined.", file=sys.stderr)
            return None


def _settle(answer: asyncio.Future[dict[str, Any] | None], value: dict[str, Any] | None) -> None:
    if not answer.done():  # not given up on meanwhile
        answer.set_result(value)


def networks_for(
    interfaces: Sequence[str] | None, ble: bool, hci_transport: str | None = None
) -> list[Network]:
    """The LAN on ``interfaces`` (default: all) and, with ``ble``, Bluetooth LE on the OS's
    stack or, given ``hci_transport``, on that controller driven by bumble."""
    from edge_dan.agent.networks import LanNetwork

    chosen: list[Network] = [LanNetwork(interfaces=list(interfaces) if interfaces else None)]
    if ble or hci_transport:
        from edge_dan.agent.ble_network import BleNetwork

        chosen.append(BleNetwork.for_platform(hci_transport))
    return chosen


def through_agent(
    ctx: Context,
    request: Request,
    *,
    on_progress: Progress,
    on_ask: Ask,
    needs_model: bool = False,
    interfaces: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Carry out ``request`` through the running agent, or through one started for it."""
    path = running_agent(ctx.home)
    if path is not None:
        ctx.note("Through the agent running on this home.")
        return call(path, request, on_progress=on_progress, on_ask=on_ask)
    model = _load_model() if needs_model else None
    with ctx.open_owner() as owner:
        from edge_dan.cli.agent_service import AgentService
        from edge_dan.negotiation.strategy import Policy

        ctx.note("No agent runs on this home: starting one for this command.")
        service = AgentService(
            owner,
            networks=networks_for(interfaces, ble=False),
            log=EventLog(as_json=True, stream=sys.stderr) if ctx.debug else _quiet,
            model=model,
            policy=Policy(),
        )
        return asyncio.run(_once(service, request, _TerminalExchange(on_progress, on_ask)))


async def _once(
    service: AgentService, request: Request, exchange: _TerminalExchange
) -> dict[str, Any]:
    await service.start()
    try:
        return await service.handle(request, exchange)
    finally:
        await service.stop()


def _quiet(event: str, **fields: object) -> None:
    del event, fields


def _load_model() -> ValueModel:
    from edge_dan.model import ValueModel

    return ValueModel.load()
