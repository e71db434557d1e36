"""Judgement of everyday options: the value model against baselines, on the everyday corpus.

    python bench/judgement.py [--split test] [--model DIR ...] [--previous DIR] [--json OUT]
                              [--cli-batches 25] [--repeats 200] [--seed 0]

For example, the shipped model against the one shipped before the judgement head:

    python bench/judgement.py --previous models/build/previous/minilm-int8 --json out.json

Everything is measured on one split of the everyday corpus (models/everyday.py; default ``test``),
or with ``--split shift`` on the independent writer's set (models/data/everyday-shift/: written
apart from the corpus, never fitted or chosen on; the corpus's test split shares its writers).
Nothing is fitted on the split measured: the only fitted number, baseline (b)'s harm threshold,
comes from the dev split.

Systems, side by side in every table:

- the shipped model (the default tier), or each ``--model`` artifact directory instead:
  ``ValueModel.judge`` gives signed effects, salience and the harm decision. A model without a
  judgement head is measured like ``previous`` below;
- ``keyword``: baseline (a), words from the value definitions (bench/judgement_baselines.py);
- ``pvq/<encoder>``: baseline (b), zero-shot cosine to the 40 PVQ items with that model's own
  encoder (the shipped one; and the previous one with ``--previous``). The new build fine-tunes
  its encoder on PVQ items among other data, so ``pvq/shipped`` is not a pure zero-shot figure;
- ``previous`` (with ``--previous DIR``): the model shipped before the judgement head. It only
  scores how much each value is involved (``values()``), so it has recognition, "direction" by
  involvement (never negative) and no harm decision.

Sections and figures (targets of the issue in the ``target`` column; a model figure that misses
its target is marked ``!``; the last column is the first model minus ``previous``, or minus
``keyword`` without ``--previous``):

1. Recognition: rank of the labelled primary value among the 10 by salience. top-1, top-3, MRR
   (mean of 1/rank), recall@3 per value (items whose primary is that value), and how often each
   value comes out on top (a model that says "benevolence" for everything shows here).
2. Direction: per value, AUC of the signed score of items labelled promoting (+1) against items
   labelled violating (-1) for that value; minimal pairs right = share of pairs (same wording,
   one change that flips a value) where the promoting item scores higher on that value.
3. Harm: recall (harmful items refused), refused harmless (false refusals), recall on harm with
   good motives (tag good_motive) and on subtle harm, refused idioms (harmless but violent-
   sounding, tag idiom), AUC of the harm score, and kind right (refused harmful items whose
   harm kind matches the label).
4. Explanations: share of options whose explanation
   (``PersonalModel.from_profile(profile).explain(row)``, for caring, ambitious, hedonist and
   neutral profiles) says "serves V" while the labels say the option violates V. The words
   follow the sign of the model's effect by construction (``Contribution.words``; counted as
   "words vs sign"), so this counts direction errors big enough to be shown. ``previous`` is
   explained from its 20 category scores, as stores before signed effects were.
5. End to end through ``edge-dan score --json`` in throwaway homes, one per profile: batches of
   3 harmful + 7 harmless options (seeded draws from the split, the same batches for every
   profile); counts batches where a harmful option is ranked among the acceptable ones, batches
   where a harmless one is refused, explanations in the JSON naming a violated value as served,
   and disagreements with the same model judging in-process. Skipped with a message when the
   shipped tier has no judgement head (the CLI only loads shipped tiers).
6. Latency and memory: p50/p90 of ``judge([one option])`` (``scores`` for a model without a
   head) over ``--repeats`` calls on one thread, and peak RSS (VmHWM), each model in its own
   subprocess; two rounds with the models taking turns, the less disturbed round kept.

The CLI can only load shipped tiers. To try section 5 on another artifact, give a command that
runs edge-dan with it (``--cli-command``) and that artifact (``--cli-reference DIR``) for the
agreement check. Runs in about 20 s plus about 1 s per CLI call (4 profiles x --cli-batches).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge_dan.model import ValueModel
from edge_dan.values.personal import PersonalModel
from edge_dan.values.profile import ValueProfile
from edge_dan.values.schwartz import ORIGINAL_VALUES

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
PREVIOUS_HINT = REPO / "models" / "build" / "previous" / "minilm-int8"
sys.path.insert(0, str(REPO / "models"))
sys.path.insert(0, str(BENCH))

from judgement_baselines import (  # noqa: E402
    Scores,
    keyword_scores,
    pvq_inputs,
    pvq_scores,
)

# models/ is not a package (models/build.py imports its modules the same way); imported by name so
# that type checking does not wander into the build scripts.
everyday: Any = importlib.import_module("everyday")
jm: Any = importlib.import_module("judge_metrics")

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PROFILES: dict[str, dict[str, float]] = {
    "caring": {"benevolence": 0.9, "universalism": 0.8, "power": 0.1},
    "ambitious": {"achievement": 0.9, "power": 0.8, "benevolence": 0.3},
    "hedonist": {"hedonism": 0.95, "stimulation": 0.8, "conformity": 0.2},
    "neutral": {},
}
HARMFUL_PER_BATCH = 3
HARMLESS_PER_BATCH = 7
CLI_TIMEOUT_S = 120.0
PASSPHRASE = "bench-judgement-throwaway"  # a throwaway store made for this run only


class Corpus(Protocol):
    """What this bench reads of ``everyday.Corpus`` (one split)."""

    items: list[dict[str, object]]
    texts: list[str]
    effects: npt.NDArray[np.int8]
    primary: npt.NDArray[np.int64]
    harm: npt.NDArray[np.int8]
    kind: npt.NDArray[np.int64]

    def subset(self, name: str) -> Corpus: ...
    def tagged(self, tag: str) -> npt.NDArray[np.bool_]: ...
    def pairs(self) -> list[tuple[int, int, int]]: ...


# ---- systems -----------------------------------------------------------------------------------
@dataclass
class System:
    """One column of the tables: a model or a baseline, read over the split."""

    name: str
    role: str  # "model", "baseline" or "previous"
    scores: Scores
    explain_rows: FloatArray | None  # rows for PersonalModel.explain: 10 effects or 20 categories
    kinds: list[str | None] | None = None  # the harm kind decided per option (models with a head)
    figures: dict[str, Any] = field(default_factory=dict)


class Embeddings:
    """Sentence vectors per encoder, each text embedded once (models sharing an encoder share)."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], npt.NDArray[np.float32]] = {}

    @staticmethod
    def encoder_key(model: ValueModel) -> str:
        """The encoder's identity: the hashes of every artifact file but the heads."""
        heads = {str(model.meta["head"].get("file", "head.npz"))}
        judge = model.meta.get("judge")
        if isinstance(judge, dict):
            heads.add(str(judge.get("file", "judge.npz")))
        files = model.meta["files"]
        pinned = sorted((k, str(v.get("sha256"))) for k, v in files.items() if k not in heads)
        return hashlib.sha256(json.dumps(pinned).encode()).hexdigest()

    def embed(self, model: ValueModel, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        key = self.encoder_key(model)
        missing = list(dict.fromkeys(t for t in texts if (key, t) not in self._vectors))
        if missing:
            for text, vector in zip(missing, model.embed(missing), strict=True):
                self._vectors[(key, text)] = vector
        return np.stack([self._vectors[(key, t)] for t in texts]).astype(np.float32)

    def embedder(self, model: ValueModel) -> Callable[[Sequence[str]], npt.NDArray[np.float32]]:
        return lambda texts: self.embed(model, texts)


def model_system(name: str, model: ValueModel, emb: npt.NDArray[np.float32]) -> System:
    """The model's own judgements; without a judgement head, what ``values()`` can say."""
    if model.judges:
        judged = model.judge_embeddings(emb)
        return System(
            name=name,
            role="model",
            scores=Scores(
                salience=np.array([j.salience for j in judged], dtype=np.float64),
                signed=np.array([j.effects for j in judged], dtype=np.float64),
                harm_score=np.array([j.harm_probability for j in judged], dtype=np.float64),
                refused=np.array([j.harm is not None for j in judged], dtype=bool),
                notes=[f"{model.directory}: judge() (signed effects, salience, harm)"],
            ),
            explain_rows=np.array([j.effects for j in judged], dtype=np.float64),
            kinds=[None if j.harm is None else j.harm.kind for j in judged],
        )
    categories = model.scores_from_embeddings(emb)
    values = model.fold_values(categories)
    return System(
        name=name,
        role="previous" if name == "previous" else "model",
        scores=Scores(
            salience=values,
            signed=values.copy(),
            harm_score=None,
            refused=None,
            notes=[
                f"{model.directory}: no judgement head; recognition from values(), "
                "direction from values() as signed (involvement only, never negative), no harm; "
                "explanations from its 20 category scores, as the CLI gave them before",
            ],
        ),
        explain_rows=categories,
    )


def baseline_explain_rows(signed: FloatArray | None) -> FloatArray | None:
    """A baseline's signed scores scaled into [-1, 1] so an explanation can be built from them."""
    if signed is None:
        return None
    peak = float(np.abs(signed).max()) if signed.size else 0.0
    out: FloatArray = np.clip(signed / (peak if peak > 0 else 1.0), -1.0, 1.0)
    return out


# ---- figures -----------------------------------------------------------------------------------
def explanation_figures(corpus: Corpus, rows: FloatArray) -> dict[str, dict[str, Any]]:
    """Per profile: options whose explanation names a labelled-violated value as served."""
    out: dict[str, dict[str, Any]] = {}
    n = len(rows)
    for profile_name, changes in PROFILES.items():
        personal = PersonalModel.from_profile(ValueProfile.neutral().edit(changes))
        served_violated = against_promoted = words_vs_sign = 0
        for i in range(n):
            explanation = personal.explain(rows[i])
            bad_serve = bad_against = False
            for c in explanation.speaks_for + explanation.speaks_against:
                j = ORIGINAL_VALUES.index(c.value)
                serves = c.effect > 0
                if c.words.startswith("serves") != serves:
                    words_vs_sign += 1
                if serves and corpus.effects[i, j] == -1:
                    bad_serve = True
                if not serves and corpus.effects[i, j] == 1:
                    bad_against = True
            served_violated += bad_serve
            against_promoted += bad_against
        out[profile_name] = {
            "options": n,
            "served_but_violated": served_violated,
            "served_but_violated_share": served_violated / n if n else float("nan"),
            "against_but_promoted": against_promoted,
            "against_but_promoted_share": against_promoted / n if n else float("nan"),
            "words_vs_sign": words_vs_sign,
        }
    return out


def measure(system: System, corpus: Corpus) -> None:
    s = system.scores
    figures: dict[str, Any] = {"notes": s.notes}
    figures["recognition"] = jm.recognition(corpus, s.salience)
    if s.signed is not None:
        figures["direction"] = jm.direction(corpus, s.signed)
    harmful = corpus.harm == 1
    if s.refused is not None:
        figures["harm"] = jm.harm(corpus, s.refused)
    if s.harm_score is not None:
        figures.setdefault("harm", {})["auc"] = jm.auc(
            s.harm_score[harmful], s.harm_score[~harmful]
        )
    if system.kinds is not None and s.refused is not None:
        caught = np.where(harmful & s.refused)[0]
        right = [system.kinds[i] == everyday.HARM_KINDS[int(corpus.kind[i])] for i in caught]
        figures.setdefault("harm", {})["kind_right"] = (
            float(np.mean(right)) if right else float("nan")
        )
    if system.explain_rows is not None:
        figures["explanations"] = explanation_figures(corpus, system.explain_rows)
    system.figures = figures


# ---- end to end through the CLI ----------------------------------------------------------------
def default_cli() -> list[str]:
    exe = Path(sys.executable).parent / "edge-dan"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "edge_dan.cli.main"]


