"""Runs the libFuzzer targets for a time budget each, seeded with the shared vectors.

    python3 tools/fuzz.py --build BUILD_DIR --seconds 60 [--json]

Expects ``make fuzz-build`` to have built ``fuzz_frame``, ``fuzz_msg`` and ``fuzz_thermostat`` in
BUILD_DIR. Each target gets a fresh corpus made from ``vectors/`` (frame streams, messages), runs
``-max_total_time`` seconds on one core, and leaves any crash input in BUILD_DIR/crashes/. Exit
status 1 if a target crashed or did not run. Plain Python 3: no edge_dan imports.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_BUFFER_SELECTOR = bytes((239,))  # fuzz_frame: first byte 239 selects the 244-byte buffer


def seed_corpus(target: str, corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    messages = json.loads((ROOT / "vectors" / "messages.json").read_text(encoding="utf-8"))
    frames = json.loads((ROOT / "vectors" / "frames.json").read_text(encoding="utf-8"))
    seeds: list[bytes] = []
    if target == "fuzz_thermostat":  # the device takes whole frames
        seeds += [bytes.fromhex(e["frame"]) for e in messages["valid"]]
    elif target == "fuzz_msg":
        for group in ("valid", "invalid"):
            seeds += [bytes.fromhex(entry["hex"]) for entry in messages[group]]
    else:
        seeds += [FULL_BUFFER_SELECTOR + bytes.fromhex(c["stream"]) for c in frames["cases"]]
        seeds += [FULL_BUFFER_SELECTOR + bytes.fromhex(e["frame"]) for e in messages["valid"]]
    for index, seed in enumerate(seeds):
        (corpus / f"seed{index:04d}").write_bytes(seed)


def run(binary: Path, seconds: int, work: Path) -> dict[str, object]:
    corpus = work / f"corpus_{binary.name}"
    shutil.rmtree(corpus, ignore_errors=True)
    seed_corpus(binary.name, corpus)
    crashes = work / "crashes"
    crashes.mkdir(exist_ok=True)
    result = subprocess.run(
        [
            str(binary),
            str(corpus),
            f"-max_total_time={seconds}",
            "-timeout=10",
            "-rss_limit_mb=1024",
            "-print_final_stats=1",
            f"-artifact_prefix={crashes}/",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", result.stderr)
    return {
        "target": binary.name,
        "seconds": seconds,
        "runs": int(runs.group(1)) if runs else 0,
        "exit": result.returncode,
        "crashed": result.returncode != 0,
        "tail": result.stderr.strip().splitlines()[-3:],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    targets = ("fuzz_frame", "fuzz_msg", "fuzz_thermostat")
    results = [run(args.build / name, args.seconds, args.build) for name in targets]
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            status = "CRASH" if r["crashed"] else "ok"
            print(f"{r['target']}: {status}, {r['runs']} runs in {r['seconds']} s")
            if r["crashed"]:
                print("\n".join(str(line) for line in r["tail"]))  # type: ignore[attr-defined]
    return 1 if any(r["crashed"] or not r["runs"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
