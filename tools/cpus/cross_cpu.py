"""Do the value model's encoders give the same numbers on other CPUs? (x86 under qemu, aarch64)

onnxruntime's MLAS picks its kernels from CPUID: SSE only, AVX, AVX2+FMA, AVX-512, AVX-512 VNNI
(int8 dot products) on x86; NEON with or without dot-product instructions on aarch64. This tool
embeds the same texts (``embed_texts.py``: short options, edge cases, long texts) natively and
under ``qemu-x86_64-static -cpu MODEL`` with the same interpreter, wheels and ONNX files, and
prints the largest absolute difference of the vectors (and of the scores when ``--head`` is given,
with how many ``detect()`` decisions flip) against the native run.

What the qemu models really are (qemu-user 7.2 TCG, checked with a CPUID probe in
``embed_texts.py``; TCG drops features it cannot emulate and says so on stderr):

- ``qemu64``: SSE3 only (no SSSE3/SSE4, no XSAVE). The wheels here need more: the interpreter
  dies with SIGILL, so it is not in the default list.
- ``Nehalem``: up to SSE4.2, no AVX: MLAS's SSE kernels.
- ``SandyBridge``: AVX without FMA/AVX2. Measured: exactly Nehalem's numbers for every model
  tried (dynamic int8, weight-only int8, float32), so in practice the same case as Nehalem.
- ``Haswell``: AVX2 + FMA. ``Skylake-Client``, ``Skylake-Server``, ``Icelake-Server``,
  ``Cooperlake``, ``EPYC``, ``EPYC-Milan`` expose exactly the same usable set (TCG has no
  AVX-512 and no VNNI; only the vendor string differs), so they are one case: AVX2 kernels.
- the native run on this host (AMD EPYC Zen 4) is the AVX-512 + AVX-512 VNNI case, which qemu
  cannot emulate.

So the distinct x86 paths are native (AVX-512/VNNI), Haswell (AVX2/FMA) and Nehalem (SSE); the
default list adds SandyBridge and EPYC to show that AVX alone and a vendor string change
nothing. ``--aarch64`` also runs the aarch64 side of ``tools/aarch64/check.py`` (Debian's arm64
CPython under qemu-aarch64-static, ``cortex-a72`` and ``cortex-a76``), reusing its cache and
setup (run ``python tools/aarch64/check.py --setup-only`` once). Measured: for weight-only int8,
cortex-a72 (no dot-product instructions) differs from the native run exactly as Nehalem and
SandyBridge do (same maxima to every digit printed), cortex-a76 (which has them) a little less.

Setup: ``apt-get install qemu-user-static`` (``apt-get update`` first on a fresh machine).
Emulated runs are slow (a few dozen texts take about a minute per CPU model); timings say
nothing about real hardware.

Usage: ``python tools/cpus/cross_cpu.py --model NAME=PATH.onnx [--model ...] --tokenizer TOK.json
[--head head.npz] [--cpus qemu64,Nehalem,SandyBridge,Haswell,EPYC] [--aarch64] [--limit N]
[--jobs 2] [--report OUT.json]``. Exit status 0 when every CPU ran, 1 otherwise (differences are
reported, not judged: the tolerance is the caller's business).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EMBED = HERE / "embed_texts.py"
DEFAULT_CPUS = ("Nehalem", "SandyBridge", "Haswell", "EPYC")


def log(message: str) -> None:
    print(f"[cpus] {message}", file=sys.stderr, flush=True)


def _env(pythonpath: list[Path]) -> dict[str, str]:
    """The scoring environment the aarch64 and armv7 checks use too (one definition)."""
    sys.path.insert(0, str(HERE.parent / "foreign"))
    from debian_sysroot import isolated_env

    return isolated_env(pythonpath)


def run_embed(
    prefix: list[str], out: Path, args: list[str], env: dict[str, str], timeout: float
) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run(
        [*prefix, str(EMBED), str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 or not out.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"exit {proc.returncode}: {tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    return result


def compare(ref: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Per model: max |difference| of vectors (and scores, detect() flips) against ``ref``."""
    import numpy as np

    out: dict[str, Any] = {}
    for name, r in ref["models"].items():
        o = other["models"].get(name)
        if o is None:
            out[name] = {"error": "not run"}
            continue
        a, b = np.asarray(r["vectors"]), np.asarray(o["vectors"])
        entry: dict[str, Any] = {
            "vector_max_abs_diff": float(np.abs(a - b).max()),
            "cosine_min": float((a * b).sum(axis=1).min()),
        }
        if "scores" in r and "scores" in o:
            sa, sb = np.asarray(r["scores"]), np.asarray(o["scores"])
            t = np.asarray(r["thresholds"])
            entry["score_max_abs_diff"] = float(np.abs(sa - sb).max())
            entry["detect_flips"] = int(((sa >= t) != (sb >= t)).sum())
        if "effects" in r and "effects" in o:
            ea, eb = np.asarray(r["effects"]), np.asarray(o["effects"])
            ha, hb = np.asarray(r["harm"]), np.asarray(o["harm"])
            cut = float(r["harm_threshold"])
            entry["effects_max_abs_diff"] = float(np.abs(ea - eb).max())
            entry["harm_max_abs_diff"] = float(np.abs(ha - hb).max())
            entry["harm_flips"] = int(((ha >= cut) != (hb >= cut)).sum())
            # signs of clear effects (|e| > 0.5 on the reference) that differ
            clear = np.abs(ea) > 0.5
            entry["effect_sign_flips"] = int((np.sign(ea[clear]) != np.sign(eb[clear])).sum())
        out[name] = entry
    return out


