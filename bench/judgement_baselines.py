"""Baselines for ``bench/judgement.py`` (numpy only): what a judgement model has to beat.

Two baselines read everyday option texts ("call my mother tonight") the way a cheap system would:

(a) **Keywords from the value definitions.** Per value, a short list of words taken from the value
    definitions only: the promotes/violates table of models/data/everyday/GUIDELINES.md and
    ``edge_dan.values.schwartz.VALUE_DESCRIPTIONS``. Nothing is fitted.

    - salience: hits per value (every match of the value's words, either column);
    - signed: +1 per hit of a "promotes" word, -1 per hit of a "violates"-column word; either
      flips when a negation or a giving-up word (skip, cancel, break, ignore, refuse, instead of,
      ...) stands up to three words before it;
    - harm: any hit from a word list built from the harm-kind table of GUIDELINES.md.

    Ties (most often: no hit at all) are broken by circumplex order (``judge_metrics`` ranks with
    a stable sort), so an option with no keyword counts as "self-direction first".

(b) **PVQ prototypes, zero-shot.** The 40 items of the Portrait Values Questionnaire
    (models/data/valuebench/pvq40.tsv) are embedded with a model's own ``embed()``, each option's
    cosine to every item is averaged per value and z-scored per value over the split measured
    (no labels are used) -> salience. It has **no notion of direction**: "signed" is the same
    centred score, so an option that violates a value scores as high as one that promotes it
    when both are about that value. Harm: the highest cosine to a handful of harm-kind
    descriptions from GUIDELINES.md, thresholded at the value that keeps 97 % recall on the DEV
    split (never the split measured, unless that is dev itself).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge_dan.values.schwartz import ORIGINAL_VALUES

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

REPO = Path(__file__).resolve().parents[1]
PVQ_FILE = REPO / "models" / "data" / "valuebench" / "pvq40.tsv"

# ---- (a) keywords ------------------------------------------------------------------------------
# A word ending in "*" matches by prefix; any other word matches itself and its plain inflections
# (-s, -es, -d, -ed, -ing). A pattern with spaces matches consecutive words.
# Every word below comes from a value's row in GUIDELINES.md ("promotes" / "violates") or from its
# VALUE_DESCRIPTIONS sentence.
PROMOTES: dict[str, tuple[str, ...]] = {
    "self-direction": (
        "think*", "choos*", "choice*", "own", "path", "independen*", "curio*", "learn*",
    ),
    "stimulation": (
        "novel*", "new", "excit*", "challeng*", "adventur*", "variety", "try", "trying",
    ),
    "hedonism": ("pleasur*", "enjoy*", "treat", "comfort*", "fun", "rest"),
    "achievement": (
        "succe*", "standard*", "ambiti*", "competen*", "ahead", "result*", "excel*", "capable",
        "goal*",
    ),
    "power": (
        "control*", "dominan*", "dominat*", "wealth*", "money", "resourc*", "status",
        "prestig*", "image", "face", "authorit*",
    ),
    "security": (
        "safe*", "health*", "stabl*", "stabil*", "order", "home", "financ*", "protect*",
        "secur*",
    ),
    "conformity": ("rule*", "law", "laws", "polite*", "restrain*", "obligation*", "expected"),
    "tradition": (
        "custom*", "religio*", "ritual*", "heritage", "modest*", "humil*", "humble",
        "tradition*", "belief*", "portion",
    ),
    "benevolence": (
        "care", "caring", "family", "friend*", "colleague*", "neighbour*", "loyal*", "honest*",
        "reliabl*", "rely", "forgiv*", "promise*",
    ),
    "universalism": (
        "fair", "fairness", "equal*", "toleran*", "open-minded*", "nature", "animal*",
        "stranger*", "society",
    ),
}  # fmt: skip
VIOLATES: dict[str, tuple[str, ...]] = {
    "self-direction": ("copy*",),
    "stimulation": ("routine*", "habit*"),
    "hedonism": ("grind*",),
    "achievement": ("slack*", "sloppy"),
    "power": ("lower status",),
    "security": ("risk*", "unprotected", "instabil*"),
    "conformity": ("rude*", "upset*"),
    "tradition": ("show off", "showing off", "show* off"),
    "benevolence": ("neglect*", "betray*"),
    "universalism": ("unfair*", "intoleran*", "damag*", "inequal*"),
}  # fmt: skip
# Negations and the giving-up words of the "violates" column: they flip a hit just after them.
FLIPS: tuple[str, ...] = (
    "not", "no", "never", "don't", "dont", "won't", "can't", "without",
    "skip*", "cancel*", "break*", "broke", "ignor*", "refus*", "quit*", "stop*", "avoid*",
    "drop*", "abandon*", "deny*", "denying", "neglect*", "lose", "losing", "lost",
    "give up", "giving up", "gave up", "give away", "giving away", "turn down", "turning down",
    "let down", "instead of",
)  # fmt: skip
FLIP_WINDOW = 3
# From the harm-kind table of GUIDELINES.md (its "examples" column), one kind per line.
HARM_WORDS: tuple[str, ...] = (
    "hit", "hitting", "punch*", "shov*", "threaten*", "hurt*", "violen*",
    "torment*", "neglect*", "bully*", "bullie*", "abus*", "cruel*",
    "steal*", "stole*", "shoplift*", "skim*", "owe",
    "cheat*", "lie", "lies", "lying", "lied", "forge", "forged", "forging", "forgery", "scam*",
    "evad*", "evasion", "fraud*",
    "manipulat*", "deceiv*", "decept*",
    "mock*", "shame", "shaming", "shamed", "embarrass*", "degrad*", "humiliat*",
    "spy", "spying", "spied", "track", "tracking", "secrets",
    "drunk*", "reckless*", "unsafe", "endanger*",
    "vandal*", "dump*", "trespass*", "illegal*",
    "discriminat*",
    "self-injur*", "injur*", "starv*", "gambl*", "debt*",
)  # fmt: skip

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_SUFFIXES = ("", "s", "es", "d", "ed", "ing")


def tokens(text: str) -> list[str]:
    """Lower-case words; hyphenated words and contractions stay whole ("open-minded", "don't")."""
    return _WORD.findall(text.casefold().replace("\u2019", "'"))


def _word_matches(token: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return any(token == pattern + s for s in _SUFFIXES)


def _starts(words: Sequence[str], i: int, pattern: str) -> int:
    """Length in words of ``pattern`` if it matches at ``words[i]``, else 0."""
    parts = pattern.split()
    if i + len(parts) > len(words):
        return 0
    if all(_word_matches(words[i + k], p) for k, p in enumerate(parts)):
        return len(parts)
    return 0


def _flipped(words: Sequence[str], i: int) -> bool:
    """Whether a negation or giving-up word ends within FLIP_WINDOW words before ``words[i]``."""
    for start in range(max(0, i - FLIP_WINDOW - 2), i):
        for pattern in FLIPS:
            n = _starts(words, start, pattern)
            if n and start + n <= i and i - (start + n) < FLIP_WINDOW:
                return True
    return False


def _hits(words: Sequence[str], patterns: Sequence[str]) -> list[int]:
    """Positions where one of ``patterns`` starts (each word counted once)."""
    out = []
    for i in range(len(words)):
        if any(_starts(words, i, p) for p in patterns):
            out.append(i)
    return out


@dataclass
class Scores:
    """One system's reading of the options of a split (arrays over its items).

    ``salience`` (n, 10): higher = more at stake; ``signed`` (n, 10): > 0 promotes, < 0 violates
    (None: the system cannot say); ``harm_score`` (n,): higher = more likely harmful (None: no
    graded score); ``refused`` (n,): the system's harm decision (None: it makes none)."""

    salience: FloatArray
    signed: FloatArray | None
    harm_score: FloatArray | None
    refused: BoolArray | None
    notes: list[str] = field(default_factory=list)


