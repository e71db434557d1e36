"""Experiment: fine-tune MiniLM on training premises, then run the frozen pipeline on top of it.

    python models/finetune_experiment.py [--epochs 1]

Prints the same validation figures as models/experiments.py for the fine-tuned int8 encoder.
The "honest" F1 is not comparable here (the encoder has seen every training argument, so
out-of-fold training scores are over-confident); compare the cross-fitted validation F1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build
import data
import embed
import export_onnx
import finetune


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", type=Path, default=Path(__file__).parent / "build")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--kind", default="premise")
    args = parser.parse_args()
    b: Path = args.build / "finetuned"
    tr, va = data.load_split("training"), data.load_split("validation")
    t0 = time.time()
    finetune.finetune(
        export_onnx.minilm_dir(), tr.texts(args.kind), tr.labels, b / "hf", epochs=args.epochs
    )
    print(f"fine-tuned in {time.time() - t0:.0f}s", flush=True)
    export_onnx.export_fp32(b / "hf", b / "fp32.onnx")
    export_onnx.quantize_int8(b / "fp32.onnx", b / "int8.onnx")
    tok = args.build / "minilm-fp32" / "tokenizer.json"
    for variant in ("fp32", "int8"):
        enc = embed.open_encoder(b / f"{variant}.onnx", tok)
        h = embed.file_sha256(b / f"{variant}.onnx")
        xt = embed.embed_cached(enc, h, tr.texts(args.kind), args.build / "cache")
        xv = embed.embed_cached(enc, h, va.texts(args.kind), args.build / "cache")
        _, m = build.evaluate_head(
            xt, tr.labels, xv, va.labels, groups=tr.conclusions, cfg=build.HEAD
        )
        print(variant, {k: round(v["f1"], 4) for k, v in m.items() if "f1" in k}, flush=True)


if __name__ == "__main__":
    main()
