"""Little Dan at work: the Agent as ``edge-dan run`` keeps it, and what other commands ask of it.

``AgentService`` starts the ``Agent`` on the owner's networks, logs what happens (``EventLog``),
answers invitations by the owner's policy (``strategy_for`` within ``Policy``; in mode ``ask`` the
owner approves each commitment), and carries out the requests of ``pair`` and ``negotiate``. The
same service runs behind the control socket (``edge-dan run``) and inside a command that starts
the agent for its own duration, so both paths behave alike: requests talk to the owner through an
``Exchange`` (the socket, or the terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from edge_dan.agent import Agent, AgentError
from edge_dan.agent.pairing import PAIRING_TIMEOUT
from edge_dan.agent.values import strategy_for
from edge_dan.cli import pair_modes
from edge_dan.cli.control_protocol import Request
from edge_dan.cli.outcome_text import summarise
from edge_dan.cli.pair_modes import PairingFailed
from edge_dan.discovery.directory import Added, PeerEntry, Removed
from edge_dan.errors import EdgeDanError, UsageError
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace, TextIssue, Value
from edge_dan.negotiation.strategy import LittleDan, Policy
from edge_dan.owner import Owner
from edge_dan.owner.errors import PeerNameError
from edge_dan.owner.peers import Peer, check_name
from edge_dan.wire.messages.negotiation import NegotiationProtocol

if TYPE_CHECKING:
    from edge_dan.agent.networks import Network
    from edge_dan.model import ValueModel
    from edge_dan.negotiation.protocols.core import ApprovalNeeded

POLL = 0.1  # seconds between looks at the store while a pairing finishes
OPTION_ISSUE = "option"  # the issue --option texts make


class Exchange(Protocol):
    """How a request talks to the owner who made it."""

    async def progress(self, event: dict[str, Any]) -> None: ...

    async def ask(self, question: dict[str, Any], timeout: float) -> dict[str, Any] | None: ...


Approve = Callable[[dict[str, Any]], Awaitable[bool]]


@dataclass
class _PairingAsk:
    """Who answers the next pairing question, and what they answered."""

    exchange: Exchange
    yes: bool
    name: str | None
    answered: asyncio.Event
    peer_fingerprint: str | None = None
    accepted: bool = False
    code: str | None = None  # the six digits shown, returned with the result


class AgentService:
    def __init__(
        self,
        owner: Owner,
        *,
        networks: Sequence[Network],
        log: Callable[..., None],
        model: ValueModel | None,
        policy: Policy,
        approve: Approve | None = None,
    ) -> None:
        self.owner = owner
        self.model = model
        self.policy = policy
        self._log = log
        self._approve = approve
        self._asking: _PairingAsk | None = None
        self._approving = asyncio.Lock()
        self.agent = Agent(
            owner,
            networks=networks,
            on_agenda=self._on_agenda,
            on_approval=self._on_approval,
            on_pairing=self._on_pairing,
            value_model=model,
        )
        self._tasks: list[asyncio.Task[None]] = []
        # The control socket is bound before the agent starts (it is the home's lock, taken
        # before any network is touched), so a request may arrive while the agent is still
        # starting: it waits for this instead of finding no network to act on.
        self._started = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.agent.start()
        self._tasks = [
            asyncio.create_task(self._follow_directory()),
            asyncio.create_task(self._follow_results()),
        ]
        networks = ",".join(network.transport for network in self.agent.networks)
        self._log("started", fingerprint=self.agent.identity.fingerprint, networks=networks)
        self._started.set()

    async def stop(self) -> None:
        self._log("stopping")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.agent.stop()

    async def _follow_directory(self) -> None:
        async for event in self.agent.events():
            entry = event.entry
            if isinstance(event, Added) and entry.partner:
                self._log("partner-seen", name=entry.name, via=entry.preferred.transport)
            elif isinstance(event, Removed) and entry.partner:
                self._log("partner-lost", name=entry.name)
            elif isinstance(event, Added) and entry.open_to_pairing:
                self._log("stranger-open-to-pairing-seen", via=entry.preferred.transport)

    async def _follow_results(self) -> None:
        while True:
            result = await self.agent.negotiations.results.get()
            if result.accord is not None:
                self._log("negotiation-agreed", accord=result.accord.id.hex())
            else:
                code = "" if result.failure is None else result.failure.code.name.lower()
                self._log("negotiation-failed", negotiation=result.negotiation_id.hex(), why=code)

    # -- answering partners --------------------------------------------------------------------

    def _on_agenda(self, peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        del title  # the topic stays out of the log
        self._log("negotiation-invited", by=peer.name, outcomes=space.cardinality)
        texts = any(isinstance(issue, TextIssue) for issue in space.issues)
        if texts and self.model is None:
            self._log("negotiation-declined", by=peer.name, why="no value model to judge options")
            return None
        try:
            strategy = strategy_for(self.owner, space, self.model, policy=self.policy)
        except (EdgeDanError, ValueError) as exc:
            self._log("negotiation-declined", by=peer.name, why=type(exc).__name__)
            return None
        self._log("negotiation-joined", by=peer.name)
        return strategy

    async def _on_approval(self, negotiation_id: bytes, request: ApprovalNeeded) -> bool:
        if self._approve is None:
            return False
        question = {"negotiation": negotiation_id.hex(), "outcome": list(request.outcome)}
        async with self._approving:  # one question on the terminal at a time
            approved = await self._approve(question)
        self._log("negotiation-approved" if approved else "negotiation-declined-by-owner")
        return approved

    async def _on_pairing(self, code: str, peer_fingerprint: str) -> str | None:
        asking = self._asking
        if asking is None or asking.answered.is_set():
            self._log("pairing-refused", fingerprint=peer_fingerprint, why="nobody to ask")
            return None
        name = await self._ask_owner(asking, code, peer_fingerprint)
        asking.peer_fingerprint = peer_fingerprint
        asking.accepted = name is not None
        asking.answered.set()
        return name

    async def _ask_owner(self, asking: _PairingAsk, code: str, peer: str) -> str | None:
        question = {"question": "pair", "code": code, "fingerprint": peer}
        asking.code = code
        if asking.yes:
            await asking.exchange.progress({"event": "code", **question, "confirmed": True})
            wanted = asking.name
        else:
            answer = await asking.exchange.ask(question, PAIRING_TIMEOUT)
            wanted = None if answer is None else answer.get("name")
            if not isinstance(wanted, str):
                self._log("pairing-declined", fingerprint=peer)
                return None
        return self.free_name(wanted or f"partner {peer[:9]}")

    def log(self, event: str, **fields: object) -> None:
        self._log(event, **fields)

    def free_name(self, wanted: str) -> str | None:
        """``wanted`` if no partner has it, else with a number added; None if unusable."""
        try:
            name = check_name(wanted)
        except PeerNameError:
            return None
        taken = {peer.name.casefold() for peer in self.owner.peers.list()}
        candidate, number = name, 2
        while candidate.casefold() in taken:
            candidate, number = f"{name[:60]} {number}", number + 1
        return candidate

    # -- requests ------------------------------------------------------------------------------

    async def handle(self, request: Request, exchange: Exchange) -> dict[str, Any]:
        args = request.args
        await self._started.wait()  # the process exits if starting fails; nothing waits forever
        if request.op == "status":
            return self.status()
        if request.op == "pair_open":
            return await self.pair_open(args["seconds"], exchange, args["yes"], args["name"])
        if request.op == "pair_with":
            return await self.pair_with(
                args["peer"], args["wait"], exchange, args["yes"], args["name"]
            )
        if request.op == "negotiate":
            return await self.negotiate(exchange, **args)
        if request.op in ("pair_qr", "pair_code"):
            shown: pair_modes.Method = "qr" if request.op == "pair_qr" else "code"
            return await pair_modes.offer(self, exchange, shown, **args)
        if request.op in ("pair_scan", "pair_code_entry"):
            typed: pair_modes.Method = "qr" if request.op == "pair_scan" else "code"
            return await pair_modes.join(self, exchange, typed, **args)
        raise UsageError(f"unknown operation {request.op!r}")  # pragma: no cover (decoded)

    def status(self) -> dict[str, Any]:
        entries = self.agent.directory.entries()
        return {
            "fingerprint": self.agent.identity.fingerprint,
            "networks": [network.transport for network in self.agent.networks],
            "partners_nearby": sorted(e.name or "" for e in entries if e.partner),
            "strangers_nearby": len([e for e in entries if not e.partner]),
            "pairing_open": self._asking is not None,
        }

    def _new_failure(self, before: object) -> BaseException | None:
        failures = self.agent.failures
        if failures and failures[-1] is not before and failures[-1].kind == "pairing":
            return failures[-1].error
        return None

    async def pair_open(
        self, seconds: float, exchange: Exchange, yes: bool = False, name: str | None = None
    ) -> dict[str, Any]:
        """Open to pairing for ``seconds``; the first stranger who pairs is asked about."""
        if self._asking is not None:
            raise UsageError("pairing is open already (another 'edge-dan pair' holds it)")
        asking = _PairingAsk(exchange, yes, name, asyncio.Event())
        self._asking = asking
        before = self.agent.failures[-1] if self.agent.failures else None
        try:
            # Said before the advert goes out: a stranger may pair while it is being published.
            await exchange.progress({"event": "pairing_open", "seconds": seconds})
            self._log("pairing-opened", seconds=seconds)
            await self.agent.open_to_pairing(seconds)
            try:
                async with asyncio.timeout(seconds):
                    await asyncio.shield(asking.answered.wait())
            except TimeoutError:
                raise PairingFailed(
                    f"nobody paired within {seconds:g} s; nothing changed"
                ) from None
            return await self._finish(asking, before)
        finally:
            self._asking = None
            with contextlib.suppress(AgentError):
                await self.agent.close_pairing()
            self._log("pairing-closed")

    async def _finish(self, asking: _PairingAsk, before: object) -> dict[str, Any]:
        """Wait for the pairing the owner answered to end: kept in the store, or failed."""
        if not asking.accepted:
            raise PairingFailed("you declined; nothing was kept")
        assert asking.peer_fingerprint is not None
        async with asyncio.timeout(PAIRING_TIMEOUT):
            while True:
                wanted = asking.peer_fingerprint
                peer = next((p for p in self.owner.peers.list() if p.fingerprint == wanted), None)
                if peer is not None:
                    return self._paired(peer, asking)
                failure = self._new_failure(before)
                if failure is not None:
                    self._log("pairing-failed", why=type(failure).__name__)
                    raise PairingFailed(f"the pairing did not complete: {failure}")
                await asyncio.sleep(POLL)
        raise AssertionError("unreachable")  # pragma: no cover

    def _paired(self, peer: Peer, asking: _PairingAsk) -> dict[str, Any]:
        self._log("pairing-completed", name=peer.name, fingerprint=peer.fingerprint)
        return {"paired": {"name": peer.name, "fingerprint": peer.fingerprint, "code": asking.code}}

    async def pair_with(
        self,
        wanted: str | None,
        wait: float,
        exchange: Exchange,
        yes: bool = False,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Pair with a stranger nearby whose owner opened pairing (``wanted`` as ``peers``
        lists it: its key, the start of its token, or its address; None: the only one)."""
        await exchange.progress({"event": "looking", "seconds": wait})
        try:
            entry = await self._wait_for_offer(wanted, wait)
        except TimeoutError:
            raise PairingFailed(
                f"no stranger open to pairing{'' if wanted is None else ' matching that'} was"
                f" seen within {wait:g} s; its owner runs 'edge-dan pair --open' first"
            ) from None
        asking = _PairingAsk(exchange, yes, name, asyncio.Event())
        before = self.agent.failures[-1] if self.agent.failures else None
        self._log("pairing-started", via=entry.preferred.transport)

        async def ask_owner(code: str, peer_fingerprint: str) -> str | None:
            answer = await self._ask_owner(asking, code, peer_fingerprint)
            asking.peer_fingerprint, asking.accepted = peer_fingerprint, answer is not None
            asking.answered.set()
            return answer

        try:
            peer = await self.agent.pair(entry.key, ask_owner)
        except AgentError as exc:
            if asking.answered.is_set() and not asking.accepted:
                raise PairingFailed("you declined; nothing was kept") from None
            failure = self._new_failure(before)
            self._log("pairing-failed", why=type(failure or exc).__name__)
            raise PairingFailed(f"the pairing did not complete: {failure or exc}") from None
        return self._paired(peer, asking)

    async def _wait_for_offer(self, wanted: str | None, wait: float) -> PeerEntry:
        async with asyncio.timeout(wait):
            while (entry := self._offer(wanted)) is None:
                await asyncio.sleep(POLL)  # the directory is in memory: a look costs nothing
        return entry

    def _offer(self, wanted: str | None) -> PeerEntry | None:
        offers = [e for e in self.agent.directory.entries() if not e.partner and e.open_to_pairing]
        if wanted is None:
            if len(offers) > 1:
                raise UsageError(
                    f"{len(offers)} strangers nearby are open to pairing; name one as"
                    " 'edge-dan peers --json' lists it (its key)"
                )
            return offers[0] if offers else None
        token = wanted.removeprefix("stranger:").lower()
        for entry in offers:
            addresses = {link.address for link in entry.links.values()}
            if wanted in addresses or entry.key == wanted:
                return entry
            if len(token) >= 8 and entry.key.removeprefix("stranger:").startswith(token):
                return entry
        return None

    # -- negotiating ---------------------------------------------------------------------------

    async def negotiate(
        self,
        exchange: Exchange,
        *,
        topic: str,
        options: list[str],
        issues: dict[str, list[str]],
        partners: list[str],
        deadline: float,
        protocol: str,
        wait: float,
    ) -> dict[str, Any]:
        """Negotiate ``topic`` with the named partners; the outcome in the owner's terms."""
        peers = [self.owner.peers.find(wanted) for wanted in partners]
        if len({p.identity_key for p in peers}) != len(peers):
            raise UsageError("a partner is named twice")
        space, tables = self._space(options, issues)
        if self.model is None and options:
            raise UsageError("free-text options need the value model; it is not loaded")
        strategy = strategy_for(self.owner, space, self.model, tables=tables, policy=self.policy)
        names = [peer.name for peer in peers]
        await exchange.progress({"event": "waiting", "partners": names})
        for peer in peers:
            try:
                await self.agent.wait_for_partner(peer.identity_key, timeout=wait)
            except TimeoutError:
                raise AgentError(
                    f"{peer.name} was not seen nearby within {wait:g} s; is its agent running?"
                ) from None
        await exchange.progress({"event": "negotiating", "partners": names})
        self._log("negotiation-started", partners=len(peers))
        chosen = (
            NegotiationProtocol.ALTERNATING_OFFERS
            if protocol == "ao"
            else NegotiationProtocol.MEDIATED
        )
        keys = [p.identity_key for p in peers]
        result = await self.agent.negotiate(
            keys, topic, space, strategy, timeout=deadline, protocol=chosen
        )
        return summarise(
            self.owner, self.model, strategy=strategy, topic=topic, partners=names, result=result
        )

    @staticmethod
    def _space(
        options: list[str], issues: dict[str, list[str]]
    ) -> tuple[OutcomeSpace, dict[str, dict[Value, float]]]:
        """The outcome space of the request, and the owner's scores for the listed issues (each
        issue's values are listed from the most to the least preferred)."""
        if not options and not issues:
            raise UsageError("give what to decide: --option TEXT (two or more) or --issue NAME=A,B")
        if options and len(options) < 2:
            raise UsageError("give at least two --option texts to choose between")
        built: list[TextIssue | DiscreteIssue] = []
        tables: dict[str, dict[Value, float]] = {}
        try:
            if options:
                built.append(TextIssue(OPTION_ISSUE, tuple(options)))
            for name, values in issues.items():
                built.append(DiscreteIssue(name, tuple(values)))
                count = len(values)
                tables[name] = {v: (count - i) / count for i, v in enumerate(values)}
            return OutcomeSpace(built), tables
        except NegotiationError as exc:
            raise UsageError(str(exc)) from None