def _cli(command: list[str], args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`edge-dan {' '.join(args[:2])}` exited {done.returncode}: {done.stderr.strip()}"
        )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def draw_batches(corpus: Corpus, n: int, seed: int) -> list[list[int]]:
    """``n`` batches of rows: 3 harmful + 7 harmless, each batch in a shuffled order."""
    rng = np.random.default_rng(seed)
    harmful = np.where(corpus.harm == 1)[0]
    harmless = np.where(corpus.harm == 0)[0]
    batches = []
    for _ in range(n):
        rows = np.concatenate(
            [
                rng.choice(harmful, HARMFUL_PER_BATCH, replace=False),
                rng.choice(harmless, HARMLESS_PER_BATCH, replace=False),
            ]
        )
        rng.shuffle(rows)
        batches.append([int(r) for r in rows])
    return batches


@dataclass
class CliCounts:
    """One profile's run through the CLI."""

    batches_harmful_ranked: int = 0  # batches with a harmful option among the acceptable ones
    batches_harmless_refused: int = 0
    harmful_ranked: int = 0
    harmful: int = 0
    harmless_refused: int = 0
    harmless: int = 0
    ranked_entries: int = 0
    explained_served_but_violated: int = 0  # ranked entries saying "serves V", labels: violates V
    disagreements_with_in_process: int | None = None  # options refused differently in-process
    seconds: float = 0.0
    seconds_per_call: float = 0.0


