"""Probes: would another harm reader on top of (or beside) the encoder catch more harm?

    python models/judge_probes.py ngram                 # word/char n-grams, alone and stacked
    python models/judge_probes.py attention CHECKPOINT  # attention pooling on token states

Both answer one question about issue #12's harm target before anyone spends a build on it: is
the limit the encoder's sentence vector, or what reads it? Everything is fitted on the corpus's
train split only, and dev, test and the independent writer's set (``shift``) are only measured;
nothing here is chosen on them.

``ngram``: TF-IDF word (and character) n-grams into a logistic regression, alone, and its logit
mixed with the shipped judgement head's harm logit at a few fixed weights (a stacked reader that
sees the words the sentence vector may blur). Runs on the shipped int8 model.

``attention``: the token states of a fine-tuned encoder (a Hugging Face checkpoint, e.g.
``judge_experiment.py train``'s ``OUT/hf``), read by mean pooling into a logistic regression
(what the build does, in effect) against a learned attention pooling (1 or 4 heads): can a
reader that looks at single words ("starve", "slip into my bag") beat the mean? Needs torch and
transformers (the build venv).

Printed per set: harm AUC, and recall at 3 % and 10 % of harmless options refused.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import everyday
import numpy as np
import numpy.typing as npt

SETS = ("dev", "test", "shift")
Scores = dict[str, npt.NDArray[np.float64]]


def _sets() -> dict[str, Any]:
    corpus = everyday.load()
    found = {name: corpus.subset(name) for name in ("train", "dev", "test")}
    return {**found, "shift": everyday.load_shift()}


def recall_at(scores: npt.NDArray[Any], harmful: npt.NDArray[np.bool_], refused: float) -> float:
    """Share of harmful options above the threshold that refuses ``refused`` of the harmless."""
    harmless = np.sort(scores[~harmful])
    threshold = harmless[int(np.ceil((1 - refused) * len(harmless))) - 1]
    return float((scores[harmful] > threshold).mean())


def report(label: str, scores: Scores, sets: dict[str, Any]) -> None:
    from sklearn.metrics import roc_auc_score

    cells = []
    for name in SETS:
        harmful = sets[name].harm == 1
        auc = roc_auc_score(harmful, scores[name])
        cells.append(
            f"{name} auc {auc:.3f} r@3 {recall_at(scores[name], harmful, 0.03):.3f}"
            f" r@10 {recall_at(scores[name], harmful, 0.10):.3f}"
        )
    print(f"{label:34s} " + " | ".join(cells), flush=True)


def ngram() -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from edge_dan.model import ValueModel

    sets = _sets()
    model = ValueModel.load()
    head = model._judge_head()  # the shipped judgement head: a probe, not the public API
    prob = {
        n: head.harm_probability(model.embed(s.texts).astype(np.float64)) for n, s in sets.items()
    }
    encoder = {
        n: np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1)) for n, p in prob.items()
    }
    report("shipped encoder + head", encoder, sets)
    configs = [
        ((1, 2), None, 4.0),
        ((1, 2), (3, 5), 4.0),
        ((1, 3), (2, 5), 10.0),
        ((1, 2), (3, 5), 1.0),
    ]
    letters = r"[a-z']+"  # words: lower-case letters and apostrophes
    for words, chars, c in configs:
        vectorizers = [TfidfVectorizer(ngram_range=words, sublinear_tf=True, token_pattern=letters)]
        if chars is not None:
            vectorizers.append(
                TfidfVectorizer(analyzer="char_wb", ngram_range=chars, sublinear_tf=True, min_df=2)
            )
        train = hstack([v.fit_transform(sets["train"].texts) for v in vectorizers]).tocsr()
        reader = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        reader.fit(train, sets["train"].harm)

        def logit(texts: list[str], vs: list[Any] = vectorizers, r: Any = reader) -> Any:
            return r.decision_function(hstack([v.transform(texts) for v in vs]).tocsr())

        words_logit = {n: logit(s.texts) for n, s in sets.items()}
        report(f"n-grams w{words} c{chars} C{c}", words_logit, sets)
        for weight in (0.2, 0.35, 0.5):
            mixed = {n: (1 - weight) * encoder[n] + weight * words_logit[n] for n in sets}
            report(f"  stacked, n-gram weight {weight}", mixed, sets)


def attention(checkpoint: str) -> None:
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    sets = _sets()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoder = AutoModel.from_pretrained(checkpoint).eval()
    states, masks, labels = {}, {}, {}
    with torch.no_grad():
        for name, s in sets.items():
            batches = [
                tokenizer(
                    s.texts[i : i + 64],
                    padding="max_length",
                    truncation=True,
                    max_length=48,
                    return_tensors="pt",
                )
                for i in range(0, len(s.texts), 64)
            ]
            states[name] = torch.cat([encoder(**b).last_hidden_state for b in batches])
            masks[name] = torch.cat([b["attention_mask"] for b in batches]).float()
            labels[name] = torch.tensor(s.harm == 1, dtype=torch.float32)

    def mean_pool(name: str) -> Any:
        summed = (states[name] * masks[name][..., None]).sum(1)
        return torch.nn.functional.normalize(summed / masks[name].sum(1, keepdim=True), dim=-1)

    for c in (0.3, 1.0, 3.0):
        reader = LogisticRegression(C=c, max_iter=3000).fit(mean_pool("train"), labels["train"])
        report(
            f"mean pool, LR C={c}", {n: reader.decision_function(mean_pool(n)) for n in SETS}, sets
        )

    class AttentionReader(torch.nn.Module):
        """``heads`` learned queries over the tokens, their weighted states into one logit."""

        def __init__(self, heads: int, width: int = 384) -> None:
            super().__init__()
            self.query = torch.nn.Linear(width, heads)
            self.out = torch.nn.Linear(width * heads, 1)
            self.drop = torch.nn.Dropout(0.1)

        def forward(self, h: Any, m: Any) -> Any:
            weights = self.query(h).masked_fill(m[..., None] == 0, -1e9).softmax(1)
            pooled = torch.einsum("bth,btd->bhd", weights, h).flatten(1)
            return self.out(self.drop(pooled))[:, 0]

    loss_of: Callable[..., Any] = torch.nn.functional.binary_cross_entropy_with_logits
    for heads, decay in ((1, 1e-3), (4, 1e-3), (4, 1e-2)):
        net = AttentionReader(heads)
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=decay)
        size = len(labels["train"])
        for epoch in range(8):
            net.train()
            order = torch.randperm(size)
            for i in range(0, size, 64):
                j = order[i : i + 64]
                loss = loss_of(net(states["train"][j], masks["train"][j]), labels["train"][j])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch in (1, 3, 7):
                net.eval()
                with torch.no_grad():
                    scores = {n: net(states[n], masks[n]).numpy() for n in SETS}
                report(f"attention {heads} head(s), wd {decay}, epoch {epoch}", scores, sets)


if __name__ == "__main__":
    if sys.argv[1:2] == ["ngram"]:
        ngram()
    elif sys.argv[1:2] == ["attention"] and len(sys.argv) == 3:
        attention(sys.argv[2])
    else:
        sys.exit(__doc__)
