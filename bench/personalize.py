"""How fast the personal model learns an owner's weighting of the 10 values from their choices.

    python bench/personalize.py [--owners 200] [--tier minilm-int8 static-tiny] [--seed 0]
                                [--texts N] [--unseen 300] [--beta 3] [--profile-noise 1]

Simulated owners each carry hidden signed weights over the 10 original values (standard normal).
The options are real texts: the harmless options of the everyday corpus's dev and test splits
(models/data/everyday; nothing is fitted here, and harmful options never reach a ranking). Every
text is judged once by the value model and kept in memory.

The owner's true utility of an option is ``hidden weights . signed value effects``, with the
effects read from the *same value model's* judgement. So this measures how fast
``PersonalModel`` learns the owner's weighting as the value model sees the options; it says
nothing about whether the value model reads the options correctly (that is validation F1, in
``bench/model.py``). Asked to choose between two options, the owner picks A with probability
``sigmoid(beta * (u(A) - u(B)))`` (logistic choice noise); the share of choices that go against
their own true utility is printed.

Each owner answers pairs drawn at random from a training pool of texts; the model is refitted
after the first 0, 5, 10, 20 and 50 answers (the same answers, in order) and ranks a disjoint set
of unseen texts; the score is Kendall tau between that ranking and the owner's true ranking.
Two starting points: (a) a noisy profile, as a questionnaire would give (the hidden weights plus
Gaussian noise, centred and rescaled onto the profile's [0, 1] scale) and (b) the neutral profile
(every value at 0.5: with no answers every option ties, so tau is 0).

Each start is run twice: with questions drawn at random from the pool, and with the questions
Little Dan chooses itself (``edge_dan.values.questions.next_question``, as ``edge-dan feedback
--ask`` does: after each answer, the pair of pool options whose answer would teach the model the
most), the same simulated owner answering both ways.

References in the same run: the oracle (the hidden weights themselves, ranking the unseen texts
without noise: tau 1 by construction, since the truth uses the same scores), the owner themself
(expected tau of their own noisy choice on each pair of unseen texts: how consistent the answers
the model learns from are), and a random ranking (about 0).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_dan.errors import EdgeDanError
from edge_dan.model import TIERS, ValueModel
from edge_dan.values.personal import PersonalModel, features
from edge_dan.values.profile import ValueProfile
from edge_dan.values.questions import next_question
from edge_dan.values.ranking import kendall_tau
from edge_dan.values.schwartz import ORIGINAL_VALUES

FloatArray = npt.NDArray[np.float64]

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "models" / "data" / "everyday"
STEPS = (0, 1, 5, 10, 20, 50)
# Both tiers by name, even where this edge_dan ships only one: an unknown or missing tier is
# skipped with a note rather than refused.
BENCH_TIERS = tuple(dict.fromkeys(("minilm-int8", "static-tiny", *TIERS)))
TARGET_PAIRS = 20
TARGET_TAU = 0.7
# Random questions (pairs drawn from the pool) and questions Little Dan chooses
# (``edge_dan.values.questions.next_question``: the pair whose answer teaches the most).
STARTS = (
    "noisy profile",
    "neutral profile",
    "noisy profile, chosen questions",
    "neutral profile, chosen questions",
)


def load_options(directory: Path) -> list[str]:
    """The harmless options of the everyday corpus's dev and test splits, in corpus order."""
    sys.path.insert(0, str(REPO / "models"))
    import everyday

    if not (directory / "raw").is_dir():
        raise SystemExit(f"{directory} is missing: this benchmark needs the everyday corpus")
    corpus = everyday.load(directory)
    return [
        text
        for text, split, harm in zip(corpus.texts, corpus.split, corpus.harm, strict=True)
        if split in ("dev", "test") and not harm
    ]


def sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def noisy_profile(hidden: FloatArray, noise: float, rng: np.random.Generator) -> ValueProfile:
    """What a questionnaire might give: the hidden weights plus noise, centred on 0.5 and scaled
    so the most extreme value sits at 0 or 1 (a profile is relative to the owner's average)."""
    x = hidden + rng.normal(scale=noise, size=len(hidden))
    x = x - x.mean()
    peak = float(np.max(np.abs(x)))
    w = 0.5 + x / (2.0 * peak) if peak > 0 else np.full(len(x), 0.5)
    return ValueProfile(dict(zip(ORIGINAL_VALUES, np.clip(w, 0.0, 1.0).tolist(), strict=True)))


def tau(a: FloatArray, b: FloatArray) -> float:
    """Kendall tau-a of two utility arrays, by the project's own ``kendall_tau``."""
    return kendall_tau(a.tolist(), b.tolist())


