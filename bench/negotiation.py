"""Negotiation benchmark: Little Dan self-play on GENIUS or GeniusWeb folders, beside negmas.

Issue #6: "It must also run our self-play alone on any folder of domains:
``python bench/negotiation.py --domains DIR --rounds N --json OUT``, writing one record per
negotiation with domain, parties (profile file names), agreement, outcome (issue name to value
name, as in the domain file), np_ratio, pareto_distance, welfare, rounds, messages, bytes."

    python bench/negotiation.py [--domains DIR] [--rounds N] [--json OUT] [--parties 2,4,8]
        [--max-groups K] [--levels L] [--seed S] [--protocol mediated|ao|both]
        [--negmas] [--negmas-agents A,B] [--cross-agents A,B] [--cross-candidates C,D]

Every sub-folder of DIR that holds one domain and its profiles is a scenario, in either format:
GENIUS XML (``*.xml``: a domain file and utility files) or GeniusWeb JSON (``*.json``: a domain
file and ``LinearAdditiveUtilitySpace`` profiles such as ``profileA.json``, ``profileB.json``,
whose ``reservationBid`` sets the reservation value); a folder holding such files itself is taken
alone. ``edge_dan.negotiation.formats.folders.load_folder`` picks the format; a folder that does
not load is skipped with its error on stderr. DIR defaults to the 16 domains vendored in
``tests/data/negotiation/domains`` (their ``PROVENANCE.md``). With 2
parties every pair of profiles negotiates (the first, by file name, mediates), up to
``--max-groups`` pairs per domain (a seeded sample beyond that); with more parties, seeded
groups of profiles (drawn with repetition when a domain has fewer profiles than seats) on the
domains with at least 3 profiles.

Metrics are ``edge_dan.negotiation.domain.analysis`` (its docstring has the definitions). Checked
against negmas 0.16's own code: the Pareto distance (Euclidean, to the nearest point of the
discrete frontier) and welfare (sum over the largest sum) are the same; negmas's Nash point
measures gains from max(reserved value, minimum utility) where DESIGN (and ``np_ratio``) uses the
reserved value, so each record also has ``np_ratio_negmas_baseline``. ``rounds`` counts our bidding
rounds (negmas: steps); ``messages`` counts every message as received by one party (ours exactly as
sent on the wire, with ``bytes``; negmas's SAO: offers times the other parties; VetoST: 2 per party
and step), since negmas passes Python objects and has no byte count. Privacy, per record:
``revealed_fraction`` (share of the outcome space each participant listed to the mediator) and
``ranking_accuracy`` (share of random outcome pairs whose order the mediator infers right from
those listings; guessing scores 0.5), averaged over participants.

``--protocol ao`` (or ``both``) runs our self-play over edge_dan's own alternating-offers
protocol (:mod:`edge_dan.negotiation.protocols.ao`, records ``little-dan-ao``) instead of (or
beside) the mediated one; there "revealed" and "rank acc" are measured on each responder's
distinct offers, in the order made, which every other party sees.

``--negmas`` (needs ``pip install negmas``; AGPL, imported only here, never by edge_dan) also
runs negmas's SAO built-ins (Boulware, Aspiration, Linear, Conceder, NaiveTitForTat, MiCRO) and
its mediated single-text VetoST in self-play on the same groups, with utilities built from our
loaded profiles so both sides see the same numbers; and, bilaterally, cross-play: Little Dan
(its alternating-offers core, ``strategy.AlternatingOffers``) and negmas's Boulware, each in
each seat against each negmas agent, comparing their own utility (``--cross-candidates
LittleDan`` leaves Boulware's seat out; ``--negmas-agents ''`` skips negmas's self-play, leaving
only cross-play). Records go to ``--json`` (one JSON object per line); the summary goes to
stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge_dan.identity import Identity
from edge_dan.negotiation.domain.analysis import Analysis
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.formats.folders import is_scenario_folder, load_folder
from edge_dan.negotiation.formats.scenario import GeniusScenario
from edge_dan.negotiation.protocols.ao import AoInitiator, AoResponder
from edge_dan.negotiation.protocols.mediated import Mediator, Participant
from edge_dan.negotiation.strategy import AlternatingOffers, LittleDan
from edge_dan.wire.messages.negotiation import Bids
from edge_dan.wire.messages.negotiation_ao import Offer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "negotiation"))
from negotiation_runner import run  # the tests' in-process runner

# The GENIUS domains vendored for the tests and benchmarks (tests/data/negotiation/PROVENANCE.md).
DOMAINS = Path(__file__).resolve().parents[1] / "tests" / "data" / "negotiation" / "domains"
NEGMAS_AGENTS = ("Boulware", "Aspiration", "Linear", "Conceder", "NaiveTitForTat", "MiCRO")
NEGMAS_MECHANISMS = (*NEGMAS_AGENTS, "VetoST")  # VetoST: mediated single text (all seats)


def scenarios(root: Path) -> list[GeniusScenario]:
    """Every loadable scenario folder under ``root`` (a folder that is one is taken alone)."""
    folders = (
        [root] if is_scenario_folder(root) else sorted(p for p in root.iterdir() if p.is_dir())
    )
    found = []
    for folder in folders:
        try:
            found.append(load_folder(folder))
        except NegotiationError as error:
            print(f"skipping {folder.name}: {error}", file=sys.stderr)
    return found


def groups(
    scenario: GeniusScenario, parties: int, max_groups: int, rng: random.Random
) -> list[tuple[str, ...]]:
    """Profile-name groups to negotiate in ``scenario``."""
    names = sorted(scenario.profiles)
    if parties == 2:
        pairs: list[tuple[str, ...]] = list(itertools.combinations(names, 2))
        return pairs if len(pairs) <= max_groups else rng.sample(pairs, max_groups)
    chosen = []
    for _ in range(max_groups):
        if len(names) >= parties:
            chosen.append(tuple(sorted(rng.sample(names, parties))))
        else:
            chosen.append(tuple(rng.choice(names) for _ in range(parties)))
    return chosen


_BASELINES: dict[int, tuple[Analysis, Analysis]] = {}


def _negmas_baseline(analysis: Analysis) -> Analysis:
    """``analysis`` with disagreement at max(reservation, minimum utility), computed once."""
    cached = _BASELINES.get(id(analysis))
    if cached is None or cached[0] is not analysis:
        floor = np.maximum(analysis.reservations, analysis.utilities.min(axis=0))
        cached = (analysis, Analysis(analysis.utilities, floor))
        _BASELINES.clear()
        _BASELINES[id(analysis)] = cached
    return cached[1]


def _record(
    *,
    scenario: GeniusScenario,
    names: Sequence[str],
    outcome: tuple[Any, ...] | None,
    rounds: int,
    messages: int,
    size: int | None,
    analysis: Analysis,
    protocol: str,
) -> dict[str, Any]:
    index = None if outcome is None else scenario.space.index(outcome)
    metrics = analysis.metrics(index)
    # negmas's nash_points measures gains from max(reserved value, minimum utility), not from
    # the reserved value alone; report the NP ratio on that baseline too.
    negmas_baseline = _negmas_baseline(analysis).np_ratio(index)
    return {
        "protocol": protocol,
        "domain": scenario.name,
        "parties": list(names),
        "agreement": outcome is not None,
        "outcome": None if outcome is None else scenario.space.as_dict(outcome),
        "utilities": [round(u, 6) for u in metrics.utilities],
        "np_ratio": round(metrics.np_ratio, 6),
        "np_ratio_negmas_baseline": round(negmas_baseline, 6),
        "pareto_distance": round(metrics.pareto_distance, 6),
        "welfare": round(metrics.welfare, 6),
        "min_utility": round(metrics.min_utility, 6),
        "rounds": rounds,
        "messages": messages,
        "bytes": size,
    }


def ours(
    *,
    scenario: GeniusScenario,
    names: Sequence[str],
    identities: Sequence[Identity],
    rounds: int,
    levels: int,
    analysis: Analysis,
    negotiation_id: bytes,
    pace_rounds: int = 20,
) -> dict[str, Any]:
    """One Little Dan self-play negotiation (the first party mediates)."""
    profiles = [scenario.profiles[name] for name in names]
    mediator = Mediator(
        identities[0],
        LittleDan(profiles[0]),
        [i.public_key for i in identities[1:]],
        negotiation_id=negotiation_id,
        max_rounds=rounds,
        levels=levels,
        pace_rounds=pace_rounds,
    )
    participants = [
        Participant(identity, LittleDan(profile))
        for identity, profile in zip(identities[1:], profiles[1:], strict=True)
    ]
    result = run(mediator, participants)
    accord = result.accord_of(identities[0].public_key)
    outcome = None if accord is None else scenario.space.from_dict(accord.terms)
    record = _record(
        scenario=scenario,
        names=names,
        outcome=outcome,
        rounds=result.rounds,
        messages=result.total_messages,
        size=result.total_bytes,
        analysis=analysis,
        protocol="little-dan",
    )

    def listing(sender: bytes) -> list[int]:
        return [
            index
            for who, _, message in result.transcript
            if who == sender and isinstance(message, Bids)
            for level in message.levels
            for index in level
        ]

    return _with_leak(record, listing, identities, profiles, negotiation_id)


def ours_ao(
    *,
    scenario: GeniusScenario,
    names: Sequence[str],
    identities: Sequence[Identity],
    rounds: int,
    analysis: Analysis,
    negotiation_id: bytes,
) -> dict[str, Any]:
    """One Little Dan self-play negotiation over alternating offers (the first party opens).

    Privacy is measured as for the mediated protocol, on what every other party sees: each
    responder's distinct offers, in the order made, stand for its listing.
    """
    profiles = [scenario.profiles[name] for name in names]
    initiator = AoInitiator(
        identities[0],
        LittleDan(profiles[0]),
        [i.public_key for i in identities[1:]],
        negotiation_id=negotiation_id,
        max_rounds=rounds,
    )
    responders = [
        AoResponder(identity, LittleDan(profile))
        for identity, profile in zip(identities[1:], profiles[1:], strict=True)
    ]
    result = run(initiator, responders)
    accord = result.accord_of(identities[0].public_key)
    outcome = None if accord is None else scenario.space.from_dict(accord.terms)
    record = _record(
        scenario=scenario,
        names=names,
        outcome=outcome,
        rounds=result.rounds,
        messages=result.total_messages,
        size=result.total_bytes,
        analysis=analysis,
        protocol="little-dan-ao",
    )

    def offers(sender: bytes) -> list[int]:
        made = [
            message.outcome
            for who, _, message in result.transcript
            if who == sender and isinstance(message, Offer)
        ]
        return list(dict.fromkeys(made))  # distinct, in the order made

    return _with_leak(record, offers, identities, profiles, negotiation_id)


def _with_leak(
    record: dict[str, Any],
    shown: Callable[[bytes], list[int]],
    identities: Sequence[Identity],
    profiles: Sequence[Profile],
    negotiation_id: bytes,
) -> dict[str, Any]:
    """``record`` plus what the non-initiating parties' messages (``shown``) revealed."""
    revealed, accuracy = [], []
    for identity, profile in zip(identities[1:], profiles[1:], strict=True):
        fraction, correct = ranking_leak(
            shown(identity.public_key), profile.utilities(), negotiation_id
        )
        revealed.append(fraction)
        accuracy.append(correct)
    record["revealed_fraction"] = round(statistics.fmean(revealed), 6)
    record["ranking_accuracy"] = round(statistics.fmean(accuracy), 6)
    return record