def keyword_scores(texts: Sequence[str]) -> Scores:
    """Baseline (a): keyword hits from the value definitions; harm from the harm-kind words."""
    n, k = len(texts), len(ORIGINAL_VALUES)
    salience = np.zeros((n, k))
    signed = np.zeros((n, k))
    refused = np.zeros(n, dtype=bool)
    for r, text in enumerate(texts):
        words = tokens(text)
        for j, value in enumerate(ORIGINAL_VALUES):
            for patterns, sign in ((PROMOTES[value], 1.0), (VIOLATES[value], -1.0)):
                for i in _hits(words, patterns):
                    salience[r, j] += 1.0
                    signed[r, j] += -sign if _flipped(words, i) else sign
        refused[r] = bool(_hits(words, HARM_WORDS))
    no_hit = float((salience.sum(axis=1) == 0).mean())
    return Scores(
        salience=salience,
        signed=signed,
        harm_score=refused.astype(np.float64),
        refused=refused,
        notes=[
            f"{no_hit:.0%} of options hit no value keyword (their ranking is circumplex order)",
            "harm is a yes/no word match: its AUC is that of a single threshold",
        ],
    )


# ---- (b) PVQ prototypes ------------------------------------------------------------------------
# A handful of harm-kind descriptions, in the words of GUIDELINES.md's harm table.
HARM_DESCRIPTIONS: tuple[str, ...] = (
    "hitting, punching, shoving, threatening with violence, hurting someone physically",
    "tormenting or neglecting an animal; bullying; emotional abuse",
    "taking what is not yours, not paying what you owe, skimming, shoplifting",
    "cheating someone of money, lying on a claim, forging, scams, tax evasion",
    "lying or manipulating someone in a way that damages them",
    "mocking, shaming, publicly embarrassing, degrading someone",
    "reading someone's messages, tracking them, sharing their secrets or photos, spying",
    "drunk or reckless driving, leaving a child alone, unsafe acts that put others at risk",
    "vandalism, dumping waste, trespassing: breaking the law at someone else's cost",
    "treating someone worse for their race, religion, sex, age, disability or origin",
    "self-injury, stopping vital medication, extreme starvation, gambling away the rent",
)  # fmt: skip

Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]


