"""Experiment: a judgement recipe measured on dev, test and the independent writer's set.

    python models/judge_experiment.py train OUT '{"token_mask": 0.15}'   # fine-tune (~1 h here)
    python models/judge_experiment.py measure OUT/hf ROOT 1 0.85 0.7 0.5  # one row per alpha

``train`` fine-tunes the encoder with ``judge_train.CONFIG`` updated by the JSON given (the
shipped recipe with ``{}``) into ``OUT/hf``. ``measure`` interpolates the weights between the
original all-MiniLM-L6-v2 (alpha 0) and the fine-tuned ones (alpha 1), as in WiSE-FT (Wortsman
et al., "Robust fine-tuning of zero-shot models", CVPR 2022: averaging the weights of the
pre-trained and the fine-tuned model keeps more of what pre-training knew and tends to hold up
better on data unlike the fine-tuning data), then for each alpha exports and quantizes the
encoder as the build does, chooses and calibrates the judgement heads on the train and dev
splits (``judge_fit.choose``, as the build does), and prints the figures of dev, test and
``shift`` (models/data/everyday-shift/). Nothing is fitted or chosen on test or shift here;
the choice between recipes is the reader's, and the shift set loses its worth if it becomes a
target to tune to (say so when it is used to choose). Each alpha writes ``ROOT/a<alpha>/``:
``model.onnx``, ``tokenizer.json``, ``judge.npz``, ``figures.json`` (not a shippable tier: no
category head or meta.json; ``models/build.py --reuse-finetuned`` makes one).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data
import embed
import everyday
import export_onnx
import judge_fit
import judge_metrics as jm
import judge_train
import quantize

MAX_LENGTH = 128


def train(out: Path, changes: dict[str, Any]) -> None:
    from build import TEXT_KIND, log

    config = {**judge_train.CONFIG, **changes}
    touche = data.load_split("training")
    judge_train.finetune(
        export_onnx.minilm_dir(),
        everyday.load().subset("train"),
        touche.texts(TEXT_KIND),
        touche.labels,
        out / "hf",
        config=config,
        log=log,
    )


def _recall_at(p: np.ndarray, harmful: np.ndarray, refused: float) -> float:
    """Harm recall at the threshold that refuses ``refused`` of the harmless options."""
    harmless = np.sort(p[~harmful])
    threshold = harmless[int(np.ceil((1 - refused) * len(harmless))) - 1]
    return float((p[harmful] > threshold).mean())


def figures(
    arrays: dict[str, np.ndarray], x: np.ndarray, corpus: everyday.Corpus
) -> dict[str, float]:
    from edge_dan.model.judge import JudgeHead

    head = JudgeHead(arrays, dim=x.shape[1])
    judged = head.judge(x)
    p = np.array([j.harm_probability for j in judged])
    effects = np.array([j.effects for j in judged])
    salience = np.array([j.salience for j in judged])
    rec = jm.recognition(corpus, salience)
    dirn = jm.direction(corpus, effects)
    harm = jm.harm(corpus, p >= head.harm_threshold)
    harmful = corpus.harm == 1
    return {
        "top3": rec["top3"],
        "mrr": rec["mrr"],
        "auc_mean": dirn["auc_mean"],
        "auc_min": dirn["auc_min"],
        "pairs": dirn["pairs_right"],
        "harm_auc": jm.harm_auc(corpus, p),
        "recall": harm["recall"],
        "refused": harm["refused_harmless"],
        "recall_at_3pct": _recall_at(p, harmful, 0.03),
        "recall_at_10pct": _recall_at(p, harmful, 0.10),
    }


def interpolate(base: Path, tuned: Path, alpha: float, out: Path) -> None:
    """``(1 - alpha) * base + alpha * tuned`` for every weight both have, into ``out``."""
    from safetensors.torch import load_file, save_file

    start, end = (
        load_file(str(base / "model.safetensors")),
        load_file(str(tuned / "model.safetensors")),
    )
    mixed = {}
    for name, weight in end.items():
        bare = name.removeprefix("bert.")
        other = start.get(name, start.get(bare))
        if other is None or other.shape != weight.shape:
            raise SystemExit(f"{name}: no weight of that shape in {base}")
        mixed[name] = ((1 - alpha) * other.float() + alpha * weight.float()).contiguous()
    out.mkdir(parents=True, exist_ok=True)
    save_file(mixed, str(out / "model.safetensors"), metadata={"format": "pt"})
    for f in tuned.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            shutil.copy(f, out / f.name)


def measure(tuned: Path, root: Path, alphas: list[float]) -> None:
    base = export_onnx.minilm_dir()
    corpus = everyday.load()
    sets = {name: corpus.subset(name) for name in ("train", "dev", "test")}
    sets["shift"] = everyday.load_shift()
    heads = dict(np.load(tuned / "judge_heads.npz"))
    for alpha in alphas:
        t0 = time.time()
        here = root / f"a{alpha:g}"
        interpolate(base, tuned, alpha, here / "hf")
        export_onnx.export_fp32(here / "hf", here / "fp32.onnx")
        quantize.quantize_weight_only(here / "fp32.onnx", here / "model.onnx")
        export_onnx.write_tokenizer(base, here / "tokenizer.json", MAX_LENGTH)
        encoder = embed.open_encoder(here / "model.onnx", here / "tokenizer.json", threads=1)
        x = {name: np.asarray(encoder.embed(s.texts), np.float64) for name, s in sets.items()}
        chosen = judge_fit.choose(heads, x["train"], sets["train"], x["dev"], sets["dev"])
        np.savez(here / "judge.npz", **chosen["arrays"])
        row: dict[str, Any] = {"alpha": alpha, "heads": chosen["dev"]["heads"]}
        for name in ("dev", "test", "shift"):
            row[name] = figures(chosen["arrays"], x[name], sets[name])
        (here / "figures.json").write_text(json.dumps(row, indent=1) + "\n")
        shutil.rmtree(here / "hf")  # 90 MB each; the alpha and the tuned weights remake it
        (here / "fp32.onnx").unlink()
        print(json.dumps(row), f"({time.time() - t0:.0f} s)", flush=True)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "train":
        train(Path(sys.argv[2]), json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
    elif len(sys.argv) >= 5 and sys.argv[1] == "measure":
        measure(Path(sys.argv[2]), Path(sys.argv[3]), [float(a) for a in sys.argv[4:]])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