def ranking_leak(
    listing: Sequence[int], utilities: np.ndarray, seed: bytes, pairs: int = 4000
) -> tuple[float, float]:
    """What the mediator can tell about one participant's ranking from its Bids.

    Returns the fraction of the outcome space the participant listed, and the share of random
    outcome pairs whose order an observer gets right when it ranks listed outcomes in listing
    order above all unlisted ones (ties count half; guessing scores 0.5). Pairs of equal
    utility are skipped: they have no order to reveal.
    """
    size = utilities.shape[0]
    inferred = np.full(size, float(len(listing)))  # unlisted: all tied, last
    inferred[np.asarray(listing, dtype=np.intp)] = np.arange(len(listing), dtype=np.float64)
    rng = np.random.default_rng(int.from_bytes(seed[-8:], "big"))
    first, second = rng.integers(0, size, pairs), rng.integers(0, size, pairs)
    truth = np.sign(utilities[second] - utilities[first])  # +1: the second is better
    guess = np.sign(inferred[first] - inferred[second])  # +1: the second was listed earlier
    keep = truth != 0
    if not keep.any():
        return len(listing) / size, 1.0
    score = np.where(guess[keep] == 0, 0.5, (guess[keep] == truth[keep]).astype(float))
    return len(listing) / size, float(score.mean())


