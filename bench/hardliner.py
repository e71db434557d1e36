"""A hard-liner against Little Dan, in both of edge_dan's protocols, on the GENIUS domains.

The hard-liner is a party that declares its floor at its own best outcome: it lists (mediated) or
offers and accepts (alternating offers) nothing but its favourite. Neither protocol can tell it
from an owner who truly accepts only one outcome, since no message carries a utility. The
question is what it gains and what the honest Little Dan keeps: for each bilateral pair of
profiles, in both seats, the honest party's and the hard-liner's own utility, next to what each
gets when both are honest, and the honest party's utility over its reservation value.

    python bench/hardliner.py [--domains DIR] [--rounds 20]

``--domains`` defaults to the domains vendored in ``tests/data/negotiation/domains``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import Accord
from edge_dan.negotiation.domain.utility import Profile
from edge_dan.negotiation.formats.genius import GeniusScenario
from edge_dan.negotiation.protocols.ao import AoInitiator, AoResponder
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import LittleDan

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "negotiation"))
from negotiation import DOMAINS, scenarios  # bench/negotiation.py
from negotiation_runner import run  # the tests' in-process runner

Play = Callable[[Profile, Profile, int], Accord | None]


def hardline(profile: Profile) -> Profile:
    """``profile`` with its floor at its best outcome: it accepts its favourite and no other."""
    top = float(profile.utilities().max())
    return dataclasses.replace(profile, reservation_value=top - 1e-9)


def mediated(first: Profile, second: Profile, rounds: int) -> Accord | None:
    """``first`` mediates, ``second`` participates."""
    a, b = Identity.generate(), Identity.generate()
    mediator = Mediator(
        a, LittleDan(first), [b.public_key], negotiation_id=bytes(16), max_rounds=rounds
    )
    result = run(mediator, [Participant(b, LittleDan(second))])
    return result.accord_of(a.public_key)


def alternating(first: Profile, second: Profile, rounds: int) -> Accord | None:
    """``first`` opens, ``second`` answers."""
    a, b = Identity.generate(), Identity.generate()
    initiator = AoInitiator(
        a, LittleDan(first), [b.public_key], negotiation_id=bytes(16), max_rounds=rounds
    )
    result = run(initiator, [AoResponder(b, LittleDan(second))])
    return result.accord_of(a.public_key)


def utility(profile: Profile, scenario: GeniusScenario, accord: Accord | None) -> float:
    """``profile``'s utility of the accord; its reservation value without one."""
    if accord is None:
        return profile.reservation_value
    return float(profile(scenario.space.from_dict(accord.terms)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=Path, default=DOMAINS, help="folder of domain folders")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--max-pairs", type=int, default=10, help="profile pairs per domain")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    protocols: dict[str, Play] = {"mediated": mediated, "alternating offers": alternating}
    print(
        f"{'protocol':<20} {'seat of the hard-liner':<24} {'runs':>5} {'agree%':>7} "
        f"{'honest':>7} {'(both honest)':>14} {'hard-liner':>11} {'(both honest)':>14} "
        f"{'honest >= rv':>13}"
    )
    for label, play in protocols.items():
        for seat in ("second", "first"):
            rows: list[tuple[bool, float, float, float, float, bool]] = []
            for scenario in scenarios(args.domains):
                pairs = list(itertools.permutations(sorted(scenario.profiles), 2))
                for honest_name, hard_name in rng.sample(pairs, min(args.max_pairs, len(pairs))):
                    honest = scenario.profiles[honest_name]
                    hard = scenario.profiles[hard_name]
                    if seat == "second":
                        fair = play(honest, hard, args.rounds)
                        tough = play(honest, hardline(hard), args.rounds)
                    else:
                        fair = play(hard, honest, args.rounds)
                        tough = play(hardline(hard), honest, args.rounds)
                    honest_keeps = utility(honest, scenario, tough)
                    rows.append(
                        (
                            tough is not None,
                            honest_keeps,
                            utility(honest, scenario, fair),
                            utility(hard, scenario, tough),
                            utility(hard, scenario, fair),
                            honest_keeps >= honest.reservation_value,
                        )
                    )
            agree, kept, fair_kept, won, fair_won, safe = zip(*rows, strict=True)
            print(
                f"{label:<20} {seat:<24} {len(rows):>5} {100 * statistics.fmean(agree):>6.1f}% "
                f"{statistics.fmean(kept):>7.3f} {statistics.fmean(fair_kept):>14.3f} "
                f"{statistics.fmean(won):>11.3f} {statistics.fmean(fair_won):>14.3f} "
                f"{100 * statistics.fmean(safe):>12.1f}%"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