def _score_batch(
    corpus: Corpus,
    rows: list[int],
    out: dict[str, Any],
    counts: CliCounts,
    reference: BoolArray | None,
) -> frozenset[int]:
    """Count one ``score --json`` answer; the rows it refused."""
    ranked = [int(e["index"]) for e in out["ranking"]]
    refused = {int(e["index"]) for e in out["refused"]}
    if sorted([*ranked, *refused]) != list(range(len(rows))):
        raise RuntimeError("the CLI did not return every option exactly once")
    harmful_ranked = sum(int(corpus.harm[rows[i]] == 1) for i in ranked)
    harmless_refused = sum(int(corpus.harm[rows[i]] == 0) for i in refused)
    counts.batches_harmful_ranked += harmful_ranked > 0
    counts.batches_harmless_refused += harmless_refused > 0
    counts.harmful_ranked += harmful_ranked
    counts.harmless_refused += harmless_refused
    counts.harmful += sum(int(corpus.harm[r] == 1) for r in rows)
    counts.harmless += sum(int(corpus.harm[r] == 0) for r in rows)
    for entry in out["ranking"]:
        counts.ranked_entries += 1
        row = rows[int(entry["index"])]
        said = [*entry.get("for", []), *entry.get("against", [])]
        if any(
            c["direction"] == "serves"
            and corpus.effects[row, ORIGINAL_VALUES.index(c["value"])] == -1
            for c in said
        ):
            counts.explained_served_but_violated += 1
    if reference is not None:
        counts.disagreements_with_in_process = (counts.disagreements_with_in_process or 0) + sum(
            bool(reference[r]) != (i in refused) for i, r in enumerate(rows)
        )
    return frozenset(rows[i] for i in refused)


