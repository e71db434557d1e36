"""The mobile profile on armv7 (Raspberry Pi OS 32-bit): Debian armhf CPython under qemu-arm.

The guest is Debian bookworm's armhf CPython 3.11 with Debian's own armhf ``python3-numpy`` (on
OpenBLAS), ``python3-nacl`` and ``python3-cffi`` (onnxruntime has no armv7 wheel), unpacked into a
cache directory (``debian_sysroot.py``), plus the pure-Python dependencies fetched by this
interpreter's pip for the armv7 target (cbor2 5.x's pure wheel, platformdirs, sqlite-utils and its
dependencies, ifaddr) and zeroconf built from its sdist without Cython (``SKIP_CYTHON=1``, which its
build script honours). No onnxruntime, no tokenizers, no sqlcipher3: the mobile profile.

Two runs in the guest, emulated as a Cortex-A7 (Raspberry Pi 2 / Zero 2 class running 32-bit; the
Debian armhf ABI is ARMv7 + VFPv3-D16 + optional NEON, which the A7 model has):

1. ``tools/aarch64/score_texts.py`` with ``runtime="auto"``: every tier must pick the numpy runtime
   by itself. The scores are compared with the host's numpy runtime (the same float32 arithmetic:
   only summation order differs, so 1e-3 and identical harm decisions) and with the host's
   onnxruntime (which rounds activations to int8 before each weight product: reported, bounded
   loosely; see ``tests/model/test_model_armv7.py``).
2. ``guest_scenario.py``: the store opens, two agents pair by numeric comparison and negotiate
   over 127.0.0.1 with text options scored by the numpy runtime (discovery in-process).

Exit status: 0 all good; 1 a failure; 77 the guest cannot be set up here (no qemu and no
root/apt, no network...), unless ``--require`` (or ``EDGE_DAN_ARMV7_REQUIRED=1``) makes that 1.

Usage: ``python tools/foreign/armv7_check.py [--cache DIR] [--tiers minilm-int8,static-tiny]
[--report OUT.json] [--setup-only] [--no-scenario]``
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
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCORER = REPO / "tools" / "aarch64" / "score_texts.py"
SCENARIO = HERE / "guest_scenario.py"
sys.path.insert(0, str(HERE))
from debian_sysroot import (  # noqa: E402
    ARMHF,
    GUEST_PYTHON,
    SetupUnavailable,
    ensure_qemu,
    ensure_sysroot,
    isolated_env,
    log,
    run,
)

__all__ = ["ARMHF", "CPU", "GUEST_PACKAGES", "default_cache", "ensure_qemu", "ensure_site"]
__all__ += ["ensure_sysroot", "guest_env", "main"]

SKIP = 77
CPU = "cortex-a7"
GUEST_PACKAGES = (
    "python3.11", "python3-numpy", "python3-nacl", "python3-cffi", "libopenblas0-pthread"
)  # fmt: skip
# Pure-Python run-time dependencies (pyproject's, less the native ones), as wheels.
PURE = ("cbor2>=5.4,<6", "platformdirs>=4", "sqlite-utils>=3.36", "ifaddr>=0.1.7")


def default_cache() -> Path:
    env = os.environ.get("EDGE_DAN_ARMV7_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge-dan-armv7"


def _zeroconf_requirement() -> str:
    try:
        return f"zeroconf=={metadata.version('zeroconf')}"
    except metadata.PackageNotFoundError:
        return "zeroconf"


def _pip(*args: str, env: dict[str, str] | None = None, what: str) -> None:
    run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
        what=what, env=env)  # fmt: skip


def _install_zeroconf(target: Path, requirement: str) -> None:
    """zeroconf's sdist built without Cython: pure Python (the wheel's tag says otherwise)."""
    with tempfile.TemporaryDirectory(prefix="zeroconf.") as tmp:
        env = {**os.environ, "SKIP_CYTHON": "1"}
        _pip("wheel", "--no-deps", "--no-binary", "zeroconf", "-w", tmp, requirement,
             env=env, what=f"pip wheel {requirement} (SKIP_CYTHON=1)")  # fmt: skip
        wheels = list(Path(tmp).glob("zeroconf-*.whl"))
        if len(wheels) != 1:
            raise SetupUnavailable(f"building {requirement} gave {len(wheels)} wheels")
        with zipfile.ZipFile(wheels[0]) as whl:
            native = [n for n in whl.namelist() if n.endswith((".so", ".pyd"))]
            if native:
                raise SetupUnavailable(f"zeroconf was built with extensions: {native[:3]}")
            whl.extractall(target)


def ensure_site(cache: Path) -> tuple[Path, list[str]]:
    """The pure-Python dependencies for the armv7 guest, under ``cache/site-<hash>``."""
    reqs = [*PURE, _zeroconf_requirement()]
    key = hashlib.sha256(json.dumps(reqs).encode()).hexdigest()[:12]
    site, stamp = cache / f"site-{key}", cache / f"site-{key}.json"
    if stamp.is_file() and site.is_dir():
        installed: list[str] = json.loads(stamp.read_text())
        return site, installed
    log(ARMHF, f"fetching pure-Python wheels: {' '.join(reqs)}")
    staging = Path(tempfile.mkdtemp(prefix="site.", dir=cache))
    _pip("install", "--target", str(staging), "--only-binary=:all:", "--implementation", "cp",
         "--python-version", GUEST_PYTHON, "--abi", f"cp{GUEST_PYTHON.replace('.', '')}",
         "--platform", "linux_armv7l", *PURE, what="pip install (armv7, pure wheels)")  # fmt: skip
    _install_zeroconf(staging, reqs[-1])
    native = sorted(str(p.relative_to(staging)) for p in staging.rglob("*.so"))
    if native:  # the mobile profile allows no native code beyond Debian's numpy and PyNaCl
        raise SetupUnavailable(f"native code among the pure dependencies: {native[:5]}")
    installed = sorted(p.name.removesuffix(".dist-info") for p in staging.glob("*.dist-info"))
    if site.exists():
        shutil.rmtree(site)
    staging.rename(site)
    stamp.write_text(json.dumps(installed))
    return site, installed


def guest_env(pythonpath: list[Path]) -> dict[str, str]:
    # One BLAS thread, as on the host (bench/RESULTS.md).
    return isolated_env(pythonpath, OPENBLAS_NUM_THREADS="1")


def run_json(
    python: list[str], script: Path, args: list[str], out: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Run ``script`` (which writes JSON to ``out``); its result, plus the wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*python, str(script), *args, str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not out.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{script.name} failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_seconds"] = round(wall, 2)
    return result


def run_all(
    guest: list[str], site: Path, tiers: str, scenario: bool
) -> dict[str, dict[str, Any] | str]:
    """The host's two runtimes and the guest's runs, at once (qemu-user uses one host thread)."""
    jobs: dict[str, Any] = {}
    results: dict[str, dict[str, Any] | str] = {}
    host_env, in_guest = guest_env([REPO]), guest_env([site, REPO])
    with (
        tempfile.TemporaryDirectory(prefix="edge-dan-armv7.") as tmp,
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        out = Path(tmp)
        score = ["--tiers", tiers, "--runtime"]
        jobs["guest"] = pool.submit(
            run_json, guest, SCORER, [*score, "auto"], out / "guest.json", in_guest
        )
        if scenario:
            jobs["scenario"] = pool.submit(
                run_json, guest, SCENARIO, [], out / "scenario.json", in_guest
            )

        def host_runs() -> tuple[dict[str, Any], dict[str, Any]]:
            here = [sys.executable]
            native = run_json(here, SCORER, [*score, "auto"], out / "ort.json", host_env)
            numpy_ = run_json(here, SCORER, [*score, "numpy"], out / "np.json", host_env)
            return native, numpy_

        host = pool.submit(host_runs)
        try:
            results["host"], results["host_numpy"] = host.result()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            results["host"] = results["host_numpy"] = f"the host run failed: {exc}"
        for name, job in jobs.items():
            try:
                results[name] = job.result()
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results[name] = f"the armv7 run failed: {exc}"
    return results


def _compare(host: dict[str, Any], guest: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tools" / "aarch64"))
    from check import compare  # tools/aarch64/check.py: the same figures for both arches

    # The test states and applies the bounds (one per runtime pair), so compare's verdict goes.
    compared = compare(host, guest, 1.0)
    for figures in compared.values():
        figures.pop("ok", None)
    return compared


def build_report(results: dict[str, dict[str, Any] | str]) -> tuple[dict[str, Any], bool]:
    report: dict[str, Any] = {"errors": [v for v in results.values() if isinstance(v, str)]}
    host, host_np, guest = (results.get(k) for k in ("host", "host_numpy", "guest"))
    for name, run_info in (("host", host), ("host_numpy", host_np), ("guest", guest)):
        if isinstance(run_info, dict):
            report[name] = {k: v for k, v in run_info.items() if k != "tiers"}
            report[name]["runtimes"] = {
                tier: t.get("runtime") for tier, t in run_info["tiers"].items()
            }
            report[name]["seconds"] = {
                tier: t.get("score_seconds") for tier, t in run_info["tiers"].items()
            }
    if isinstance(guest, dict):
        if isinstance(host, dict):
            report["vs_host_onnxruntime"] = _compare(host, guest)
        if isinstance(host_np, dict):
            report["vs_host_numpy"] = _compare(host_np, guest)
    scenario = results.get("scenario")
    if isinstance(scenario, dict):
        report["scenario"] = scenario
    return report, bool(report["errors"])


def _print_report(report: dict[str, Any]) -> None:
    guest = report.get("guest", {})
    print(
        f"armv7 guest ({CPU}): {guest.get('machine')} CPython {guest.get('python')}, "
        f"{guest.get('versions')}, runtimes {guest.get('runtimes')}, "
        f"wall {guest.get('wall_seconds')} s"
    )
    for against in ("vs_host_numpy", "vs_host_onnxruntime"):
        for tier, t in report.get(against, {}).items():
            figures = {k: v for k, v in t.items() if k not in ("worst", "shape", "ok")}
            print(f"  {against} {tier}: {figures}")
    if "scenario" in report:
        print(f"  scenario: {json.dumps(report['scenario'])}")
    for error in report["errors"]:
        print(f"  ERROR {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--tiers", default="minilm-int8,static-tiny")
    parser.add_argument("--report", type=Path, help="write the figures here as JSON")
    parser.add_argument("--setup-only", action="store_true", help="prepare the cache and stop")
    parser.add_argument("--no-install", action="store_true", help="never call apt-get install")
    parser.add_argument("--no-scenario", action="store_true", help="only score texts")
    parser.add_argument(
        "--require",
        action="store_true",
        default=os.environ.get("EDGE_DAN_ARMV7_REQUIRED") == "1",
        help="fail (exit 1) instead of skipping (77) when the armv7 side cannot be set up",
    )
    args = parser.parse_args(argv)
    if platform.system() != "Linux":
        log(ARMHF, "qemu-user needs a Linux host; skipped")
        return 1 if args.require else SKIP
    setup_start = time.perf_counter()
    try:
        args.cache.mkdir(parents=True, exist_ok=True)
        qemu = ensure_qemu(ARMHF, install=not args.no_install)
        sysroot, _ = ensure_sysroot(ARMHF, args.cache, GUEST_PACKAGES)
        site, installed = ensure_site(args.cache)
    except (SetupUnavailable, OSError) as exc:
        log(ARMHF, f"cannot set up the armv7 side: {exc}")
        return 1 if args.require else SKIP
    setup_seconds = time.perf_counter() - setup_start
    log(ARMHF, f"setup {setup_seconds:.1f} s (cache {args.cache})")
    if args.setup_only:
        return 0
    guest = [qemu, "-cpu", CPU, "-L", str(sysroot), str(sysroot / "usr" / "bin" / "python3.11")]
    run_start = time.perf_counter()
    results = run_all(guest, site, args.tiers, scenario=not args.no_scenario)
    report, failed = build_report(results)
    report.update(cpu=CPU, pure_packages=installed, setup_seconds=round(setup_seconds, 2))
    report["run_seconds"] = round(time.perf_counter() - run_start, 2)
    _print_report(report)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    print("FAIL" if failed else "OK: the armv7 runs finished (the test judges the figures)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
