"""Value model tiers side by side: latency, throughput, memory, cold start, size, validation F1.

    python bench/model.py [--f1-n 1896] [--repeats 200]

Each tier runs in its own subprocess so peak RSS and cold start (import + load) are its own.
Tiers: fp32 (models/build/minilm-fp32, made by models/build.py; skipped if absent), the shipped
int8 on onnxruntime, the same files on onnxruntime with exact compute (``int8-exact``: float32
weight products, the scores of the numpy runtime; ``edge_dan/model/exact.py``), the same int8
files on the numpy runtime (``int8-np``: the pure-Python tokenizer and numpy, what a phone
without onnxruntime runs), and the numpy-only tiny tier
``static-tiny`` (models/build_tiny.py). Ratios are to fp32 when it is there; the numpy runtime's
ratios to int8 on onnxruntime are printed after the table.

``--armv7`` also runs the two numpy tiers (``int8-np``, ``tiny``) under Debian's armhf CPython in
qemu-arm (the guest of ``tools/foreign/armv7_check.py``, set up by it) and prints their ratios to
the same tiers here; emulated times say nothing absolute about a board. Emulation is slow: pair it
with ``--repeats 20 --rounds 1 --f1-n 0``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FP32_DIR = REPO / "models" / "build" / "minilm-fp32"
VALIDATION = REPO / "models" / "data" / "touche23"

OPTIONS = [
    "Go hiking in the mountains this weekend.",
    "Stay home and watch a film.",
    "Donate part of my bonus to the food bank.",
    "Buy the cheaper car and save the rest.",
    "Ask my manager for a raise.",
    "Visit grandma on Sunday.",
    "Try the new Thai restaurant downtown.",
    "Follow the building rules and skip the extension.",
    "Volunteer at the animal shelter.",
    "Learn to play the guitar.",
    "Take the job offer abroad.",
    "Install solar panels on the roof.",
]


def _validation(n: int) -> tuple[list[str], list[list[bool]]] | None:
    args_path = VALIDATION / "arguments-validation.tsv"
    labels_path = VALIDATION / "labels-validation.tsv"
    if not (args_path.is_file() and labels_path.is_file()):
        return None
    with args_path.open(encoding="utf-8", newline="") as fh:
        args = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]
    with labels_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = list(reader.fieldnames or [])[1:]
        labels = {r["Argument ID"]: [r[c] == "1" for c in header] for r in reader}
    return [a["Premise"] for a in args], [labels[a["Argument ID"]] for a in args]


def worker(name: str, path: str | None, repeats: int, f1_n: int, rounds: int) -> dict[str, Any]:
    import resource

    t0 = time.perf_counter()
    import numpy as np

    from edge_dan.model import ValueModel

    runtime = "numpy" if name.endswith("-np") else "auto"
    exact = name.endswith("-exact")
    model = ValueModel.load(path, threads=1, runtime=runtime, exact=exact)
    model.scores(["warm up"])
    cold = time.perf_counter() - t0
    lat = []
    for i in range(repeats):
        text = [OPTIONS[i % len(OPTIONS)]]
        t = time.perf_counter()
        model.scores(text)
        lat.append(time.perf_counter() - t)
    batch = [OPTIONS[i % len(OPTIONS)] + f" ({i})" for i in range(32)]
    # Throughput at batch 32 asks for real batches (the default runs one text at a time, so
    # that scores never depend on batch-mates).
    model = ValueModel.load(path, threads=1, batch_size=32, runtime=runtime, exact=exact)
    model.scores(batch)
    # Time for at least half a second: the fast tiers finish ten batches in a few milliseconds,
    # too short to measure steadily.
    t = time.perf_counter()
    done = 0
    while done < rounds or time.perf_counter() - t < 0.5:
        model.scores(batch)
        done += 1
    throughput = done * 32 / (time.perf_counter() - t)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in model.directory.iterdir() if p.is_file())
    out: dict[str, Any] = {
        "tier": name,
        "cold_start_s": cold,
        "p50_ms": float(np.median(lat)) * 1000,
        "p90_ms": float(np.percentile(lat, 90)) * 1000,
        "throughput_per_s": throughput,
        "peak_rss_mb": rss_mb,
        "size_mb": size / 1e6,
        "f1": None,
    }
    val = _validation(f1_n) if f1_n > 0 else None
    if val is not None:
        texts, truth = val
        pred = model.detect(texts)
        y = np.array(truth, dtype=bool)
        tp = (y & pred).sum(axis=0)
        npred, ntrue = pred.sum(axis=0), y.sum(axis=0)
        p = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0).mean()
        r = np.where(ntrue > 0, tp / np.maximum(ntrue, 1), 0.0).mean()
        out["f1"] = float(2 * p * r / (p + r)) if p + r else 0.0
        out["f1_n"] = len(texts)
        honest = model.meta.get("validation", {}).get("results", {})
        for key in ("int8+head", "fp32+head", "static+head"):  # this tier's own entry first
            if key in honest:
                out["f1_honest_recorded"] = honest[key]["f1_honest"]["f1"]
                break
    return out


def _ratio(x: float | None, ref: float | None) -> str:
    if x is None or not ref:
        return ""
    return f" ({x / ref:.2f}x)"


def _numpy_ratios(rows: list[dict[str, Any]], cols: list[tuple[str, str, str]]) -> None:
    """The numpy runtime against onnxruntime on the same int8 files."""
    numpy_run = next((r for r in rows if r["tier"] == "int8-np"), None)
    for tier, what in (("int8", "onnxruntime"), ("int8-exact", "onnxruntime, exact")):
        native = next((r for r in rows if r["tier"] == tier), None)
        if native is None or numpy_run is None:
            continue
        ratios = [
            f"{label} {numpy_run[key] / native[key]:.2f}x"
            for label, key, _ in cols[:4]
            if numpy_run.get(key) and native.get(key)
        ]
        print(f"int8-np / {tier} (numpy runtime / {what}): " + ", ".join(ratios))


def _armv7_guest() -> tuple[list[str], dict[str, str]]:
    """The armv7 guest's interpreter command and environment (tools/foreign/armv7_check.py)."""
    sys.path.insert(0, str(REPO / "tools" / "foreign"))
    import armv7_check as armv7

    cache = armv7.default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    qemu = armv7.ensure_qemu(armv7.ARMHF, install=False)
    sysroot, _ = armv7.ensure_sysroot(armv7.ARMHF, cache, armv7.GUEST_PACKAGES)
    site, _ = armv7.ensure_site(cache)
    python = str(sysroot / "usr" / "bin" / "python3.11")
    return [qemu, "-cpu", armv7.CPU, "-L", str(sysroot), python], armv7.guest_env([site, REPO])