def owner_consistency(true_u: FloatArray, beta: float) -> float:
    """Expected Kendall tau of the owner's own noisy choice on every pair of these options."""
    i, j = np.triu_indices(len(true_u), k=1)
    gap = np.abs(true_u[i] - true_u[j])
    return float(np.mean(2.0 * sigmoid(beta * gap) - 1.0))


@dataclass
class TierResult:
    tier: str
    taus: dict[str, dict[int, list[float]]]
    kept: dict[str, dict[int, list[float]]]  # share of the owner's own answers the model keeps
    oracle: list[float]
    owner: list[float]
    random: list[float]
    prior_corr: list[float]
    wrong_choices: float
    score_seconds: float
    sim_seconds: float


def simulate(
    feats: FloatArray,
    pool: npt.NDArray[np.intp],
    unseen: npt.NDArray[np.intp],
    args: argparse.Namespace,
    *,
    tier: str,
    score_seconds: float,
) -> TierResult:
    t0 = time.perf_counter()
    taus: dict[str, dict[int, list[float]]] = {s: {n: [] for n in STEPS} for s in STARTS}
    kept: dict[str, dict[int, list[float]]] = {s: {n: [] for n in STEPS} for s in STARTS}
    oracle: list[float] = []
    owner: list[float] = []
    rand: list[float] = []
    prior_corr: list[float] = []
    wrong = 0
    test = feats[unseen]
    n_pairs = max(STEPS)
    for k in range(args.owners):
        # the same owners (weights, profile noise, pairs) for every tier
        rng = np.random.default_rng([args.seed, k])
        hidden = rng.normal(size=len(ORIGINAL_VALUES))
        profile = noisy_profile(hidden, args.profile_noise, rng)
        true_u = test @ hidden
        pairs: list[tuple[FloatArray, FloatArray]] = []
        for _ in range(n_pairs):
            a, b = rng.choice(pool, size=2, replace=False)
            gap = float((feats[a] - feats[b]) @ hidden)
            if rng.random() < float(sigmoid(np.array([args.beta * gap]))[0]):
                pairs.append((feats[a], feats[b]))
                wrong += gap < 0
            else:
                pairs.append((feats[b], feats[a]))
                wrong += gap > 0
        owner_rng = np.random.default_rng([args.seed, k, 1])
        for start, prof in zip(STARTS, (profile, ValueProfile.neutral()) * 2, strict=True):
            answers = (
                asked_pairs(prof, feats[pool], hidden, beta=args.beta, n=n_pairs, rng=owner_rng)
                if "chosen" in start
                else pairs
            )
            for n in STEPS:
                model = PersonalModel.from_profile(prof, answers[:n])
                taus[start][n].append(tau(model.utility(test), true_u))
                if n:
                    given = np.array([a - b for a, b in answers[:n]])
                    # answers whose two options the model can tell apart at all
                    told = np.abs(given).sum(axis=1) > 1e-6
                    if told.any():
                        kept[start][n].append(float(np.mean((given @ model.weights)[told] > 0)))
        prior = PersonalModel.from_profile(profile).prior
        prior_corr.append(float(np.corrcoef(prior, hidden)[0, 1]))
        oracle.append(tau(PersonalModel(hidden).utility(test), true_u))
        owner.append(owner_consistency(true_u, args.beta))
        rand.append(tau(rng.permutation(len(test)).astype(np.float64), true_u))
    return TierResult(
        tier=tier,
        taus=taus,
        kept=kept,
        oracle=oracle,
        owner=owner,
        random=rand,
        prior_corr=prior_corr,
        wrong_choices=wrong / (args.owners * n_pairs),
        score_seconds=score_seconds,
        sim_seconds=time.perf_counter() - t0,
    )


def asked_pairs(
    profile: ValueProfile,
    options: FloatArray,
    hidden: FloatArray,
    *,
    beta: float,
    n: int,
    rng: np.random.Generator,
) -> list[tuple[FloatArray, FloatArray]]:
    """``n`` answers of the simulated owner to the questions Little Dan chooses one by one,
    refitting after each answer (the same noisy choice rule as for random questions)."""
    model = PersonalModel.from_profile(profile)
    asked: list[tuple[int, int]] = []
    pairs: list[tuple[FloatArray, FloatArray]] = []
    for _ in range(n):
        q = next_question(model, options, asked=asked)
        if q is None:
            break
        a, b = q
        asked.append(q)
        gap = float((options[a] - options[b]) @ hidden)
        if rng.random() < float(sigmoid(np.array([beta * gap]))[0]):
            pairs.append((options[a], options[b]))
        else:
            pairs.append((options[b], options[a]))
        model = model.feedback(*pairs[-1])
    return pairs