class NegmasRunner:
    """negmas's SAO built-ins in self-play (negmas is imported here only, and only if asked)."""

    def __init__(self, rounds: int) -> None:
        # An optional dev extra (AGPL): imported here only, never by edge_dan.
        import negmas  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from negmas import sao, st  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from negmas.outcomes import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            make_issue,
            make_os,
        )
        from negmas.preferences import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            LinearAdditiveUtilityFunction,
        )

        self.version = negmas.__version__
        # negmas warns on every run about its own internals; the summary is what matters here.
        warnings.filterwarnings("ignore", module="negmas")
        self.rounds = rounds
        self.sao = sao
        self.st = st
        self.response_type = sao.ResponseType
        self.make_issue = make_issue
        self.make_os = make_os
        self.ufun_type = LinearAdditiveUtilityFunction
        self.classes = {
            "Boulware": sao.BoulwareTBNegotiator,
            "Aspiration": sao.AspirationNegotiator,
            "Linear": sao.LinearTBNegotiator,
            "Conceder": sao.ConcederTBNegotiator,
            "NaiveTitForTat": sao.NaiveTitForTatNegotiator,
            "MiCRO": sao.MiCRONegotiator,
        }
        self._cache: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _scenario(self, scenario: GeniusScenario, names: Sequence[str]) -> Any:
        """negmas's outcome space and ufuns, built from our loaded profiles.

        Building them from our tables (rather than letting negmas parse the XML) gives both
        sides the very same numbers, and works where negmas's GENIUS reader refuses a file
        (it rejects the party domain's issue indices). ``None`` for non-tabular utilities.
        """
        issues = [
            self.make_issue(list(issue.all_values()), name=issue.name)
            for issue in scenario.space.issues
        ]
        space = self.make_os(issues)
        ufuns = []
        for name in names:
            profile = scenario.profiles[name]
            utility = profile.utility
            if not isinstance(utility, LinearAdditiveUtility):
                return None
            values = {
                issue.name: dict(zip(issue.all_values(), table.tolist(), strict=True))
                for issue, table in zip(scenario.space.issues, utility.tables, strict=True)
            }
            weights = dict(zip(scenario.space.issue_names, utility.weights.tolist(), strict=True))
            ufuns.append(
                self.ufun_type(
                    values=values,
                    weights=weights,
                    outcome_space=space,
                    reserved_value=profile.reservation_value,
                )
            )
        return space, ufuns

    def play(
        self, scenario: GeniusScenario, names: Sequence[str], agents: Sequence[str]
    ) -> tuple[tuple[Any, ...] | None, int, int] | None:
        """One SAO run, ``agents[i]`` in seat ``i`` (``"LittleDan"`` is ours, through
        :class:`edge_dan.negotiation.strategy.AlternatingOffers`): agreement (in our space),
        steps and messages (offers times recipients), or ``None`` if not runnable."""
        key = (scenario.name, tuple(names))
        if key not in self._cache:
            self._cache[key] = self._scenario(scenario, names)
        loaded = self._cache[key]
        if loaded is None:
            return None
        space, ufuns = loaded
        if agents[0] == "VetoST":
            return self._veto_st(scenario, space, ufuns)
        mechanism = self.sao.SAOMechanism(outcome_space=space, n_steps=self.rounds)
        for name, agent, ufun in zip(names, agents, ufuns, strict=True):
            if agent == "LittleDan":
                core = AlternatingOffers(LittleDan(scenario.profiles[name]))
                mechanism.add(self.little_dan(core), ufun=ufun)
            else:
                mechanism.add(self.classes[agent](), ufun=ufun)
        mechanism.run()
        offers = len(mechanism.extended_trace)
        messages = offers * (len(names) - 1)
        agreement = mechanism.agreement
        if agreement is None:
            return None, mechanism.state.step, messages
        issues = [issue.name for issue in space.issues]
        values = {name: value for name, value in zip(issues, agreement, strict=True)}
        return scenario.space.from_dict(values), mechanism.state.step, messages

    def _veto_st(
        self, scenario: GeniusScenario, space: Any, ufuns: Sequence[Any]
    ) -> tuple[tuple[Any, ...] | None, int, int]:
        """negmas's mediated single text: each step the mediator sends a text to every party
        and each answers (counted as 2 messages per party and step)."""
        mechanism = self.st.VetoSTMechanism(outcome_space=space, n_steps=self.rounds)
        for ufun in ufuns:
            mechanism.add(self.st.BinaryComparatorNegotiator(), ufun=ufun)
        mechanism.run()
        steps = mechanism.state.step
        messages = 2 * len(ufuns) * steps
        agreement = mechanism.agreement
        if agreement is None:
            return None, steps, messages
        issues = [issue.name for issue in space.issues]
        values = {name: value for name, value in zip(issues, agreement, strict=True)}
        return scenario.space.from_dict(values), steps, messages

    def little_dan(self, core: AlternatingOffers) -> Any:
        """A negmas SAO negotiator that asks ``core`` for every decision."""
        response = self.response_type

        class LittleDanSAO(self.sao.SAONegotiator):  # type: ignore[misc,name-defined]
            def propose(self, state: Any, dest: str | None = None) -> Any:
                return core.propose(state.relative_time)

            def respond(self, state: Any, source: str | None = None) -> Any:
                offer = state.current_offer
                if offer is None:
                    return response.REJECT_OFFER
                core.observe(tuple(offer))
                if core.respond(tuple(offer), state.relative_time):
                    return response.ACCEPT_OFFER
                return response.REJECT_OFFER

        return LittleDanSAO()


