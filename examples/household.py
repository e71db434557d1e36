"""A household of Little Dans decides its Saturday, offline, on this machine.

Three people (Ana, Ben and Caro) each have their own agent with its own encrypted store and value
profile. The agents find each other over mDNS (on the loopback interface of a private network
namespace when ``unshare`` allows one, so nothing reaches the real network), open Noise sessions,
and negotiate: what to do (free-text options, judged by each owner's values through the on-device
value model), the budget and the start time. Nobody's utility or profile leaves their agent.
Each owner has a red line and a reservation value the accord must respect; the accord is signed
by all three and kept in each store.

    python examples/household.py            # run by examples/quickstart.sh
    python examples/household.py --json     # the result as JSON

Pairing is the real ceremony: one owner opens pairing, the other's agent sees the offer over
mDNS, and both owners are shown the same six digits (numeric comparison over a Noise session);
here the demo answers yes for its owners, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_dan import (
    Agent,
    DiscreteIssue,
    KdfParams,
    LanNetwork,
    LittleDan,
    OutcomeSpace,
    Owner,
    RedLine,
    TextIssue,
    ValueModel,
    strategy_for,
)
from edge_dan.negotiation.domain.analysis import Analysis  # the metrics shown at the end

ACTIVITIES = (
    "Volunteer together at the community food bank",
    "Try the new escape room downtown",
    "A quiet picnic and a long walk in the park",
    "Visit grandma and cook lunch for her",
    "Watch the football final at a crowded pub",
)
BUDGETS = ("0 EUR", "20 EUR", "50 EUR")
STARTS = ("10:00", "14:00", "18:00")
SPACE = OutcomeSpace(
    [
        TextIssue("activity", ACTIVITIES),
        DiscreteIssue("budget", BUDGETS),
        DiscreteIssue("start", STARTS),
    ],
    name="Saturday",
)


@dataclass
class Member:
    name: str
    values: dict[str, float]  # the owner's value profile (the rest stay at 0.5)
    issue_weights: dict[str, float]
    budget: dict[str | int, float]
    start: dict[str | int, float]
    red_line: tuple[str, str, str]  # (issue, value, why)
    reservation: float
    owner: Owner | None = None  # the member's data, in their own encrypted store
    agent: Agent | None = None

    def strategy(self, space: OutcomeSpace, model: ValueModel) -> LittleDan:
        """The member's negotiator: activities judged by their values, their own tables for the
        budget and the start, their red line, their reservation value."""
        assert self.owner is not None
        issue, value, why = self.red_line
        position = space.issue_position(issue)
        line = RedLine.when(lambda outcome: outcome[position] == value, why)
        return strategy_for(
            self.owner,
            space,
            model,
            weights=self.issue_weights,
            tables={"budget": self.budget, "start": self.start},
            reservation=self.reservation,
            red_lines=(line,),
        )


HOUSEHOLD = (
    Member(
        name="Ana",
        values={"benevolence": 0.9, "universalism": 0.8, "hedonism": 0.4, "power": 0.1},
        issue_weights={"activity": 0.6, "budget": 0.2, "start": 0.2},
        budget={"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        start={"10:00": 3, "14:00": 2, "18:00": 1},
        red_line=("budget", "50 EUR", "Ana will not spend 50 EUR on one Saturday"),
        reservation=0.35,
    ),
    Member(
        name="Ben",
        values={"stimulation": 0.9, "hedonism": 0.8, "achievement": 0.6, "tradition": 0.2},
        issue_weights={"activity": 0.7, "budget": 0.1, "start": 0.2},
        budget={"0 EUR": 1, "20 EUR": 3, "50 EUR": 2},
        start={"10:00": 1, "14:00": 3, "18:00": 2},
        red_line=("start", "10:00", "Ben works nights: nothing before noon"),
        reservation=0.35,
    ),
    Member(
        name="Caro",
        values={"tradition": 0.9, "security": 0.8, "benevolence": 0.7, "stimulation": 0.2},
        issue_weights={"activity": 0.5, "budget": 0.3, "start": 0.2},
        budget={"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        start={"10:00": 2, "14:00": 3, "18:00": 1},
        red_line=("activity", ACTIVITIES[4], "Caro will not spend the day in a crowded pub"),
        reservation=0.35,
    ),
)


def owner_says_yes(me: str, say: Callable[[str], None]) -> Callable[..., Awaitable[str]]:
    """The member's side of numeric comparison: the demo reads the digits, says yes, and names
    the new partner (the demo knows whose device has that fingerprint; a person would type it)."""

    async def confirm(code: str, fingerprint: str) -> str:
        other = next(
            m.name
            for m in HOUSEHOLD
            if m.owner is not None and m.owner.identity.ensure().fingerprint == fingerprint
        )
        say(f"  {me}'s screen shows {code} for {other} ({fingerprint[:9]}): the same, so yes")
        return other

    return confirm


async def pair(a: Member, b: Member, say: Callable[[str], None]) -> None:
    """B's owner opens pairing; A's agent sees the offer nearby and both owners confirm."""
    assert a.agent is not None and b.agent is not None
    await b.agent.open_to_pairing(60.0)
    offer = await a.agent.wait_for_pairing_offer(timeout=20)
    peer = await a.agent.pair(offer.key, owner_says_yes(a.name, say))
    await b.agent.close_pairing()
    await a.agent.wait_for_partner(peer.identity_key, timeout=20)


async def saturday(home: Path, interface: str, say: Any) -> dict[str, Any]:
    kdf = KdfParams.fresh(2, 16 * 1024 * 1024)  # a demo: quick to unlock, still Argon2id
    model = ValueModel.load()
    for member in HOUSEHOLD:
        member.owner = Owner.create(
            home / member.name.lower(), f"{member.name}'s passphrase", kdf=kdf
        )
        member.owner.profile.edit(member.values, note="demo")
        activity = member.strategy(SPACE, model).profile.utility
        best = max(ACTIVITIES, key=lambda a: activity((a, BUDGETS[0], STARTS[0])))
        say(f"{member.name}'s agent is {member.owner.identity.ensure().fingerprint[:19]}...")
        say(f"  its value model likes most: {best!r}")
        say(f"  red line: {member.red_line[2]}")

    def judge(member: Member) -> Callable[..., LittleDan | None]:
        def on_agenda(peer: Any, title: str, space: OutcomeSpace) -> LittleDan | None:
            say(f"{member.name}'s agent: {peer.name} asks about {title!r}; judging it privately")
            return member.strategy(space, model)

        return on_agenda

    ana, ben, caro = HOUSEHOLD
    for member in HOUSEHOLD:
        assert member.owner is not None
        member.agent = Agent(
            member.owner,
            networks=[LanNetwork(interfaces=[interface])],
            on_agenda=judge(member),
            on_pairing=owner_says_yes(member.name, say),
            value_model=model,
        )
        await member.agent.start()
    try:
        for a, b in ((ana, ben), (ana, caro), (ben, caro)):
            say(f"{b.name} opens pairing; {a.name}'s agent sees the offer nearby:")
            await pair(a, b, say)
        say("Paired: Ana-Ben, Ana-Caro, Ben-Caro.")
        assert ana.agent is not None and ben.agent is not None and caro.agent is not None
        partners = [ben.agent.identity.public_key, caro.agent.identity.public_key]
        for key in partners:
            entry = await ana.agent.wait_for_partner(key, timeout=20)
            say(f"Ana's agent found {entry.name} over mDNS at {entry.preferred.address}")
        result = await ana.agent.negotiate(
            partners, "Saturday", SPACE, ana.strategy(SPACE, model), timeout=30
        )
    finally:
        for member in HOUSEHOLD:
            if member.agent is not None:
                await member.agent.stop()
    if result.accord is None:
        say(f"No agreement: {result.failure}")
        return {"agreement": False, "failure": str(result.failure)}
    result.accord.verify()
    outcome = tuple(value for _, value in result.accord.outcome)
    profiles = [member.strategy(SPACE, model).profile for member in HOUSEHOLD]
    # Outcomes across someone's red line are worth nothing to them: the Nash point is sought
    # among what everyone may accept, from everyone's reservation value.
    matrix = np.stack([np.where(p.acceptable_mask(), p.utilities(), 0.0) for p in profiles], 1)
    analysis = Analysis(matrix, [member.reservation for member in HOUSEHOLD])
    utilities = {m.name: round(p(outcome), 3) for m, p in zip(HOUSEHOLD, profiles, strict=True)}
    stored = {m.name: len(m.owner.accords.list(binding_only=True)) for m in HOUSEHOLD if m.owner}
    say("")
    say("Agreed, signed by all three:")
    for issue, value in result.accord.terms.items():
        say(f"  {issue}: {value}")
    for member in HOUSEHOLD:
        say(
            f"  {member.name}: utility {utilities[member.name]:.2f}"
            f" (reservation {member.reservation:.2f}; red line respected)"
        )
    metrics = analysis.metrics(SPACE.index(outcome))
    say(f"  Nash-product ratio {metrics.np_ratio:.2f}, welfare {metrics.welfare:.2f}")
    accord_id = result.accord_id.hex() if result.accord_id else ""
    say(f"  accord id {accord_id[:16]}..., kept in every store: {stored}")
    return {
        "agreement": True,
        "outcome": result.accord.terms,
        "utilities": utilities,
        "np_ratio": metrics.np_ratio,
        "welfare": metrics.welfare,
        "accord_id": accord_id,
        "stored": stored,
    }


def _isolated() -> bool:
    """Re-run this script in a private network namespace (its own loopback) when possible."""
    return os.environ.get("EDGE_DAN_DEMO_NETNS") == "1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--shared-network", action="store_true", help="do not isolate; use this host's loopback"
    )
    args = parser.parse_args()
    if not args.shared_network and not _isolated() and shutil.which("unshare"):
        unshare = [shutil.which("unshare") or "unshare", "--net", "--map-root-user"]
        command = [*unshare, "sh", "-c", 'ip link set lo up && exec "$@"', "demo"]
        command += [sys.executable, *sys.argv]
        probe = subprocess.run([*unshare, "true"], check=False, capture_output=True)
        if probe.returncode == 0:
            env = {**os.environ, "EDGE_DAN_DEMO_NETNS": "1"}
            return subprocess.run(command, env=env, check=False).returncode
    say = (lambda text: None) if args.json else print
    with tempfile.TemporaryDirectory(prefix="edge-dan-household-") as home:
        result = asyncio.run(saturday(Path(home), "127.0.0.1", say))
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if result["agreement"] else 1


if __name__ == "__main__":
    sys.exit(main())