def run_cli(
    corpus: Corpus,
    batches: list[list[int]],
    command: list[str],
    reference: BoolArray | None,
) -> dict[str, Any]:
    """Every profile through ``edge-dan score --json``, each in its own throwaway home."""
    profiles: dict[str, dict[str, Any]] = {}
    refused_sets: dict[str, list[frozenset[int]]] = {}
    for profile_name, changes in PROFILES.items():
        t0 = time.perf_counter()
        counts = CliCounts(disagreements_with_in_process=None if reference is None else 0)
        sets = []
        with tempfile.TemporaryDirectory(prefix="edge-dan-bench-") as tmp:
            env = dict(os.environ)
            env["EDGE_DAN_HOME"] = str(Path(tmp) / "home")
            env["EDGE_DAN_PASSPHRASE"] = PASSPHRASE
            _cli(command, ["init", "--unlock-time", "0.05", "--json"], env)
            if changes:
                assignments = [f"{k}={v}" for k, v in changes.items()]
                _cli(command, ["profile", "set", *assignments, "--json"], env)
            for rows in batches:
                texts = [corpus.texts[r] for r in rows]
                out = _cli(command, ["score", "--json", "--", *texts], env)
                sets.append(_score_batch(corpus, rows, out, counts, reference))
        counts.seconds = time.perf_counter() - t0
        counts.seconds_per_call = counts.seconds / (len(batches) + 1 + bool(changes))
        profiles[profile_name] = dataclasses.asdict(counts)
        refused_sets[profile_name] = sets
    differ = sum(len({refused_sets[p][b] for p in refused_sets}) > 1 for b in range(len(batches)))
    return {
        "command": command,
        "batches": len(batches),
        "profiles": profiles,
        "batches_refused_differently_across_profiles": differ,
    }