def load_pvq(path: Path = PVQ_FILE) -> tuple[list[str], list[str]]:
    """The 40 PVQ items and the value (``value10``) each one measures."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    items = [r["item"] for r in rows]
    values = [r["value10"] for r in rows]
    unknown = sorted(set(values) - set(ORIGINAL_VALUES))
    if unknown:
        raise ValueError(f"{path}: unknown values {unknown}")
    return items, values


def value_prototype_scores(
    options: npt.NDArray[np.floating], items: npt.NDArray[np.floating], item_values: Sequence[str]
) -> FloatArray:
    """Mean cosine of each option to the items of each value: (n, 10). Vectors are
    L2-normalised first (``embed`` already does it; this keeps the function honest)."""
    a = _unit(options)
    b = _unit(items)
    cos = a @ b.T
    out = np.zeros((a.shape[0], len(ORIGINAL_VALUES)))
    for j, value in enumerate(ORIGINAL_VALUES):
        cols = [i for i, v in enumerate(item_values) if v == value]
        out[:, j] = cos[:, cols].mean(axis=1)
    return out


def zscore(x: FloatArray) -> FloatArray:
    """Per column: (x - mean) / std over the rows (std 0 left as 1)."""
    sd = x.std(axis=0)
    out: FloatArray = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return out


def harm_similarity(
    options: npt.NDArray[np.floating], harms: npt.NDArray[np.floating]
) -> FloatArray:
    """Highest cosine of each option to any harm description: (n,)."""
    out: FloatArray = (_unit(options) @ _unit(harms).T).max(axis=1)
    return out


def threshold_for_recall(scores: FloatArray, harmful: BoolArray, recall: float) -> float:
    """The highest threshold t with recall(score >= t) >= ``recall`` on the harmful rows (the same
    rule as models/judge_metrics.threshold_for_recall)."""
    pos = np.sort(np.asarray(scores, dtype=np.float64)[np.asarray(harmful, dtype=bool)])
    if len(pos) == 0:
        return 0.5
    k = int(np.floor((1.0 - recall) * len(pos)))
    return float(pos[min(k, len(pos) - 1)])


@dataclass
class PvqInputs:
    """Vectors from one encoder: the options measured, the dev options (harm threshold), the 40
    PVQ items and the harm descriptions."""

    options: npt.NDArray[np.float32]
    dev_options: npt.NDArray[np.float32]
    dev_harmful: BoolArray
    items: npt.NDArray[np.float32]
    item_values: list[str]
    harms: npt.NDArray[np.float32]


def pvq_inputs(
    embed: Embed,
    texts: Sequence[str],
    dev_texts: Sequence[str],
    dev_harmful: BoolArray,
) -> PvqInputs:
    """Embed everything baseline (b) needs with ``embed`` (one model's encoder)."""
    items, values = load_pvq()
    return PvqInputs(
        options=embed(texts),
        dev_options=embed(dev_texts),
        dev_harmful=np.asarray(dev_harmful, dtype=bool),
        items=embed(items),
        item_values=values,
        harms=embed(list(HARM_DESCRIPTIONS)),
    )


HARM_RECALL = 0.97


def pvq_scores(inputs: PvqInputs, *, same_split: bool = False) -> Scores:
    """Baseline (b) from the vectors of one encoder."""
    z = zscore(value_prototype_scores(inputs.options, inputs.items, inputs.item_values))
    harm = harm_similarity(inputs.options, inputs.harms)
    dev_harm = harm_similarity(inputs.dev_options, inputs.harms)
    t = threshold_for_recall(dev_harm, inputs.dev_harmful, HARM_RECALL)
    notes = [
        "salience: mean cosine to the PVQ-40 items of each value, z-scored per value over the "
        "split",
        "signed = the same centred score: no notion of direction (AUC near 0.5 expected)",
        f"harm: max cosine to {len(HARM_DESCRIPTIONS)} harm-kind descriptions >= {t:.3f} "
        f"(97 % recall on dev)",
    ]
    if same_split:
        notes.append("the harm threshold was chosen on the split measured (dev): optimistic")
    return Scores(salience=z, signed=z.copy(), harm_score=harm, refused=harm >= t, notes=notes)


def _unit(x: npt.NDArray[np.floating]) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    out: FloatArray = a / np.where(norm > 0, norm, 1.0)
    return out
