"""Give the numpy tier (``static-tiny``) its judgement head: direction and harm without onnxruntime.

    python models/judge_tiny.py [--tier-dir edge_dan/model/artifacts/static-tiny]

The tier's encoder is a bag of token vectors (models/build_tiny.py), so it cannot be fine-tuned
the way MiniLM was; instead the same heads (signed effects, primary value, harm, harm kind and
target) are fitted as logistic regressions on its vectors of the everyday corpus's train split
(models/judge_fit.py ``fit_linear_heads``), then calibrated, and the harm threshold chosen, on dev
exactly as for the shipped tier. The vectors are made by the run-time code
(``edge_dan.model.static.StaticEncoder``). Writes ``judge.npz`` into the tier and records it (and
its SHA-256, and the dev figures) in ``meta.json``. numpy + scipy only; seconds.

What a bag of tokens cannot do: word order is invisible and negation nearly so, so minimal
pairs that differ by "keep"/"break" are told apart only through the words' own vectors; the dev
figures in meta.json (and bench/judgement.py on test) say how far that goes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import embed  # noqa: E402
import everyday  # noqa: E402
import judge_fit  # noqa: E402
from build import save_npz  # noqa: E402

from edge_dan.model.integrity import read_meta  # noqa: E402
from edge_dan.model.static import StaticEncoder  # noqa: E402

# L2 strength chosen on dev among 0.1, 0.3, 1, 3 (models/README.md, "Tiny tier").
C = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--tier-dir", type=Path, default=HERE.parent / "edge_dan/model/artifacts/static-tiny"
    )
    parser.add_argument("--c", type=float, default=C)
    args = parser.parse_args()
    directory: Path = args.tier_dir
    meta = read_meta(directory)
    encoder = StaticEncoder.open(directory, meta)
    corpus = everyday.load()
    train, dev = corpus.subset("train"), corpus.subset("dev")
    heads = judge_fit.fit_linear_heads(encoder.embed(train.texts), train, c=args.c)
    judge = judge_fit.calibrate(heads, encoder.embed(dev.texts), dev)
    save_npz(directory / "judge.npz", judge["arrays"])
    path = directory / "judge.npz"
    meta["files"]["judge.npz"] = {"sha256": embed.file_sha256(path), "bytes": path.stat().st_size}
    meta["judge"] = {
        "file": "judge.npz",
        "heads": "signed effects (10 x 3), primary value, harm, harm kind, harm target; "
        f"logistic regressions on the static vectors (C = {args.c})",
        "calibration": "temperatures and harm threshold on the everyday dev split",
        "dev": judge["dev"],
    }
    text = json.dumps(meta, indent=1, ensure_ascii=False) + "\n"
    (directory / "meta.json").write_text(text, encoding="utf-8")
    d = judge["dev"]
    print(
        json.dumps(
            {
                "recognition": {k: d["recognition"][k] for k in ("top1", "top3", "mrr")},
                "direction": {k: d["direction"][k] for k in ("auc_mean", "auc_min", "pairs_right")},
                "harm": d["harm"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
