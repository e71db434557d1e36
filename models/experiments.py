"""Head experiments on frozen MiniLM embeddings: which text recipe, head and C raise validation F1.

Run after `python models/build.py` (it exports the frozen int8 encoder to
models/build/frozen/int8.onnx; --onnx picks another). Each config is scored with the build's
protocol: head fitted on training, Platt + thresholds fitted on out-of-fold training scores
(topic-grouped folds), F1 measured on validation ("honest"); plus the F1 cross-fitted over
validation folds and the optimistic F1 with Platt + thresholds fitted on validation itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build
import data
import embed

GRID_C = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", type=Path, default=Path(__file__).parent / "build")
    parser.add_argument("--onnx", type=Path, default=None)
    parser.add_argument("--grid", default="kinds")
    parser.add_argument("--c", type=float, nargs="*", default=None)
    args = parser.parse_args()
    b = args.build
    onnx_path = args.onnx or b / "frozen" / "int8.onnx"
    enc = embed.open_encoder(onnx_path, b / "minilm-fp32" / "tokenizer.json")
    mhash = embed.file_sha256(onnx_path)
    tr, va = data.load_split("training"), data.load_split("validation")

    def emb(split: data.Split, kind: str) -> np.ndarray:
        if "+" in kind:
            return np.hstack([emb(split, k) for k in kind.split("+")])
        return embed.embed_cached(enc, mhash, split.texts(kind), b / "cache")

    def run(kind: str, cfg: dict[str, Any]) -> None:
        _, m = build.evaluate_head(
            emb(tr, kind), tr.labels, emb(va, kind), va.labels, groups=tr.conclusions, cfg=cfg
        )
        h, t = m["f1_honest"], m["f1_tuned_on_validation"]
        cf = m["f1_crossfit_validation"]["f1"]
        print(
            f"{kind:20s} {cfg!s:70s} honest {h['f1']:.4f} (P {h['macro_precision']:.3f} "
            f"R {h['macro_recall']:.3f})  crossfit {cf:.4f}  tuned {t['f1']:.4f}",
            flush=True,
        )

    lin = {"kind": "linear", "c": 0.03, "balanced": True}
    if args.grid == "kinds":
        for kind in ["csp", "premise", "pc", "premise+conclusion"]:
            for c in [0.01, 0.1]:
                run(kind, {**lin, "c": c})
    elif args.grid.startswith("c:"):
        kind = args.grid[2:]
        for c in args.c or GRID_C:
            run(kind, {**lin, "c": c})
        run(kind, {**lin, "c": 0.01, "balanced": False})
    elif args.grid.startswith("mlp:"):
        kind = args.grid[4:]
        for hidden, epochs, alpha in [(256, 10, 1e-3), (512, 20, 1e-3), (512, 10, 1e-2)]:
            run(
                kind,
                {
                    "kind": "mlp",
                    "hidden": hidden,
                    "epochs": epochs,
                    "alpha": alpha,
                    "balanced": True,
                },
            )


if __name__ == "__main__":
    main()