def aarch64_runners(
    cpus: list[str],
) -> tuple[dict[str, tuple[list[str], Path]], dict[str, str]]:
    """(command, site-packages) of each aarch64 guest of tools/aarch64/check.py, or why not."""
    sys.path.insert(0, str(REPO / "tools" / "aarch64"))
    import check as a64  # tools/aarch64/check.py

    try:
        qemu = a64.ensure_qemu(install=False)
        cache = a64.default_cache()
        cache.mkdir(parents=True, exist_ok=True)
        sysroot, info = a64.ensure_sysroot(cache)
        site, _ = a64.ensure_site(cache, (int(info["glibc"][0]), int(info["glibc"][1])))
    except (a64.SetupUnavailable, OSError) as exc:
        return {}, {cpu: f"aarch64 setup failed: {exc}" for cpu in cpus}
    runners = {}
    for cpu in cpus:
        view = a64.cpu_view(cache, sysroot, cpu)
        python = view / "usr" / "bin" / "python3.11"
        runners[f"aarch64 {cpu}"] = ([qemu, "-cpu", cpu, "-L", str(view), str(python)], site)
    return runners, {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--head", type=Path)
    parser.add_argument("--judge", type=Path, help="judge.npz: also effects and harm decisions")
    parser.add_argument("--texts", type=Path, help="one text per line instead of the fixed set")
    parser.add_argument("--cpus", default=",".join(DEFAULT_CPUS), help="qemu x86 CPU models")
    parser.add_argument("--aarch64", action="store_true", help="also cortex-a72 and cortex-a76")
    parser.add_argument("--limit", type=int, default=36, help="texts (the first N of the set)")
    parser.add_argument("--jobs", type=int, default=2, help="emulators run at once")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)

    qemu = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
    if qemu is None:
        log("qemu-x86_64-static is missing: apt-get install qemu-user-static")
        return 1
    common = [*(f"--model={m}" for m in args.model), f"--tokenizer={args.tokenizer}"]
    common += [f"--limit={args.limit}"]
    if args.head:
        common.append(f"--head={args.head}")
    if args.judge:
        common.append(f"--judge={args.judge}")
    if args.texts:
        common.append(f"--texts={args.texts}")
    python = sys.executable
    runners: dict[str, list[str]] = {
        f"x86 {cpu}": [qemu, "-cpu", cpu, python] for cpu in args.cpus.split(",") if cpu
    }
    failures: dict[str, str] = {}
    site: dict[str, Path] = {}
    if args.aarch64:
        extra, failures = aarch64_runners(["cortex-a72", "cortex-a76"])
        for name, (cmd, guest_site) in extra.items():
            runners[name] = cmd
            site[name] = guest_site

    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="edge-dan-cpus.") as tmp,
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
    ):
        native = run_embed([python], Path(tmp) / "native.json", common, _env([REPO]), 600)
        log(f"native: {native['cpu']}")
        jobs = {
            name: pool.submit(
                run_embed,
                cmd,
                Path(tmp) / f"{name.replace(' ', '_')}.json",
                common,
                _env([site[name], REPO] if name in site else [REPO]),
                3600,
            )
            for name, cmd in runners.items()
        }
        for future in as_completed(jobs.values()):
            name = next(n for n, j in jobs.items() if j is future)
            try:
                guest = future.result()
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failures[name] = str(exc)
                log(f"{name}: failed: {exc}")
                continue
            results[name] = {
                "cpu": guest["cpu"],
                "wall_seconds": guest["wall_seconds"],
                "models": compare(native, guest),
            }
            # Emulated runs take minutes: show each one as it ends.
            log(f"{name}: done in {guest['wall_seconds']} s: {json.dumps(results[name])}")

    report = {
        "native": {"machine": native["machine"], "cpu": native["cpu"]},
        "n_texts": native["n_texts"],
        "runs": results,
        "failures": failures,
    }
    _print(report)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    return 1 if failures else 0


def _print(report: dict[str, Any]) -> None:
    native = report["native"]["cpu"]
    print(f"native: {' '.join(native.get('usable', [])) or native}; {report['n_texts']} texts")
    names = sorted({m for r in report["runs"].values() for m in r["models"]})
    header = f"{'cpu':24s} {'usable features':34s}"
    for m in names:
        header += f" | {m + ' vec':>18s} {'score':>9s} {'flips':>5s}"
    print(header)
    for run_name, run in report["runs"].items():
        usable = run["cpu"].get("usable", [])
        top = usable[-1] if usable else run["cpu"].get("unknown", "?")
        row = f"{run_name:24s} {top + f' ({len(usable)} flags)':34s}"
        for m in names:
            e = run["models"].get(m, {})
            vec = e.get("vector_max_abs_diff")
            score = e.get("score_max_abs_diff")
            row += f" | {vec if vec is None else f'{vec:.2e}':>18}"
            row += f" {'' if score is None else f'{score:.2e}':>9s}"
            row += f" {e.get('detect_flips', ''):>5}"
        print(row)
    for name, why in report["failures"].items():
        print(f"{name}: FAILED {why.splitlines()[0] if why else ''}")


if __name__ == "__main__":
    sys.exit(main())
