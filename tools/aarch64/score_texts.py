"""Score a fixed set of texts with every shipped value-model tier and write the result as JSON.

``check.py`` runs this file twice, with the same edge_dan sources on ``PYTHONPATH``: once with the
host interpreter and once with an aarch64 CPython under qemu-user. It needs only the model's
run-time dependencies (numpy, onnxruntime, tokenizers), so it also proves that edge_dan's import
path holds no platform assumption.

The armv7 check (``tools/foreign/armv7_check.py``) runs it with ``--runtime numpy`` on the host and
with ``--runtime auto`` in a guest without onnxruntime: each tier records which runtime it got.

A tier may name a variant after a colon: ``minilm-int8:numpy`` (the numpy runtime whatever
``--runtime`` says) or ``minilm-int8:exact`` (float32 weight products, ``edge_dan.model.exact``):
the two that compute in float32 and so should agree across CPUs to float rounding.

Usage: ``python score_texts.py OUT.json [--tiers minilm-int8,static-tiny] [--runtime auto]``
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

# Fixed inputs: short options, other scripts and languages, emoji, edge cases and long texts.
_LONG_SENTENCE = (
    "The town council should fund the night bus so that shift workers, students and older "
    "people can get home safely without a car, even if it raises the local tax a little. "
)
TEXTS: tuple[str, ...] = (
    "Take the job abroad for the higher salary",
    "Stay close to family and look after my parents",
    "Donate a month's savings to the flood relief fund",
    "Cheat on the exam so I keep my scholarship",
    "We should ban fossil fuel cars in city centres to protect public health.",
    "Freedom of speech must be protected even for views we find offensive.",
    "Wir sollten die Umwelt schützen und weniger fliegen.",
    "Il faut respecter les traditions de nos ancêtres.",
    "Deberíamos ayudar a los vecinos que lo necesitan.",
    "Нужно уважать закон и порядок в обществе.",
    "我们应该尊重传统，同时鼓励创新。",
    "家族と過ごす時間を大切にしたい。",
    "يجب أن نحمي حرية التعبير للجميع",
    "हमें पर्यावरण की रक्षा करनी चाहिए।",
    "🌍🌱♻️",
    "Let's party tonight 🎉🍾 and forget about work 😎",
    "",
    "   \n\t  ",
    "lone surrogate \ud800 in the middle",
    _LONG_SENTENCE * 20,
    "x" * 10_000,
    "Safety first: lock the door, check the stove, and call mum. " * 60,
)

_RUNTIME = ("numpy", "onnxruntime", "tokenizers")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def _import_edge_dan() -> dict[str, float]:
    """Import the modules the model path uses (and the light ones around it), timing each."""
    seconds: dict[str, float] = {}
    for name in (
        "edge_dan",
        "edge_dan.errors",
        "edge_dan.values",
        "edge_dan.model",
        "edge_dan.model.encoder",
        "edge_dan.model.head",
        "edge_dan.model.integrity",
        "edge_dan.model.static",
        "edge_dan.model.value_model",
    ):
        start = time.perf_counter()
        importlib.import_module(name)
        seconds[name] = round(time.perf_counter() - start, 4)
    return seconds


VARIANTS = ("", "numpy", "exact")


def score_tier(spec: str, runtime: str = "auto") -> dict[str, Any]:
    """Scores of ``TEXTS`` for one tier (``NAME[:VARIANT]``), or why it could not be loaded."""
    from edge_dan.errors import EdgeDanError
    from edge_dan.model import ValueModel

    tier, _, variant = spec.partition(":")
    if variant == "numpy":
        runtime = "numpy"
    start = time.perf_counter()
    try:
        model = ValueModel.load(tier=tier, runtime=runtime, exact=variant == "exact")
    except EdgeDanError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    loaded = time.perf_counter()
    # One encoding serves both heads (what scores() and judge() each do), which halves the
    # time under emulation.
    embeddings = model.embed(list(TEXTS))
    scores = model.scores_from_embeddings(embeddings)
    judged = model.judge_embeddings(embeddings) if model.judges else []
    done = time.perf_counter()
    return {
        "runtime": model.runtime,
        "exact": model.exact,
        "shape": list(scores.shape),
        "scores": scores.tolist(),
        "thresholds": model.thresholds.tolist(),
        # signed value effects and harm: the same on every CPU, or the refusals would differ
        "effects": [list(j.effects) for j in judged],
        "harm_probability": [j.harm_probability for j in judged],
        "harmful": [j.harm is not None for j in judged],
        "load_seconds": round(loaded - start, 4),
        "score_seconds": round(done - loaded, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON result")
    parser.add_argument("--tiers", default="minilm-int8,static-tiny")
    parser.add_argument("--runtime", default="auto", help="ValueModel.load's runtime argument")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    imports = _import_edge_dan()
    from edge_dan.model import TIERS

    result: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "versions": {name: _version(name) for name in _RUNTIME},
        "import_seconds": imports,
        "n_texts": len(TEXTS),
        "tiers": {},
    }
    for tier in (t for t in args.tiers.split(",") if t):
        name, _, variant = tier.partition(":")
        if name not in TIERS or variant not in VARIANTS:
            result["tiers"][tier] = {"skipped": f"this edge_dan ships no tier {tier!r}"}
            continue
        result["tiers"][tier] = score_tier(tier, args.runtime)
    result["total_seconds"] = round(time.perf_counter() - started, 3)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
