"""Check that the value model gives the same scores on aarch64 (Raspberry Pi OS 64-bit) as here.

The aarch64 side is Debian bookworm's own CPython 3.11 for arm64 (the Python of Raspberry Pi OS
bookworm), unpacked from its .deb files into a cache directory and run by ``qemu-aarch64-static``,
with the aarch64 wheels of numpy, onnxruntime and tokenizers (the versions installed here) fetched
by this interpreter's pip. Both sides import edge_dan from this checkout and score the same texts
(``score_texts.py``); the largest absolute difference must stay within the tolerance (1e-3).

The guest runs once per emulated CPU: ``cortex-a72`` (Raspberry Pi 4) and ``cortex-a76``
(Raspberry Pi 5, whose dot-product instructions select other int8 kernels in onnxruntime).
qemu-user 7.2 shows the host's /proc/cpuinfo to the guest, on which onnxruntime's CPU probe
crashes; each CPU therefore gets a view of the sysroot holding a matching ``proc/cpuinfo``
(qemu looks up absolute paths under ``-L`` first). Emulated timings say nothing about a real board.

Setup (first run, as root with apt): ``apt-get install qemu-user-static`` if it is missing, then a
private apt configuration (the host's apt state and architectures stay untouched) downloads
python3.11 and its dependencies for arm64. Later runs reuse the cache.

Exit status: 0 same scores; 1 different scores or a failed run; 77 the aarch64 side cannot be set
up on this machine (no qemu and no root/apt, no network...), unless ``--require`` is given, which
turns that into 1.

Usage: ``python tools/aarch64/check.py [--cache DIR] [--cpus cortex-a72,cortex-a76]
[--tiers minilm-int8,minilm-int8:exact,...] [--tolerance 1e-3] [--report OUT.json] [--setup-only]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCORER = HERE / "score_texts.py"
# The shipped tiers, and the int8 tier's two float32 paths (the numpy runtime, onnxruntime with
# exact compute), which should agree across CPUs to float rounding where int8 kernels do not.
DEFAULT_TIERS = "minilm-int8,minilm-int8:exact,minilm-int8:numpy,static-tiny"

SKIP = 77
# The Debian side (qemu, a private apt state, the unpacked CPython) is shared with the armv7 check.
sys.path.insert(0, str(HERE.parent / "foreign"))
from debian_sysroot import (  # noqa: E402
    AARCH64,
    GUEST_PYTHON,
    SetupUnavailable,
    isolated_env,
    run,
)
from debian_sysroot import ensure_qemu as _ensure_qemu  # noqa: E402
from debian_sysroot import ensure_sysroot as _ensure_sysroot  # noqa: E402

# What the guest needs beyond python3.11's own dependencies: the C++ runtime of onnxruntime.
GUEST_PACKAGES = ("python3.11", "libstdc++6", "libgcc-s1")
RUNTIME = ("numpy", "onnxruntime", "tokenizers")

# /proc/cpuinfo as the kernel of each board prints it: (CPU part, features).
CPUS: dict[str, tuple[str, str]] = {
    "cortex-a72": ("0xd08", "fp asimd evtstrm crc32 cpuid"),
    "cortex-a76": (
        "0xd0b",
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
        "lrcpc dcpop asimddp",
    ),
}

__all__ = ["SetupUnavailable", "cpu_view", "ensure_qemu", "ensure_site", "ensure_sysroot"]


def log(message: str) -> None:
    print(f"[aarch64] {message}", file=sys.stderr, flush=True)


def default_cache() -> Path:
    env = os.environ.get("EDGE_DAN_AARCH64_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge-dan-aarch64"


def ensure_qemu(*, install: bool) -> str:
    return _ensure_qemu(AARCH64, install=install)


def ensure_sysroot(cache: Path) -> tuple[Path, dict[str, Any]]:
    """An unpacked arm64 Debian CPython under ``cache/sysroot``, and what it was built from."""
    return _ensure_sysroot(AARCH64, cache, GUEST_PACKAGES)


def cpu_view(cache: Path, sysroot: Path, cpu: str) -> Path:
    """A directory of symlinks into ``sysroot`` plus a ``proc/cpuinfo`` describing ``cpu``."""
    part, features = CPUS[cpu]
    view = cache / "views" / cpu
    (view / "proc").mkdir(parents=True, exist_ok=True)
    for entry in sysroot.iterdir():
        link = view / entry.name
        if entry.name != "proc" and not link.is_symlink():
            link.symlink_to(entry)
    count = _cpu_count()
    blocks = [
        f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: {features}\n"
        f"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
        f"CPU part\t: {part}\nCPU revision\t: 1\n"
        for i in range(count)
    ]
    text = "\n".join(blocks) + "\n"
    target = view / "proc" / "cpuinfo"
    if not target.is_file() or target.read_text() != text:
        tmp = target.with_suffix(f".{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(target)
    return view


def _cpu_count() -> int:
    """Processors the host's sysfs lists as present (the guest sees the host's sysfs)."""
    try:
        spec = Path("/sys/devices/system/cpu/present").read_text().strip()
        return max(int(part.split("-")[-1]) for part in spec.split(",")) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


# --- aarch64 wheels ------------------------------------------------------------------------------


def host_requirements() -> list[str]:
    """numpy, onnxruntime and tokenizers at the versions installed here (unpinned if absent)."""
    reqs = []
    for name in RUNTIME:
        try:
            reqs.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            reqs.append(name)
    return reqs


def _pip_platforms(glibc: tuple[int, int]) -> list[str]:
    # Older pip does not widen a manylinux tag to the older ones it implies: list them all.
    major, minor = glibc
    tags = [f"manylinux_{major}_{m}_aarch64" for m in range(minor, 16, -1)]
    options: list[str] = []
    for tag in [*tags, "manylinux2014_aarch64"]:
        options += ["--platform", tag]
    return options


def _pip_install(target: Path, reqs: list[str], glibc: tuple[int, int]) -> None:
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--target", str(target),
        "--implementation", "cp", "--python-version", GUEST_PYTHON,
        "--abi", f"cp{GUEST_PYTHON.replace('.', '')}", *_pip_platforms(glibc), *reqs,
    ]  # fmt: skip
    run(cmd, what=f"pip install (aarch64) {' '.join(reqs)}")


def ensure_site(cache: Path, glibc: tuple[int, int]) -> tuple[Path, list[str]]:
    """aarch64 wheels of the run-time dependencies, unpacked under ``cache/site-<hash>``.

    Only the three run-time libraries are installed (``--no-deps``): onnxruntime's declared
    dependencies (protobuf, sympy, flatbuffers...) serve its tools, not inference.
    """
    reqs = host_requirements()
    key = hashlib.sha256(json.dumps([reqs, glibc]).encode()).hexdigest()[:12]
    site = cache / f"site-{key}"
    stamp = cache / f"site-{key}.json"
    if stamp.is_file() and site.is_dir():
        used: list[str] = json.loads(stamp.read_text())
        return site, used
    log(f"fetching aarch64 wheels: {' '.join(reqs)}")
    staging = Path(tempfile.mkdtemp(prefix="site.", dir=cache))
    used = reqs
    try:
        _pip_install(staging, reqs, glibc)
    except SetupUnavailable as exc:
        # A host version without an aarch64 wheel: take the newest aarch64 release instead.
        loose = [r.split("==")[0] for r in reqs]
        log(f"no aarch64 wheels for the host versions ({exc}); trying {' '.join(loose)}")
        shutil.rmtree(staging)
        staging = Path(tempfile.mkdtemp(prefix="site.", dir=cache))
        _pip_install(staging, loose, glibc)
        used = loose
    if site.exists():
        shutil.rmtree(site)
    staging.rename(site)
    stamp.write_text(json.dumps(used))
    return site, used


# --- running and comparing -----------------------------------------------------------------------


def _scorer_env(pythonpath: list[Path]) -> dict[str, str]:
    return isolated_env(pythonpath)


def run_scorer(cmd: list[str], out: Path, env: dict[str, str], tiers: str) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run(
        [*cmd, str(SCORER), str(out), "--tiers", tiers],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not out.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_seconds"] = round(wall, 2)
    return result


def compare(host: dict[str, Any], guest: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """Per tier: max and mean absolute difference, or why the tier was not compared."""
    import numpy as np

    out: dict[str, Any] = {}
    for tier, h in host["tiers"].items():
        g = guest["tiers"].get(tier, {"skipped": "not run"})
        if "skipped" in h:
            out[tier] = {"skipped": f"not loadable on the host: {h['skipped']}"}
            continue
        if "skipped" in g:
            error = f"loads on the host, not in the guest: {g['skipped']}"
            out[tier] = {"ok": False, "error": error}
            continue
        a = np.asarray(h["scores"], dtype=np.float64)
        b = np.asarray(g["scores"], dtype=np.float64)
        if a.shape != b.shape:
            out[tier] = {"ok": False, "error": f"shapes differ: {a.shape} vs {b.shape}"}
            continue
        diff = np.abs(a - b)
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
        thresholds = np.asarray(h["thresholds"], dtype=np.float64)
        flips = int(((a >= thresholds) != (b >= thresholds)).sum())
        judged = {}
        if h.get("effects") and g.get("effects"):
            ea, eb = np.asarray(h["effects"]), np.asarray(g["effects"])
            ha, hb = np.asarray(h["harm_probability"]), np.asarray(g["harm_probability"])
            judged = {
                "max_abs_diff_effects": float(np.abs(ea - eb).max()),
                "max_abs_diff_harm": float(np.abs(ha - hb).max()),
                "harm_flips": int(
                    sum(x != y for x, y in zip(h["harmful"], g["harmful"], strict=True))
                ),
            }
        out[tier] = {
            **judged,
            "ok": bool(np.isfinite(b).all() and diff.max() <= tolerance),
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "detect_flips": flips,
            "worst": {"text": int(worst[0]), "category": int(worst[1])},
            "shape": list(a.shape),
        }
    return out


def run_all(
    qemu: str, views: dict[str, Path], site: Path, tiers: str, tolerance: float
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Score on the host and on every emulated CPU at once (qemu-user uses one host thread).

    Returns the host result, the per-CPU comparisons and whether anything failed.
    """
    runs: dict[str, Any] = {}
    failed = False
    first: tuple[str, dict[str, Any]] | None = None
    with (
        tempfile.TemporaryDirectory(prefix="edge-dan-aarch64.") as tmp,
        ThreadPoolExecutor(max_workers=len(views) + 1) as pool,
    ):
        host_job = pool.submit(
            run_scorer, [sys.executable], Path(tmp) / "host.json", _scorer_env([REPO]), tiers
        )
        guest_jobs = {
            cpu: pool.submit(
                run_scorer,
                [qemu, "-cpu", cpu, "-L", str(view), str(view / "usr" / "bin" / "python3.11")],
                Path(tmp) / f"{cpu}.json",
                _scorer_env([site, REPO]),
                tiers,
            )
            for cpu, view in views.items()
        }
        host = host_job.result()
        for cpu, job in guest_jobs.items():
            try:
                guest = job.result()
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"{cpu}: the aarch64 run failed: {exc}")
                runs[cpu] = {"error": str(exc)}
                failed = True
                continue
            if guest["machine"] != "aarch64":
                runs[cpu] = {"error": f"the guest reports machine {guest['machine']!r}"}
                failed = True
                continue
            compared = compare(host, guest, tolerance)
            runs[cpu] = {
                "machine": guest["machine"],
                "python": guest["python"],
                "versions": guest["versions"],
                "qemu_wall_seconds": guest["wall_seconds"],
                "tiers": compared,
            }
            if first is None:
                first = (cpu, guest)
            else:  # do the aarch64 kernels of two CPUs agree with each other?
                between = compare(first[1], guest, tolerance)
                runs[cpu][f"max_abs_diff_vs_{first[0]}"] = {
                    tier: t.get("max_abs_diff") for tier, t in between.items()
                }
            failed |= any(t.get("ok") is False for t in compared.values())
    return host, runs, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--cpus", default=",".join(CPUS), help="qemu CPU models to run")
    parser.add_argument("--tiers", default=DEFAULT_TIERS)
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--report", type=Path, help="write the figures here as JSON")
    parser.add_argument("--setup-only", action="store_true", help="prepare the cache and stop")
    parser.add_argument("--no-install", action="store_true", help="never call apt-get install")
    parser.add_argument(
        "--require",
        action="store_true",
        default=os.environ.get("EDGE_DAN_AARCH64_REQUIRED") == "1",
        help="fail (exit 1) instead of skipping (77) when the aarch64 side cannot be set up",
    )
    args = parser.parse_args(argv)
    cpus = [c for c in args.cpus.split(",") if c]
    unknown = [c for c in cpus if c not in CPUS]
    if unknown:
        parser.error(f"unknown CPU model(s) {unknown}; known: {', '.join(CPUS)}")
    if platform.system() != "Linux":
        log("qemu-user needs a Linux host; skipped")
        return 1 if args.require else SKIP

    setup_start = time.perf_counter()
    try:
        args.cache.mkdir(parents=True, exist_ok=True)
        qemu = ensure_qemu(install=not args.no_install)
        sysroot, info = ensure_sysroot(args.cache)
        glibc = (int(info["glibc"][0]), int(info["glibc"][1]))
        site, reqs = ensure_site(args.cache, glibc)
        views = {cpu: cpu_view(args.cache, sysroot, cpu) for cpu in cpus}
    except (SetupUnavailable, OSError) as exc:
        log(f"cannot set up the aarch64 side: {exc}")
        return 1 if args.require else SKIP
    setup_seconds = time.perf_counter() - setup_start
    log(f"setup {setup_seconds:.1f} s (cache {args.cache})")
    if args.setup_only:
        return 0

    report: dict[str, Any] = {
        "tolerance": args.tolerance,
        "setup_seconds": round(setup_seconds, 2),
        "wheels": reqs,
        "runs": {},
    }
    run_start = time.perf_counter()
    host, report["runs"], failed = run_all(qemu, views, site, args.tiers, args.tolerance)
    report["host"] = {k: host[k] for k in ("machine", "python", "versions", "wall_seconds")}
    report["run_seconds"] = round(time.perf_counter() - run_start, 2)

    _print_report(report, host["n_texts"])
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    print("FAIL" if failed else "OK: aarch64 scores match the host within the tolerance")
    return 1 if failed else 0


