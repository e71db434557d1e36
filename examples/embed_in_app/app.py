"""An asyncio app with a Little Dan inside, on edge_dan's public API (README.md here explains it).

    export EDGE_DAN_PASSPHRASE='...'                          # a real app: the OS keystore
    python examples/embed_in_app/app.py --home ./ana-app --open-pairing 120
    python examples/embed_in_app/app.py --home ./ana-app \\
        --negotiate Saturday --option "Cook for grandma" --option "Go clubbing" --with Ben

It opens the owner's store (creating it the first time), starts the agent on the LAN, prints one
line per event (a partner nearby or gone, a pairing code, an approval, an accord), answers its
partners' negotiations by the owner's values, signs nothing without ``approve`` saying yes, and
stops cleanly on SIGINT or SIGTERM: goodbye on the network, sessions closed, store closed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from edge_dan import (
    Added,
    Agent,
    ApprovalNeeded,
    EdgeDanError,
    LanNetwork,
    LittleDan,
    Mode,
    OutcomeSpace,
    Owner,
    Peer,
    Policy,
    Removed,
    TextIssue,
    ValueModel,
    strategy_for,
)
from edge_dan.errors import StoreNotFound

# Mode.ASK: Little Dan negotiates by the owner's values but signs nothing until `approve` says yes.
POLICY = Policy(mode=Mode.ASK)
SIGN_FROM = 0.5  # the owner's rule in this example: sign what is worth at least half their best
ANSWER_SECONDS = 60.0  # an owner who does not answer a pairing code in time declines


def log(event: str, **fields: object) -> None:
    """One line per event on stdout; the app's screen, in a real app."""
    print(event, *(f"{key}={value}" for key, value in fields.items()), flush=True)


def worth_signing(terms: tuple[object, ...], utility: float) -> bool:
    """The app's approval policy, consulted before every signature.

    A real app shows ``terms`` to its owner here and waits for a tap on "Sign" or "Decline".
    This example stands in for the owner with a fixed rule: sign an outcome that Little Dan,
    judging by the owner's values, rates at least SIGN_FROM (0 is the worst outcome on the
    table for them, 1 the best).
    """
    del terms  # the rule looks at the rating only; a person would read the terms
    return utility >= SIGN_FROM