def _run_worker(
    python: list[str], name: str, path: str, args: argparse.Namespace, env: dict[str, str] | None
) -> dict[str, Any] | str:
    """One tier in its own process: its row, or why it failed."""
    cmd = [*python, __file__, "--worker", name, path, "--repeats", str(args.repeats)]
    cmd += ["--f1-n", str(args.f1_n), "--rounds", str(args.rounds)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO, env=env)
    if done.returncode != 0:
        return f"{name} failed: {done.stderr.strip().splitlines()[-1:]}"
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def _armv7_rows(
    tiers: list[tuple[str, str]], args: argparse.Namespace, notes: list[str]
) -> list[dict[str, Any]]:
    """The numpy tiers under qemu-arm, named ``<tier>@armv7``."""
    try:
        python, env = _armv7_guest()
    except Exception as exc:  # SetupUnavailable, OSError: the bench goes on without the guest
        notes.append(f"armv7 skipped: {exc}")
        return []
    rows = []
    for name, path in tiers:
        if name not in ("int8-np", "tiny"):
            continue  # onnxruntime has no armv7 build
        row = _run_worker(python, name, path, args, env)
        if isinstance(row, str):
            notes.append(f"armv7 {row}")
            continue
        row["tier"] = f"{name}@armv7"
        rows.append(row)
    return rows


def _armv7_ratios(rows: list[dict[str, Any]]) -> None:
    by_name = {r["tier"]: r for r in rows}
    for name, guest in by_name.items():
        host = by_name.get(name.removesuffix("@armv7"))
        if host is None or host is guest:
            continue
        print(
            f"{name} / {host['tier']} (qemu-arm cortex-a7 / this machine): "
            f"p50 {guest['p50_ms'] / host['p50_ms']:.1f}x, "
            f"texts/s {guest['throughput_per_s'] / host['throughput_per_s']:.3f}x"
        )


COLUMNS = [
    ("p50 ms b=1", "p50_ms", "{:.2f}"),
    ("texts/s b=32", "throughput_per_s", "{:.1f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    ("cold start s", "cold_start_s", "{:.2f}"),
    ("size MB", "size_mb", "{:.1f}"),
    ("val F1", "f1", "{:.3f}"),
]


def _print_table(rows: list[dict[str, Any]]) -> None:
    ref = next((r for r in rows if r["tier"] == "fp32"), None)
    print(f"{'tier':13s} | " + " | ".join(f"{c[0]:>20s}" for c in COLUMNS))
    for r in rows:
        cells = []
        for _, key, fmt in COLUMNS:
            v = r.get(key)
            txt = "n/a" if v is None else fmt.format(v)
            if ref is not None and r is not ref:
                txt += _ratio(v, ref.get(key))
            cells.append(f"{txt:>20s}")
        print(f"{r['tier']:13s} | " + " | ".join(cells))
    _numpy_ratios(rows, COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--f1-n", type=int, default=1896, help="validation arguments for F1")
    parser.add_argument("--json", action="store_true", help="print raw JSON rows too")
    parser.add_argument("--rounds", type=int, default=10, help="least batches of 32 timed")
    parser.add_argument("--armv7", action="store_true", help="numpy tiers under qemu-arm too")
    args = parser.parse_args()
    if args.worker:
        name, path = args.worker
        row = worker(name, None if path == "-" else path, args.repeats, args.f1_n, args.rounds)
        print(json.dumps(row))
        return

    tiers: list[tuple[str, str]] = []
    notes: list[str] = []
    if (FP32_DIR / "meta.json").is_file():
        tiers.append(("fp32", str(FP32_DIR)))
    else:
        notes.append(f"fp32 skipped: {FP32_DIR} missing (run python models/build.py)")
    tiers.append(("int8", "-"))
    tiers.append(("int8-exact", "-"))
    tiers.append(("int8-np", "-"))
    from edge_dan.model import TIERS, tier_directory

    tiny_dir = tier_directory("static-tiny") if "static-tiny" in TIERS else None
    if tiny_dir is not None and (tiny_dir / "meta.json").is_file():
        tiers.append(("tiny", str(tiny_dir)))
    else:
        notes.append("tiny tier skipped: run python models/build_tiny.py")

    rows: list[dict[str, Any]] = []
    for name, path in tiers:
        result = _run_worker([sys.executable], name, path, args, None)
        if isinstance(result, str):
            notes.append(result)
            continue
        rows.append(result)
    if args.armv7:
        rows += _armv7_rows(tiers, args, notes)
    _print_table(rows)
    _armv7_ratios(rows)
    print(
        "one intra-op thread; latency over short everyday options; F1 = official ValueEval F1 "
        "on validation premises with the shipped thresholds (tuned partly on validation: "
        "optimistic; see meta.json for the honest figure)"
    )
    for note in notes:
        print("note:", note)
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
