"""1,000 simultaneous negotiations of 5 agents in one process: time and peak memory.

Two runs of the same negotiations, side by side (each in its own child process, so peak memory
is its own):

- ``cores``: the sans-IO protocol cores alone, messages handed over as they are (the reference:
  what the negotiation itself costs);
- ``sessions``: every agent pair holds a real Noise session (XX handshake with identity binding)
  on the in-memory link, and every negotiation message travels encrypted through it.

All negotiations are in flight at once: one global queue interleaves their messages. Profiles are
drawn from the party domain (33 real people's profiles) vendored in
``tests/data/negotiation/domains``.

    python bench/scale.py                  # 1,000 negotiations of 5 agents
    python bench/scale.py --negotiations 200 --parties 8
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from edge_dan.identity import Identity
from edge_dan.negotiation.formats.genius import load_scenario
from edge_dan.negotiation.protocols.core import Agreed, Party
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.transports.memory import MemoryLink
from edge_dan.wire.core import Incoming
from edge_dan.wire.messages import Message
from edge_dan.wire.session import MessageReceived, Role, Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from negotiation import DOMAINS

DOMAIN = DOMAINS / "genius_partydomain"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(mode: str, negotiations: int, parties: int, seed: int) -> dict[str, float]:
    scenario = load_scenario(DOMAIN)
    profiles = list(scenario.profiles.values())
    rng = random.Random(seed)
    base_rss = peak_rss_mb()
    start = time.perf_counter()
    # Every agent of every negotiation is its own identity, as on real devices.
    groups: list[tuple[Mediator, dict[bytes, Party]]] = []
    links: dict[tuple[int, bytes], MemoryLink] = {}  # (negotiation, participant) -> link
    for n in range(negotiations):
        chosen = rng.sample(profiles, parties)
        ids = [Identity.generate() for _ in range(parties)]
        mediator = Mediator(
            ids[0],
            LittleDan(chosen[0]),
            [i.public_key for i in ids[1:]],
            negotiation_id=n.to_bytes(16, "big"),
            deadline=10_000.0,
        )
        members: dict[bytes, Party] = {ids[0].public_key: mediator}
        for identity, profile in zip(ids[1:], chosen[1:], strict=True):
            members[identity.public_key] = Participant(identity, LittleDan(profile))
            if mode == "sessions":
                link = MemoryLink(
                    Session(Role.INITIATOR, ids[0], now=0.0),
                    Session(Role.RESPONDER, identity, now=0.0),
                )
                link.pump()  # the handshake
                links[(n, identity.public_key)] = link
        groups.append((mediator, members))
    setup = time.perf_counter() - start

    queue: deque[tuple[int, bytes, bytes, Message]] = deque()  # (negotiation, from, to, what)
    now = 0.0
    messages = 0

    def collect(n: int, party: Party) -> None:
        for out in party.take_outgoing():
            queue.append((n, party.public_key, out.recipient, out.message))

    for n, (mediator, _) in enumerate(groups):
        mediator.start(0)
        collect(n, mediator)
    while queue:
        n, sender, recipient, message = queue.popleft()
        now += 0.001
        messages += 1
        mediator, members = groups[n]
        if mode == "sessions":
            # Through the encrypted session between the mediator and that participant.
            outer = recipient if recipient != mediator.public_key else sender
            link = links[(n, outer)]
            there, events = (
                (link.a, link.events_b)
                if sender == mediator.public_key
                else (link.b, link.events_a)
            )
            there.send(message)
            link.pump()
            received = [e for e in events if isinstance(e, MessageReceived)]
            events.clear()
            message = received[-1].message
        party = members[recipient]
        party.receive(Incoming(sender, message), now)
        collect(n, party)
    elapsed = time.perf_counter() - start
    agreed = sum(
        any(isinstance(e, Agreed) for e in mediator.take_events()) or mediator.accord is not None
        for mediator, _ in groups
    )
    return {
        "negotiations": negotiations,
        "parties": parties,
        "agreed": agreed,
        "messages": messages,
        "setup_s": round(setup, 2),
        "total_s": round(elapsed, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_growth_mb": round(peak_rss_mb() - base_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--negotiations", type=int, default=1000)
    parser.add_argument("--parties", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=["cores", "sessions"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:  # a child run: print one JSON line
        print(json.dumps(run(args.mode, args.negotiations, args.parties, args.seed)))
        return
    results = {}
    for mode in ("cores", "sessions"):
        child = subprocess.run(
            [sys.executable, __file__, "--mode", mode, "--negotiations", str(args.negotiations),
             "--parties", str(args.parties), "--seed", str(args.seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"{args.negotiations} simultaneous negotiations of {args.parties} agents, one process")
    print(
        f"{'':10} {'agreed':>7} {'messages':>9} {'setup s':>8} {'total s':>8} {'peak RSS MB':>12}"
    )
    for mode, r in results.items():
        print(
            f"{mode:10} {r['agreed']:>7} {r['messages']:>9} {r['setup_s']:>8} {r['total_s']:>8}"
            f" {r['peak_rss_mb']:>12}"
        )
    ratio = results["sessions"]["total_s"] / max(results["cores"]["total_s"], 1e-9)
    print(f"sessions / cores time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
