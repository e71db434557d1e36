"""Start-up costs a person feels: importing edge_dan, and how fast a wrong passphrase is refused.

Run: python bench/startup.py [--repeat N]

Side by side in one run: a bare interpreter (``python -c pass``) is the reference for the import
cost; the KDF cost the store was calibrated for is the reference for the wrong-passphrase exit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_dan.store.keyfile import KeyFile

REPO = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False, cwd=REPO)
    return time.perf_counter() - start, proc.returncode


def _median(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    return statistics.median(_time(cmd, env)[0] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    print(f"machine: {os.uname().machine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    bare = _median([py, "-c", "pass"], args.repeat)
    light = _median([py, "-c", "import edge_dan"], args.repeat)
    cli = _median([py, "-c", "import edge_dan.cli.main"], args.repeat)
    print(f"python -c pass                 {bare * 1000:7.1f} ms (reference)")
    print(
        f"import edge_dan                {light * 1000:7.1f} ms  (+{(light - bare) * 1000:.1f} ms)"
    )
    print(f"import edge_dan.cli.main       {cli * 1000:7.1f} ms  (+{(cli - bare) * 1000:.1f} ms)")

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EDGE_DAN_HOME": f"{tmp}/home", "EDGE_DAN_PASSPHRASE": "right one"}
        subprocess.run(
            [py, "-m", "edge_dan.cli.main", "init"], env=env, check=True, capture_output=True
        )
        keyfile = KeyFile.read(Path(tmp) / "home" / "keyfile.json")
        start = time.perf_counter()
        keyfile.kdf.derive("anything")
        kdf = time.perf_counter() - start
        wrong = {**env, "EDGE_DAN_PASSPHRASE": "wrong one"}
        runs = [_time([py, "-m", "edge_dan.cli.main", "whoami"], wrong) for _ in range(5)]
        codes = {code for _, code in runs}
        exit_time = statistics.median(t for t, _ in runs)
        print(
            f"Argon2id at init calibration   {kdf * 1000:7.1f} ms "
            f"(opslimit {keyfile.kdf.opslimit}, {keyfile.kdf.memlimit // 2**20} MiB)"
        )
        print(
            f"wrong passphrase -> exit {sorted(codes)}  {exit_time * 1000:7.1f} ms "
            f"(ratio to the KDF alone {exit_time / kdf:.2f}x; limit 2000 ms)"
        )


if __name__ == "__main__":
    main()