class App:
    def __init__(self, owner: Owner, model: ValueModel, interfaces: list[str] | None) -> None:
        self.owner = owner
        self.model = model
        self.agent = Agent(
            owner,
            networks=[LanNetwork(interfaces=interfaces)],
            on_agenda=self.on_agenda,  # a partner invites us to decide something
            on_approval=self.approve,  # Little Dan wants to sign: may it?
            on_pairing=self.confirm_pairing,  # a stranger pairs: do the digits match?
            value_model=model,
        )

    def strategy(self, space: OutcomeSpace) -> LittleDan:
        """The owner's negotiator: options judged privately by their values, harm a red line."""
        return strategy_for(self.owner, space, self.model, policy=POLICY)

    def on_agenda(self, peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        log("negotiation-invited", by=peer.name, topic=repr(title))
        return self.strategy(space)  # None would decline

    async def approve(self, negotiation_id: bytes, request: ApprovalNeeded) -> bool:
        sign = worth_signing(request.outcome, request.utility)
        terms = " / ".join(str(value) for value in request.outcome)
        log("approval", terms=repr(terms), rating=f"{request.utility:.2f}", sign=sign)
        return sign

    async def confirm_pairing(self, code: str, fingerprint: str) -> str | None:
        """Numeric comparison: only the owner can see that both devices show the same digits."""
        log("pairing-code", code=code, fingerprint=fingerprint)
        print("Same six digits on the other device? Their name to pair, Enter to decline:")
        try:
            answer = await asyncio.wait_for(read_line(), ANSWER_SECONDS)
        except TimeoutError:
            answer = ""
        return answer.strip() or None  # the name to keep the partner under, or decline

    async def watch_nearby(self) -> None:
        async for event in self.agent.events():
            entry = event.entry
            if isinstance(event, Added) and entry.partner:
                log("partner-nearby", name=entry.name)
            elif isinstance(event, Removed) and entry.partner:
                log("partner-gone", name=entry.name)
            elif isinstance(event, Added) and entry.open_to_pairing:
                log("stranger-open-to-pairing")

    async def watch_results(self) -> None:
        """Every negotiation's end, ours or a partner's: the accord is already in the store."""
        while True:
            result = await self.agent.negotiations.results.get()
            if result.accord is None:
                log("no-agreement", why=result.failure.code.name if result.failure else "")
                continue
            result.accord.verify()  # every party's signature, offline
            log("accord-signed", id=result.accord.id.hex(), terms=result.accord.terms)

    async def negotiate(self, partner: str, topic: str, options: list[str]) -> None:
        """The owner asks: decide ``topic`` with ``partner`` among ``options``."""
        try:
            peer = self.owner.peers.find(partner)
            await self.agent.wait_for_partner(peer.identity_key, timeout=60)
            space = OutcomeSpace([TextIssue("plan", tuple(options))])
            await self.agent.negotiate([peer.identity_key], topic, space, self.strategy(space))
        except (EdgeDanError, TimeoutError) as exc:  # its end is logged by watch_results
            log("negotiation-not-started", why=repr(str(exc) or "partner not seen nearby"))


async def read_line() -> str:
    """A line from stdin without blocking the event loop (a daemon thread: an unanswered
    question must not keep the app from exiting)."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def deliver(text: str) -> None:
        if not line.done():
            line.set_result(text)

    def read() -> None:
        text = sys.stdin.readline()
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(deliver, text)

    threading.Thread(target=read, daemon=True).start()
    return await line


async def serve(app: App, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    async with app.agent:  # start: advertise, listen; at the end: goodbye, sessions closed
        log("started", fingerprint=app.agent.identity.fingerprint)
        tasks = [asyncio.create_task(app.watch_nearby()), asyncio.create_task(app.watch_results())]
        if args.open_pairing:
            await app.agent.open_to_pairing(args.open_pairing)
            log("pairing-open", seconds=args.open_pairing)
        if args.negotiate:
            asked = app.negotiate(args.with_, args.negotiate, args.option)
            tasks.append(asyncio.create_task(asked))
        await stop.wait()
        log("stopping")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def open_or_create(home: Path, passphrase: str) -> Owner:
    """The owner's encrypted store: opened, or created (with the agent's identity) at first run."""
    try:
        return Owner.open(home, passphrase)
    except StoreNotFound:
        return Owner.create(home, passphrase)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="the owner's store")
    parser.add_argument("--interface", action="append", help="mDNS interface (default: all)")
    parser.add_argument("--open-pairing", type=float, metavar="SEC", help="open pairing for SEC")
    parser.add_argument("--negotiate", metavar="TOPIC", help="decide TOPIC with --with")
    parser.add_argument("--option", action="append", default=[], help="an option (two or more)")
    parser.add_argument("--with", dest="with_", metavar="PARTNER", help="the partner's name")
    args = parser.parse_args()
    if args.open_pairing is not None and not 0 < args.open_pairing <= 3600:  # nan too
        parser.error("--open-pairing takes a number of seconds, at most 3600")
    if args.negotiate and (not args.with_ or len(args.option) < 2):
        parser.error("--negotiate needs --with PARTNER and two or more --option")
    passphrase = os.environ.get("EDGE_DAN_PASSPHRASE")
    if not passphrase:
        parser.error("set EDGE_DAN_PASSPHRASE (a real app asks, or uses the OS keystore)")
    try:
        owner = open_or_create(args.home, passphrase)
    except EdgeDanError as exc:  # wrong passphrase, damaged store: say so, change nothing
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with owner:  # closed last, whatever happens above it
        asyncio.run(serve(App(owner, ValueModel.load(), args.interface), args))
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