def cross_play(
    runner: NegmasRunner,
    scenario: GeniusScenario,
    names: Sequence[str],
    analysis: Analysis,
    opponents: str,
    *,
    candidates: Sequence[str] = ("LittleDan", "Boulware"),
) -> list[dict[str, Any]]:
    """Little Dan and negmas's Boulware, each in each seat, against each negmas opponent."""
    records = []
    for opponent in filter(None, opponents.split(",")):
        for seat in (0, 1):
            for candidate in candidates:
                agents = [opponent, opponent]
                agents[seat] = candidate
                played = runner.play(scenario, names, agents)
                if played is None:
                    continue
                outcome, steps, messages = played
                record = _record(
                    scenario=scenario,
                    names=names,
                    outcome=outcome,
                    rounds=steps,
                    messages=messages,
                    size=None,
                    analysis=analysis,
                    protocol=f"cross-{candidate}",
                )
                own = record["utilities"][seat]
                record |= {
                    "opponent": opponent,
                    "seat": seat,
                    "own_utility": own,
                    "below_reservation": bool(
                        outcome is not None and own < analysis.reservations[seat] - 1e-9
                    ),
                }
                records.append(record)
    return records


def summarise_cross(records: list[dict[str, Any]]) -> list[str]:
    """Mean own utility of Little Dan and of Boulware in the same seat, per opponent."""
    own: dict[tuple[str, str], list[float]] = defaultdict(list)
    agreed: dict[tuple[str, str], list[bool]] = defaultdict(list)
    below = 0
    for record in records:
        key = (record["opponent"], record["protocol"])
        own[key].append(record["own_utility"])
        agreed[key].append(record["agreement"])
        below += record["protocol"] == "cross-LittleDan" and record["below_reservation"]
    lines = [
        f"{'cross-play vs':<16} {'runs':>5} {'LittleDan own':>13} {'agree%':>7} "
        f"{'Boulware own':>12} {'agree%':>7}"
    ]

    def mean(values: list[float] | list[bool], scale: float = 1.0) -> float:
        return scale * statistics.fmean(values) if values else float("nan")

    for opponent in sorted({o for o, _ in own}):
        ours_key, boulware_key = (opponent, "cross-LittleDan"), (opponent, "cross-Boulware")
        lines.append(
            f"{opponent:<16} {len(own[ours_key]):>5} "
            f"{mean(own[ours_key]):>13.3f} "
            f"{mean(agreed[ours_key], 100):>6.1f}% "
            f"{mean(own[boulware_key]):>12.3f} "
            f"{mean(agreed[boulware_key], 100):>6.1f}%"
        )
    lines.append(f"Little Dan agreements below its reservation value: {below}")
    return lines


