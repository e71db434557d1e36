"""A small validation check: the shipped model beats all-ones on 200 validation arguments."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from modelkit import need_runtime, touche_file

from edge_dan.model import ValueModel

N = 200
# Measured on these 200 arguments when the artifacts were built (see models/README.md); the
# floor leaves room for onnxruntime versions and CPUs that round differently.
F1_FLOOR = 0.40


def official_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = (truth & pred).sum(axis=0)
    npred, ntrue = pred.sum(axis=0), truth.sum(axis=0)
    precision = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0).mean()
    recall = np.where(ntrue > 0, tp / np.maximum(ntrue, 1), 0.0).mean()
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


@pytest.mark.slow
def test_f1_on_validation_sample() -> None:
    need_runtime()
    args_path = touche_file("arguments-validation.tsv")
    labels_path = touche_file("labels-validation.tsv")
    model = ValueModel.load()
    with args_path.open(encoding="utf-8", newline="") as fh:
        args = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:N]
    with labels_path.open(encoding="utf-8", newline="") as fh:
        labels = {r["Argument ID"]: r for r in csv.DictReader(fh, delimiter="\t")}
    assert model.meta["head"]["text_recipe"] == "premise"
    truth = np.array([[labels[a["Argument ID"]][c] == "1" for c in model.categories] for a in args])
    pred = model.detect([a["Premise"] for a in args])
    all_ones = official_f1(truth, np.ones_like(truth))
    f1 = official_f1(truth, pred)
    assert f1 > F1_FLOOR > all_ones
