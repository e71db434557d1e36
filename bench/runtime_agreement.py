"""How closely the value model's runtimes agree: numpy against onnxruntime, default and exact.

    python bench/runtime_agreement.py [--per-file 70] [--shift-every 1]

Texts: the first ``--per-file`` options of every file of the everyday corpus
(models/data/everyday/raw/) and every ``--shift-every``-th option of the independent writer's
set (models/data/everyday-shift/). Each is scored one at a time (the default batch size) by

- ``numpy``: the numpy runtime (float32 throughout; what a phone without onnxruntime runs);
- ``onnxruntime``: the shipped setting, activations rounded to int8 before each weight product;
- ``exact``: onnxruntime with float32 weight products (``edge_dan/model/exact.py``).

For ``onnxruntime`` and ``exact`` against ``numpy`` it prints the largest and 99th-percentile
differences of the 20 category scores, the signed value effects and the harm probability, and
how many decisions differ: category detections, harm refusals, and the top value of each option.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "models" / "data" / "everyday" / "raw"
SHIFT = REPO / "models" / "data" / "everyday-shift" / "shift.jsonl"


def _texts(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def texts(per_file: int, shift_every: int) -> list[str]:
    out = [t for path in sorted(RAW.glob("*.jsonl")) for t in _texts(path)[:per_file]]
    return out + _texts(SHIFT)[::shift_every]


def run(runtime: str, exact: bool, items: list[str]) -> dict[str, Any]:
    from edge_dan.model import ValueModel

    model = ValueModel.load(threads=1, runtime=runtime, exact=exact)
    start = time.perf_counter()
    embeddings = model.embed(items)
    seconds = time.perf_counter() - start
    judged = model.judge_embeddings(embeddings)
    scores = model.scores_from_embeddings(embeddings)
    return {
        "scores": scores,
        "detect": scores >= model.thresholds,
        "effects": np.array([j.effects for j in judged]),
        "harm": np.array([j.harm_probability for j in judged]),
        "refused": np.array([j.harm is not None for j in judged]),
        "ms_per_text": 1000 * seconds / len(items),
    }


def compare(ref: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    row: dict[str, float] = {}
    for key in ("scores", "effects", "harm"):
        diff = np.abs(ref[key] - other[key]).ravel()
        row[f"{key} max"] = float(diff.max())
        row[f"{key} p99"] = float(np.percentile(diff, 99))
    row["detections differing"] = int((ref["detect"] != other["detect"]).sum())
    row["refusals differing"] = int((ref["refused"] != other["refused"]).sum())
    top = np.argmax(ref["effects"], axis=1) != np.argmax(other["effects"], axis=1)
    row["top value differing"] = int(top.sum())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-file", type=int, default=70)
    parser.add_argument("--shift-every", type=int, default=1)
    args = parser.parse_args()
    items = texts(args.per_file, args.shift_every)
    ref = run("numpy", False, items)
    runs = {
        "onnxruntime": run("onnxruntime", False, items),
        "exact": run("onnxruntime", True, items),
    }
    print(
        f"{len(items)} options ({platform.processor() or platform.machine()}), one at a time; "
        f"{ref['detect'].size} category decisions, {int(ref['refused'].sum())} refused by numpy"
    )
    rows = {name: compare(ref, result) for name, result in runs.items()}
    keys = list(next(iter(rows.values())))
    print(f"{'against numpy':24s}" + "".join(f"{name:>14s}" for name in rows))
    for key in keys:
        cells = "".join(
            f"{rows[n][key]:>14.2e}" if isinstance(rows[n][key], float) else f"{rows[n][key]:>14d}"
            for n in rows
        )
        print(f"{key:24s}{cells}")
    timing = ", ".join(f"{n} {r['ms_per_text']:.1f}" for n, r in {"numpy": ref, **runs}.items())
    print(f"ms per option (embedding, one at a time): {timing}")


if __name__ == "__main__":
    main()