def negmas_side(
    runner: NegmasRunner,
    scenario: GeniusScenario,
    names: Sequence[str],
    analysis: Analysis,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """negmas's agents in self-play on one group, and (bilateral) the cross-play runs."""
    records = []
    for agent in filter(None, args.negmas_agents.split(",")):
        played = runner.play(scenario, names, [agent] * len(names))
        if played is None:
            continue
        outcome, steps, messages = played
        records.append(
            _record(
                scenario=scenario,
                names=names,
                outcome=outcome,
                rounds=steps,
                messages=messages,
                size=None,
                analysis=analysis,
                protocol=f"negmas-{agent}",
            )
        )
    if len(names) == 2:
        candidates = tuple(filter(None, args.cross_candidates.split(",")))
        records.extend(
            cross_play(runner, scenario, names, analysis, args.cross_agents, candidates=candidates)
        )
    return records


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return statistics.fmean(values) if values else float("nan")


def summarise(records: list[dict[str, Any]]) -> list[str]:
    """One line per (protocol, parties): agreement, NP ratio, Pareto distance, traffic."""
    by_kind: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_kind[(record["protocol"], len(record["parties"]))].append(record)
    lines = [
        f"{'protocol':<26} {'n':>2} {'runs':>5} {'agree%':>7} {'NP':>6} {'NP|agr':>6} "
        f"{'PD':>6} {'welf':>6} {'rounds':>6} {'msg/agent':>9} {'bytes/agent':>11} "
        f"{'revealed':>8} {'rank acc':>8}"
    ]
    for (protocol, n), rows in sorted(by_kind.items()):
        agreed = [r for r in rows if r["agreement"]]
        size = [r["bytes"] / n for r in rows if r["bytes"] is not None]
        lines.append(
            f"{protocol:<26} {n:>2} {len(rows):>5} "
            f"{100 * len(agreed) / len(rows):>6.1f}% "
            f"{statistics.fmean(r['np_ratio'] for r in rows):>6.3f} "
            f"{statistics.fmean(r['np_ratio'] for r in agreed) if agreed else 0:>6.3f} "
            f"{statistics.fmean(r['pareto_distance'] for r in rows):>6.3f} "
            f"{statistics.fmean(r['welfare'] for r in rows):>6.3f} "
            f"{statistics.fmean(r['rounds'] for r in rows):>6.1f} "
            f"{statistics.fmean(r['messages'] / n for r in rows):>9.1f} "
            f"{(statistics.fmean(size) if size else float('nan')):>11.0f} "
            f"{_mean(rows, 'revealed_fraction'):>8.3f} {_mean(rows, 'ranking_accuracy'):>8.3f}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--domains",
        type=Path,
        default=DOMAINS,
        help="folder of scenario folders, GENIUS XML or GeniusWeb JSON, or one such folder "
        "(default: the vendored tests/data/negotiation/domains)",
    )
    parser.add_argument("--rounds", type=int, default=20, help="round (or step) limit")
    parser.add_argument("--json", type=Path, help="write one JSON record per line here")
    parser.add_argument("--parties", default="2", help="comma-separated party counts")
    parser.add_argument("--max-groups", type=int, default=40, help="groups per domain and n")
    parser.add_argument("--levels", type=int, default=40, help="concession levels (ours)")
    parser.add_argument(
        "--pace-rounds", type=int, default=20, help="rounds our levels are spread over"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--protocol",
        choices=("mediated", "ao", "both"),
        default="mediated",
        help="our self-play: mediated concession, alternating offers (little-dan-ao), or both",
    )
    parser.add_argument("--negmas", action="store_true", help="also run negmas's built-ins")
    parser.add_argument("--negmas-agents", default=",".join(NEGMAS_MECHANISMS))
    parser.add_argument(
        "--cross-agents",
        default=",".join(NEGMAS_AGENTS),
        help="negmas opponents for bilateral cross-play (empty: none)",
    )
    parser.add_argument(
        "--cross-candidates",
        default="LittleDan,Boulware",
        help="who sits in the cross-play seat (LittleDan, Boulware); only cross-play: "
        "--negmas --negmas-agents ''",
    )
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    party_counts = [int(n) for n in args.parties.split(",")]
    identities = [Identity.generate() for _ in range(max(party_counts))]
    negmas_runner = NegmasRunner(args.rounds) if args.negmas else None
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for scenario in scenarios(args.domains):
        for n in party_counts:
            if n > 2 and len(scenario.profiles) < 3:
                continue  # multilateral runs need a multilateral domain
            for number, names in enumerate(groups(scenario, n, args.max_groups, rng)):
                profiles = [scenario.profiles[name] for name in names]
                analysis = Analysis(
                    np.stack([p.utilities() for p in profiles], axis=1),
                    [p.reservation_value for p in profiles],
                )
                negotiation_id = number.to_bytes(16, "big")
                if args.protocol in ("mediated", "both"):
                    records.append(
                        ours(
                            scenario=scenario,
                            names=names,
                            identities=identities[:n],
                            rounds=args.rounds,
                            levels=args.levels,
                            pace_rounds=args.pace_rounds,
                            analysis=analysis,
                            negotiation_id=negotiation_id,
                        )
                    )
                if args.protocol in ("ao", "both"):
                    records.append(
                        ours_ao(
                            scenario=scenario,
                            names=names,
                            identities=identities[:n],
                            rounds=args.rounds,
                            analysis=analysis,
                            negotiation_id=negotiation_id,
                        )
                    )
                if negmas_runner is not None:
                    records.extend(negmas_side(negmas_runner, scenario, names, analysis, args))
    elapsed = time.perf_counter() - started
    if args.json:
        with args.json.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, sort_keys=True) + "\n")
    print(f"{len(records)} negotiations, round limit {args.rounds}, {elapsed:.1f} s")
    for line in summarise([r for r in records if "opponent" not in r]):
        print(line)
    cross = [r for r in records if "opponent" in r]
    if cross:
        print()
        for line in summarise_cross(cross):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