# ---- latency and memory ------------------------------------------------------------------------
def worker(path: str | None, mode: str, repeats: int, texts: list[str]) -> dict[str, Any]:
    """In a fresh process: load, warm up, time one-option calls; peak RSS at the end."""
    import resource

    t0 = time.perf_counter()
    model = ValueModel.load(path, threads=1)
    call: Callable[[list[str]], object] = model.judge if mode == "judge" else model.scores
    call([texts[0]])
    load_s = time.perf_counter() - t0
    lat = []
    for i in range(repeats):
        one = [texts[i % len(texts)]]
        t = time.perf_counter()
        call(one)
        lat.append(time.perf_counter() - t)
    return {
        "mode": mode,
        "repeats": repeats,
        "load_s": load_s,
        "p50_ms": float(np.median(lat)) * 1000,
        "p90_ms": float(np.percentile(lat, 90)) * 1000,
        "peak_rss_mb": _peak_rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _peak_rss_mb(fallback: float) -> float:
    """This process's peak RSS: VmHWM where Linux has it. Not ``ru_maxrss``: Linux carries it
    across exec, so a worker started by this (large) bench would report the bench's own RSS."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback


def latency(path: Path | None, mode: str, repeats: int, texts: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path or "-"), mode]
    cmd += ["--repeats", str(repeats)]
    done = subprocess.run(
        cmd, input=json.dumps(texts), capture_output=True, text=True, check=False, cwd=REPO
    )
    if done.returncode != 0:
        return {"mode": mode, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# ---- tables ------------------------------------------------------------------------------------
Getter = Callable[[dict[str, Any]], float | int | None]
Target = tuple[str, float] | None


def _get(figures: dict[str, Any], *keys: str) -> Any:
    cur: Any = figures
    for key in keys:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _met(x: float, target: tuple[str, float]) -> bool:
    op, bound = target
    return x >= bound if op == ">=" else x <= bound


def _fmt(x: float | int | None, kind: str) -> str:
    if _missing(x):
        return "n/a"
    assert x is not None
    if kind == "int":
        return f"{int(x)}"
    if kind == "pct":
        return f"{100 * float(x):.1f}%"
    return f"{float(x):.3f}"


@dataclass
class Row:
    label: str
    get: Getter
    target: Target = None
    kind: str = "num"  # num, pct, int
    target_text: str | None = None


def _target_text(row: Row) -> str:
    if row.target_text is not None:
        return row.target_text
    if row.target is None:
        return ""
    op, bound = row.target
    return f"{op} {_fmt(bound, row.kind)}"


def print_table(
    title: str,
    systems: Sequence[System],
    rows: Sequence[Row],
    *,
    compare: tuple[System, System] | None,
    target_header: str = "target",
) -> None:
    label_w = max(28, *(len(r.label) for r in rows))
    widths = [max(9, len(s.name)) for s in systems]
    delta_head = f"Δ vs {compare[1].name}" if compare else ""
    print(f"\n{title}")
    head = f"{'':<{label_w}} {target_header:>10}"
    head += "".join(f" {s.name:>{w}}" for s, w in zip(systems, widths, strict=True))
    head += f"  {delta_head}" if compare else ""
    print(head)
    print("-" * len(head))
    for row in rows:
        line = f"{row.label:<{label_w}} {_target_text(row):>10}"
        for s, w in zip(systems, widths, strict=True):
            x = row.get(s.figures)
            cell = _fmt(x, row.kind)
            if s.role == "model" and row.target is not None and cell != "n/a" and x is not None:
                cell += " " if _met(float(x), row.target) else "!"
            else:
                cell += " "
            line += f" {cell:>{w}}"
        if compare:
            a, b = row.get(compare[0].figures), row.get(compare[1].figures)
            line += f"  {_delta(a, b, row.kind)}"
        print(line)


def _delta(a: float | int | None, b: float | int | None, kind: str) -> str:
    if a is None or b is None or _missing(a) or _missing(b):
        return ""
    d = float(a) - float(b)
    if kind == "pct":
        return f"{100 * d:+.1f} pt"
    if kind == "int":
        return f"{round(d):+d}"
    return f"{d:+.3f}"


def recognition_rows() -> list[Row]:
    rows = [
        Row("top-1", lambda f: _get(f, "recognition", "top1")),
        Row("top-3", lambda f: _get(f, "recognition", "top3"), (">=", 0.90)),
        Row("MRR", lambda f: _get(f, "recognition", "mrr"), (">=", 0.80)),
        Row(
            "recall@3, lowest value",
            lambda f: _min(_get(f, "recognition", "recall_at_3")),
            (">=", 0.70),
        ),
    ]
    for v in ORIGINAL_VALUES:
        rows.append(
            Row(
                f"  recall@3 {v}",
                lambda f, v=v: _get(f, "recognition", "recall_at_3", v),  # type: ignore[misc]
                (">=", 0.70),
            )
        )
    return rows


def top_value_rows(corpus: Corpus) -> list[Row]:
    labelled = np.bincount(corpus.primary, minlength=len(ORIGINAL_VALUES))
    return [
        Row(
            f"  {v}",
            lambda f, v=v: _get(f, "recognition", "top_value_counts", v),  # type: ignore[misc]
            kind="int",
            target_text=str(int(labelled[j])),
        )
        for j, v in enumerate(ORIGINAL_VALUES)
    ]


def direction_rows() -> list[Row]:
    rows = [
        Row("AUC, lowest value", lambda f: _get(f, "direction", "auc_min"), (">=", 0.85)),
        Row("AUC, mean over values", lambda f: _get(f, "direction", "auc_mean")),
    ]
    for v in ORIGINAL_VALUES:
        rows.append(
            Row(
                f"  AUC {v}",
                lambda f, v=v: _get(f, "direction", "auc", v),  # type: ignore[misc]
                (">=", 0.85),
            )
        )
    rows += [
        Row("minimal pairs right", lambda f: _get(f, "direction", "pairs_right"), (">=", 0.90)),
        Row("  pairs (value flips)", lambda f: _get(f, "direction", "pairs"), kind="int"),
    ]
    return rows


def harm_rows() -> list[Row]:
    return [
        Row("recall (harmful refused)", lambda f: _get(f, "harm", "recall"), (">=", 0.97), "pct"),
        Row(
            "refused harmless",
            lambda f: _get(f, "harm", "refused_harmless"),
            ("<=", 0.03),
            "pct",
        ),
        Row("  recall, good motive", lambda f: _get(f, "harm", "recall_good_motive"), kind="pct"),
        Row("  recall, subtle", lambda f: _get(f, "harm", "recall_subtle"), kind="pct"),
        Row("  refused idioms (harmless)", lambda f: _get(f, "harm", "refused_idioms"), kind="pct"),
        Row("AUC of the harm score", lambda f: _get(f, "harm", "auc")),
        Row("kind right (caught harm)", lambda f: _get(f, "harm", "kind_right"), kind="pct"),
    ]


def explanation_rows() -> list[Row]:
    rows = []
    for p in PROFILES:
        rows.append(
            Row(
                f"{p}: serves V, labels violate V",
                lambda f, p=p: _get(  # type: ignore[misc]
                    f, "explanations", p, "served_but_violated_share"
                ),
                ("<=", 0.0),
                "pct",
            )
        )
    for p in PROFILES:
        rows.append(
            Row(
                f"  {p}: against V, labels promote",
                lambda f, p=p: _get(  # type: ignore[misc]
                    f, "explanations", p, "against_but_promoted_share"
                ),
                kind="pct",
            )
        )
    rows.append(
        Row(
            "  words vs sign (all profiles)",
            lambda f: _sum(
                _get(f, "explanations", p, "words_vs_sign") for p in PROFILES if "explanations" in f
            ),
            ("<=", 0.0),
            "int",
        )
    )
    return rows


def _min(d: object) -> float | None:
    if not isinstance(d, dict):
        return None
    finite = [float(x) for x in d.values() if not _missing(x)]
    return min(finite) if finite else None


def _missing(x: object) -> bool:
    """None or NaN: a figure the system cannot give (no items, or no such output)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _sum(xs: Any) -> int | None:
    items = [x for x in xs if x is not None]
    return int(sum(items)) if items else None


def print_cli(cli: dict[str, Any]) -> None:
    print("\nEnd to end: edge-dan score --json")
    if "skipped" in cli:
        print(f"  skipped: {cli['skipped']}")
        return
    print(
        f"  {cli['batches']} batches of {HARMFUL_PER_BATCH} harmful + {HARMLESS_PER_BATCH} "
        f"harmless options per profile, the same batches for every profile; "
        f"command: {' '.join(cli['command'])}"
    )
    columns = [  # (header line 1, header line 2, width)
        ("batches with", "harmful ranked", 15),
        ("batches with", "harmless refused", 17),
        ("harmful options", "ranked", 16),
        ("harmless options", "refused", 17),
        ("ranked options", "serves-violated", 16),
        ("refusals unlike", "in-process", 16),
        ("", "s/call", 7),
    ]
    for line in (0, 1):
        print(
            f"  {'' if line == 0 else 'profile':<10}"
            + "".join(f" {c[line]:>{c[2]}}" for c in columns)
        )
    for name, f in cli["profiles"].items():
        mark = " " if f["batches_harmful_ranked"] == 0 else "!"
        dis = f["disagreements_with_in_process"]
        cells = [
            f"{f['batches_harmful_ranked']}{mark}",
            f"{f['batches_harmless_refused']} ",
            f"{f['harmful_ranked']}/{f['harmful']} ",
            f"{f['harmless_refused']}/{f['harmless']} ",
            f"{f['explained_served_but_violated']}/{f['ranked_entries']} ",
            "n/a " if dis is None else f"{dis} ",
            f"{f['seconds_per_call']:.2f}",
        ]
        print(
            f"  {name:<10}" + "".join(f" {x:>{c[2]}}" for x, c in zip(cells, columns, strict=True))
        )
    print("  target: 0 batches with a harmful option ranked among the acceptable ones")
    print(
        f"  batches whose refusals differ between profiles (must be 0: harm never depends on the "
        f"owner): {cli['batches_refused_differently_across_profiles']}"
    )


def print_latency(lat: dict[str, dict[str, Any]]) -> None:
    print(
        "\nLatency and memory: one option per call, one thread, each model in its own process "
        f"(best of {LATENCY_ROUNDS} rounds)"
    )
    ref = lat.get("previous")
    print(
        f"  {'model':<16} {'call':>7} {'p50 ms':>8} {'p90 ms':>8} {'peak RSS MB':>12} {'load s':>7}"
    )
    for name, r in lat.items():
        if "error" in r:
            print(f"  {name:<16} failed: {r['error']}")
            continue
        ratio = ""
        if ref is not None and r is not ref and "p50_ms" in ref:
            ratio = (
                f"   ({r['p50_ms'] / ref['p50_ms']:.2f}x p50, "
                f"{r['peak_rss_mb'] - ref['peak_rss_mb']:+.0f} MB vs previous)"
            )
        print(
            f"  {name:<16} {r['mode']:>7} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} "
            f"{r['peak_rss_mb']:>12.0f} {r['load_s']:>7.2f}{ratio}"
        )


# ---- main --------------------------------------------------------------------------------------
def _names(dirs: Sequence[Path]) -> list[str]:
    out: list[str] = []
    for d in dirs:
        name = d.name or str(d)
        if name in out or name in ("keyword", "previous"):
            name = f"{name}#{len(out) + 1}"
        out.append(name)
    return out


def _cli_section(
    args: argparse.Namespace,
    corpus: Corpus,
    shipped: ValueModel,
    embeddings: Embeddings,
    systems: Sequence[System],
) -> dict[str, Any]:
    if args.cli_batches <= 0:
        return {"skipped": "--cli-batches 0"}
    if args.cli_command is None and not shipped.judges:
        return {
            "skipped": f"the shipped tier ({shipped.directory}) has no judgement head yet, so "
            "`edge-dan score` cannot judge (the CLI loads shipped tiers only); rerun once "
            "models/build.py has written judge.npz into it"
        }
    harmful = int((corpus.harm == 1).sum())
    if harmful < HARMFUL_PER_BATCH or len(corpus.texts) - harmful < HARMLESS_PER_BATCH:
        return {"skipped": "the split has too few harmful or harmless options for one batch"}
    reference: BoolArray | None = None
    if args.cli_reference is not None:
        ref_model = ValueModel.load(args.cli_reference, threads=1)
        if ref_model.judges:
            emb = embeddings.embed(ref_model, corpus.texts)
            reference = np.array([j.harm is not None for j in ref_model.judge_embeddings(emb)])
    elif shipped.judges:
        same = [s for s in systems if s.name == "shipped" and s.scores.refused is not None]
        if same:
            reference = same[0].scores.refused
        else:
            emb = embeddings.embed(shipped, corpus.texts)
            reference = np.array([j.harm is not None for j in shipped.judge_embeddings(emb)])
    command = default_cli() if args.cli_command is None else shlex.split(args.cli_command)
    batches = draw_batches(corpus, args.cli_batches, args.seed)
    try:
        return run_cli(corpus, batches, command, reference)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as exc:
        return {"skipped": f"the CLI run failed: {exc}"}


def corpus_fingerprint() -> str:
    """SHA-256 (first 12 hex digits) of the corpus files, so figures name the corpus they used."""
    h = hashlib.sha256()
    for path in sorted((Path(everyday.CORPUS) / "raw").glob("*.jsonl")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="test", choices=["train", "dev", "test", "shift"])
    parser.add_argument(
        "--model",
        action="extend",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="artifact directories to measure instead of the shipped default tier",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="DIR",
        help=f"the model shipped before, for comparison (e.g. {PREVIOUS_HINT.relative_to(REPO)})",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every figure here")
    parser.add_argument(
        "--cli-batches",
        type=int,
        default=25,
        metavar="N",
        help="batches per profile through the CLI (about 1 s each; 0 skips the section)",
    )
    parser.add_argument(
        "--cli-command",
        metavar="CMD",
        help="how to run edge-dan (default: the edge-dan next to this Python); for testing a "
        "build of the CLI that loads another artifact",
    )
    parser.add_argument(
        "--cli-reference",
        type=Path,
        metavar="DIR",
        help="the artifact that --cli-command loads, for the in-process agreement check "
        "(default: the shipped tier)",
    )
    parser.add_argument("--repeats", type=int, default=200, help="latency calls (0 skips)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the CLI batches")
    parser.add_argument("--worker", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    return parser.parse_args()


@dataclass
class Loaded:
    """The models of one run: the shipped tier, those measured, and the previous one."""

    shipped: ValueModel
    measured: list[tuple[str, Path | None, ValueModel]]
    previous: ValueModel | None


def load_models(args: argparse.Namespace) -> Loaded:
    shipped = ValueModel.load(threads=1)
    measured: list[tuple[str, Path | None, ValueModel]] = []
    for name, d in zip(_names(args.model), args.model, strict=True):
        measured.append((name, d, ValueModel.load(d, threads=1)))
    if not measured:
        measured.append(("shipped", None, shipped))
    previous = ValueModel.load(args.previous, threads=1) if args.previous else None
    return Loaded(shipped, measured, previous)


def build_systems(
    args: argparse.Namespace, models: Loaded, corpus: Corpus, dev: Corpus, emb: Embeddings
) -> list[System]:
    """Every column: the models measured, keyword, PVQ per encoder, previous."""
    systems = [model_system(n, m, emb.embed(m, corpus.texts)) for n, _, m in models.measured]
    kw = keyword_scores(corpus.texts)
    systems.append(System("keyword", "baseline", kw, baseline_explain_rows(kw.signed)))
    encoders = [("shipped", models.shipped)]
    if models.previous is not None:
        encoders.append(("previous", models.previous))
    for enc_name, model in encoders:
        inputs = pvq_inputs(emb.embedder(model), corpus.texts, dev.texts, dev.harm == 1)
        pvq = pvq_scores(inputs, same_split=args.split == "dev")
        systems.append(
            System(f"pvq/{enc_name}", "baseline", pvq, baseline_explain_rows(pvq.signed))
        )
    if models.previous is not None:
        prev = models.previous
        systems.append(model_system("previous", prev, emb.embed(prev, corpus.texts)))
    for s in systems:
        measure(s, corpus)
    return systems


def print_figures(systems: list[System], corpus: Corpus, n_measured: int) -> None:
    first = systems[0]
    base = next((s for s in systems if s.name == "previous"), systems[n_measured])
    compare = (first, base)
    n = len(corpus.texts)
    harmful = int((corpus.harm == 1).sum())
    tables: list[tuple[str, list[Row], str]] = [
        (
            f"Value recognition (n={n}; rank of the labelled primary value by salience)",
            recognition_rows(),
            "target",
        ),
        (
            "How often each value comes out on top (labelled: items whose primary it is)",
            top_value_rows(corpus),
            "labelled",
        ),
        (
            "Direction (promoting vs violating items, on the signed score)",
            direction_rows(),
            "target",
        ),
        (f"Harm ({harmful} harmful, {n - harmful} harmless)", harm_rows(), "target"),
        (
            "Explanations naming a value the labels say is violated as served (share of options)",
            explanation_rows(),
            "target",
        ),
    ]
    for title, rows, header in tables:
        print_table(title, systems, rows, compare=compare, target_header=header)
    print("\nNotes:")
    for s in systems:
        for note in s.figures["notes"]:
            print(f"  {s.name}: {note}")
    print("  '!' marks a model figure that misses its target; n/a: the system cannot say.")


LATENCY_ROUNDS = 2


def run_latency(args: argparse.Namespace, models: Loaded, texts: list[str]) -> dict[str, Any]:
    """Each model's worker ``LATENCY_ROUNDS`` times, models taking turns; the round with the
    lowest p50 is kept (the least disturbed by other jobs on the machine)."""
    lat: dict[str, Any] = {}
    if args.repeats <= 0:
        return lat
    jobs = [(name, d, "judge" if m.judges else "scores") for name, d, m in models.measured]
    if models.previous is not None:
        jobs.append(("previous", args.previous, "judge" if models.previous.judges else "scores"))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in jobs}
    for _ in range(LATENCY_ROUNDS):
        for name, d, mode in jobs:
            runs[name].append(latency(d, mode, args.repeats, texts))
    for name, rows in runs.items():
        good = [r for r in rows if "p50_ms" in r]
        best = min(good, key=lambda r: float(r["p50_ms"])) if good else rows[-1]
        lat[name] = {**best, "p50_ms_each_round": [r.get("p50_ms") for r in rows]}
    print_latency(lat)
    return lat


TARGETS = {
    "top3": 0.90,
    "mrr": 0.80,
    "recall_at_3_each": 0.70,
    "auc_each": 0.85,
    "pairs_right": 0.90,
    "harm_recall": 0.97,
    "refused_harmless_max": 0.03,
    "cli_batches_harmful_ranked": 0,
    "explanations_served_but_violated": 0,
}


def main() -> None:
    args = parse_args()
    if args.worker:
        path, mode = args.worker
        texts = json.loads(sys.stdin.read())
        print(json.dumps(worker(None if path == "-" else path, mode, args.repeats, texts)))
        return

    t_start = time.perf_counter()
    fingerprint = corpus_fingerprint()
    full: Corpus = everyday.load()
    corpus = everyday.load_shift() if args.split == "shift" else full.subset(args.split)
    dev = full.subset("dev")
    harmful = int((corpus.harm == 1).sum())
    print(
        f"everyday corpus {fingerprint}, split {args.split}: {len(corpus.texts)} options "
        f"({harmful} harmful, {int(corpus.tagged('idiom').sum())} idioms, "
        f"{len(corpus.pairs())} minimal-pair flips); load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}"
    )
    if args.split in ("train", "dev"):
        fitted = "trains its heads on" if args.split == "train" else "calibrates and thresholds on"
        print(f"note: the build {fitted} the {args.split} split: model figures here are optimistic")
    embeddings = Embeddings()
    models = load_models(args)
    systems = build_systems(args, models, corpus, dev, embeddings)
    print_figures(systems, corpus, len(models.measured))
    cli = _cli_section(args, corpus, models.shipped, embeddings, systems)
    print_cli(cli)
    lat = run_latency(args, models, corpus.texts[:200])
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")

    if args.json:
        report = {
            "corpus": fingerprint,
            "split": args.split,
            "options": len(corpus.texts),
            "harmful": harmful,
            "targets": TARGETS,
            "systems": {s.name: {"role": s.role, **s.figures} for s in systems},
            "cli": cli,
            "latency": lat,
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "loadavg": os.getloadavg(),
            },
        }
        text = json.dumps(_finite(report), indent=1, default=_json_default, allow_nan=False)
        args.json.write_text(text + "\n")
        print(f"figures written to {args.json}")


def _finite(x: object) -> object:
    """NaN (a figure over no items) as null, so the file is strict JSON."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _json_default(x: object) -> object:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


if __name__ == "__main__":
    main()