def fmt(xs: list[float]) -> str:
    a = np.asarray(xs)
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{float(a.mean()):.2f} ± {sd:.2f}"


def report(r: TierResult, args: argparse.Namespace) -> None:
    print(f"\n### {r.tier}\n")
    print(
        f"{args.owners} owners; scoring {args.texts} texts took {r.score_seconds:.1f} s, "
        f"the simulation {r.sim_seconds:.1f} s; {100 * r.wrong_choices:.1f}% of the owners' "
        f"choices went against their own true utility (beta {args.beta:g}); correlation of the "
        f"noisy profile's prior with the hidden weights {fmt(r.prior_corr)}.\n"
    )
    head = "| feedback pairs | " + " | ".join(f"from a {s}" for s in STARTS) + " |"
    print(head)
    print("|---:|" + "---:|" * len(STARTS))
    for n in STEPS:
        label = f"{n} (profile only)" if n == 0 else str(n)
        print(f"| {label} | " + " | ".join(fmt(r.taus[s][n]) for s in STARTS) + " |")
    print(
        f"| answers kept: of the first {TARGET_PAIRS}, chosen option ranked above the other | "
        + " | ".join(fmt(r.kept[s][TARGET_PAIRS]) for s in STARTS)
        + " |"
    )
    blank = " | ".join("" for _ in STARTS[1:])
    print(f"| oracle: hidden weights, no noise | {fmt(r.oracle)} | {blank} |")
    print(f"| the owner's own noisy choice, pair by pair | {fmt(r.owner)} | {blank} |")
    print(f"| random ranking | {fmt(r.random)} | {blank} |")
    for s in STARTS:
        m = float(np.mean(r.taus[s][TARGET_PAIRS]))
        share = float(np.mean(np.asarray(r.taus[s][TARGET_PAIRS]) >= TARGET_TAU))
        verdict = "met" if m >= TARGET_TAU else "NOT met"
        print(
            f"\nfrom a {s}: mean tau after {TARGET_PAIRS} pairs {m:.3f} "
            f"(target >= {TARGET_TAU}: {verdict}; {100 * share:.0f}% of owners reach it)",
            end="",
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--owners", type=int, default=200, help="simulated owners per tier")
    parser.add_argument(
        "--tier",
        nargs="+",
        choices=BENCH_TIERS,
        default=list(BENCH_TIERS),
        help="value model tier(s); a tier that fails to load is skipped with a note",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--texts",
        type=int,
        default=None,
        help="options to use, pool + unseen (default: all of them)",
    )
    parser.add_argument("--unseen", type=int, default=300, help="of those, held out for ranking")
    parser.add_argument(
        "--beta", type=float, default=3.0, help="owner's choice sharpness (lower: noisier)"
    )
    parser.add_argument(
        "--profile-noise",
        type=float,
        default=1.0,
        help="sd of the noise on the hidden weights (sd 1) that makes the noisy profile",
    )
    parser.add_argument("--threads", type=int, default=2, help="value model threads")
    parser.add_argument("--data", type=Path, default=CORPUS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.owners < 2:
        parser.error("--owners must be at least 2")
    premises = load_options(args.data)
    if args.texts is None:
        args.texts = len(premises)
    if not 2 <= args.unseen <= args.texts - 2:
        parser.error("need 2 <= --unseen <= --texts - 2")
    if args.texts > len(premises):
        parser.error(f"--texts {args.texts}: the corpus has {len(premises)} such options")
    rng = np.random.default_rng(args.seed)
    chosen = rng.permutation(len(premises))[: args.texts]
    texts = [premises[int(i)] for i in chosen]
    unseen = np.arange(args.texts - args.unseen, args.texts)
    pool = np.arange(args.texts - args.unseen)

    print(
        f"machine: {platform.system()} {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"command: python bench/personalize.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"texts: {args.texts} everyday options ({len(pool)} training pool, "
        f"{len(unseen)} unseen), seed {args.seed}"
    )
    notes: list[str] = []
    for tier in args.tier:
        try:
            model = ValueModel.load(tier=tier, threads=args.threads)
        except (EdgeDanError, OSError) as exc:
            notes.append(f"{tier} skipped: the model did not load ({exc})")
            print(f"\n### {tier}\n\nskipped: the model did not load ({exc})")
            continue
        t0 = time.perf_counter()
        embeddings = model.embed(texts)  # once; every owner reuses the scores
        feats = features(
            np.array([j.effects for j in model.judge_embeddings(embeddings)], dtype=np.float64)
        )
        score_seconds = time.perf_counter() - t0
        result = simulate(feats, pool, unseen, args, tier=tier, score_seconds=score_seconds)
        report(result, args)
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
