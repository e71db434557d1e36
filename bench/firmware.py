"""Longer firmware bridge runs for bench/RESULTS.md: libFuzzer per target, the C-versus-Python
differential fuzz, and the size/stack measurements.

Run: python bench/firmware.py [--fuzz-seconds 300] [--diff-cases 200000] [--seed 1]

Needs what ``make -C firmware_bridge test`` needs plus clang with libFuzzer. Prints a Markdown
section to paste into bench/RESULTS.md; exits 1 on a crash, a mismatch or a broken limit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "firmware_bridge"
sys.path.insert(0, str(BRIDGE / "host"))

from edge_dan_bridge.differential import CLibrary, run  # noqa: E402


def make(build: Path, *targets: str) -> None:
    subprocess.run(
        ["make", "-s", "-C", str(BRIDGE), f"B={build}", f"PYTHON={sys.executable}", *targets],
        check=True,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-seconds", type=int, default=300)
    parser.add_argument("--diff-cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    failed = False
    lines = ["## Firmware bridge", ""]
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp)
        make(build, "fuzz-build", "diff-lib")
        fuzz = subprocess.run(
            [
                sys.executable,
                str(BRIDGE / "tools" / "fuzz.py"),
                "--build",
                str(build),
                "--seconds",
                str(args.fuzz_seconds),
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        failed |= fuzz.returncode != 0
        for target in json.loads(fuzz.stdout):
            status = "CRASH" if target["crashed"] else "0 crashes"
            lines.append(
                f"- libFuzzer `{target['target']}`: {target['runs']:,} runs in "
                f"{target['seconds']} s, {status}"
            )
        started = time.monotonic()
        mismatches = run(CLibrary(build / "libedb_diff.so"), args.seed, args.diff_cases)
        elapsed = time.monotonic() - started
        failed |= bool(mismatches)
        lines.append(
            f"- differential C vs Python (seed {args.seed}): {args.diff_cases:,} messages "
            f"and {args.diff_cases // 10:,} frame streams in {elapsed:.0f} s, "
            f"{len(mismatches)} mismatches"
        )
    measured = subprocess.run(
        [sys.executable, str(BRIDGE / "tools" / "measure.py"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    failed |= measured.returncode != 0
    for target, numbers in json.loads(measured.stdout).items():
        lines.append(
            f"- {target}: code {numbers['code_bytes']} B (-Os, text+rodata), "
            f".data {numbers['data_bytes']}, .bss {numbers['bss_bytes']}, largest stack "
            f"frame {numbers['max_stack_bytes']} B ({numbers['max_stack_function']}), "
            f"heap symbols {numbers['heap_symbols'] or 'none'}"
        )
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