def _print_report(report: dict[str, Any], n_texts: int) -> None:
    host = report["host"]
    print(
        f"host {host['machine']} CPython {host['python']} "
        f"({', '.join(f'{k} {v}' for k, v in host['versions'].items())}); "
        f"{n_texts} texts; tolerance {report['tolerance']:g}; "
        f"setup {report['setup_seconds']:.1f} s, runs {report['run_seconds']:.1f} s"
    )
    for cpu, run_info in report["runs"].items():
        if "error" in run_info:
            print(f"  qemu -cpu {cpu}: ERROR {run_info['error'].splitlines()[0]}")
            continue
        print(
            f"  qemu -cpu {cpu}: {run_info['machine']} CPython {run_info['python']}, "
            f"wall {run_info['qemu_wall_seconds']:.1f} s"
        )
        for key, value in run_info.items():
            if key.startswith("max_abs_diff_vs_"):
                figures = ", ".join(f"{tier} {d:.2e}" for tier, d in value.items() if d is not None)
                print(f"    max |diff| against {key.removeprefix('max_abs_diff_vs_')}: {figures}")
        for tier, t in run_info["tiers"].items():
            if "skipped" in t:
                print(f"    {tier:12s} skipped: {t['skipped']}")
            elif "error" in t:
                print(f"    {tier:12s} FAIL: {t['error']}")
            else:
                verdict = "ok" if t["ok"] else "FAIL"
                print(
                    f"    {tier:12s} max |diff| {t['max_abs_diff']:.2e}  "
                    f"mean |diff| {t['mean_abs_diff']:.2e}  "
                    f"detect() flips {t['detect_flips']}/{t['shape'][0] * t['shape'][1]}  {verdict}"
                )


if __name__ == "__main__":
    sys.exit(main())
