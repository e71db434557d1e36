"""Touché23-ValueEval data and the official metric (build-time helpers, numpy only)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
# Vendored copies (models/data/README.md): the build never reads outside the repository.
SHARED_VALUES = REPO / "models" / "data"
TOUCHE = SHARED_VALUES / "touche23"

# Only these splits are ever read: the test split is held out and must not be used.
SPLITS = {
    "training": ("arguments-training.tsv", "labels-training.tsv"),
    "validation": ("arguments-validation.tsv", "labels-validation.tsv"),
    "zhihu": ("arguments-validation-zhihu.tsv", "labels-validation-zhihu.tsv"),
}


@dataclass(frozen=True)
class Split:
    ids: list[str]
    conclusions: list[str]
    stances: list[str]
    premises: list[str]
    labels: npt.NDArray[np.int8]
    categories: tuple[str, ...]

    def texts(self, kind: str) -> list[str]:
        """The model input built from an argument; ``kind`` picks the recipe."""
        rows = zip(self.conclusions, self.stances, self.premises, strict=True)
        if kind == "premise":
            return list(self.premises)
        if kind == "conclusion":
            return list(self.conclusions)
        if kind == "csp":  # conclusion, stance, premise
            return [f"{c}. {s.capitalize()}: {p}" for c, s, p in rows]
        if kind == "pc":  # premise first, so truncation cuts the conclusion last
            return [f"{p} ({s} {c[0].lower() + c[1:] if c else c})" for c, s, p in rows]
        raise ValueError(f"unknown text kind {kind!r}")


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def label_header(root: Path = TOUCHE) -> tuple[str, ...]:
    with (root / SPLITS["training"][1]).open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    return tuple(header[1:])


def load_split(name: str, root: Path = TOUCHE) -> Split:
    args_file, labels_file = SPLITS[name]
    args = _read_tsv(root / args_file)
    labels = {row["Argument ID"]: row for row in _read_tsv(root / labels_file)}
    categories = label_header(root)
    ids = [a["Argument ID"] for a in args]
    y = np.array([[int(labels[i][c]) for c in categories] for i in ids], dtype=np.int8)
    return Split(
        ids=ids,
        conclusions=[a["Conclusion"] for a in args],
        stances=[a["Stance"] for a in args],
        premises=[a["Premise"] for a in args],
        labels=y,
        categories=categories,
    )


def official_f1(y_true: npt.NDArray[np.integer], y_pred: npt.NDArray[np.bool_]) -> dict[str, float]:
    """ValueEval'23 F1: harmonic mean of macro precision and macro recall over the categories.

    A category with no predicted positives counts precision 0; with no true positives, recall 0
    (as the task's evaluator does).
    """
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    tp = (t & p).sum(axis=0).astype(np.float64)
    npred = p.sum(axis=0).astype(np.float64)
    ntrue = t.sum(axis=0).astype(np.float64)
    prec = np.divide(tp, npred, out=np.zeros_like(tp), where=npred > 0)
    rec = np.divide(tp, ntrue, out=np.zeros_like(tp), where=ntrue > 0)
    mp, mr = float(prec.mean()), float(rec.mean())
    f1 = 0.0 if mp + mr == 0 else 2 * mp * mr / (mp + mr)
    return {"f1": f1, "macro_precision": mp, "macro_recall": mr}
