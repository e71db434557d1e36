"""Hostile files against the real ``edge-dan`` CLI (issue #14): each attack, its cost, its verdict.

Run: python bench/adversary_files.py [--json FILE]

Every attack runs the CLI in a child process and measures it with ``os.wait4`` (that child's own
peak RSS, nothing else's). A run is "ok" when it ends with the expected exit code, in time, under
the memory bound, and the attack had no effect:

- crafted-argon2: a backup header asking Argon2id for 2^32-1 passes over 1 GiB;
- sparse-3gb / sparse-3gb-header: a 3 GB sparse file, raw or behind a valid magic and header;
- dev-zero: ``import /dev/zero``;
- planted-symlink: symlinks planted at every name the old export temporary file could take for
  the next pids (``.NAME.PID.tmp``), pointing at a victim file in a shared directory;
- planted-trigger: a backup whose maker added a trigger that wipes the profile on the next edit;
- bad-weight / bad-history: a backup with an out-of-range weight / history that is not JSON;
- nested-header / nested-keyfile: JSON nested deeper than the parser recurses.

The bounds: 60 s before a run is killed, 200 MB of peak RSS (about twice what the CLI needs for a
whole import here, about 95 MB, and far below what the attacks cost before the fix: 1.06 GB for
the crafted cost, 3.1 GB for the sparse files, 5 GB and counting for /dev/zero).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_dan.owner import Owner
from edge_dan.store import KdfParams, export_backup
from edge_dan.store.backup import MAGIC
from edge_dan.store.files import atomic_write

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0
PEAK_MB = 200.0
BACKUP_PASS = "backup words"
STORE_PASS = "owner's passphrase"
CHEAP_KDF = KdfParams(1, 8 * 1024 * 1024, b"\0" * 16)  # the attacks are not about this cost
FAST = ("--unlock-time", "0.05")


@dataclass
class Measured:
    code: int
    seconds: float
    peak_mb: float
    killed: bool
    out: str
    err: str


def run_cli(home: Path, *args: str, **env: str) -> Measured:
    """``edge-dan --home HOME ARGS``, killed after ``TIMEOUT``; exit code, time and peak RSS."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    full_env.update(
        EDGE_DAN_PASSPHRASE=STORE_PASS, EDGE_DAN_BACKUP_PASSPHRASE=BACKUP_PASS, PYTHONPATH=str(REPO)
    )
    full_env.update(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=full_env,
            cwd=REPO,
        )
        timer = threading.Timer(TIMEOUT, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            seconds,
            usage.ru_maxrss / 1024,
            proc.returncode < 0 and seconds >= TIMEOUT,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def _backup(work: Path, *planted: str) -> Path:
    """A real backup of a real store, after ``planted`` SQL ran on it (as its maker could)."""
    home = work / f"maker-{len(list(work.glob('maker-*')))}"
    with Owner.create(home, "maker", kdf=CHEAP_KDF) as owner:
        owner.identity.ensure()
        owner.profile.edit({"benevolence": 0.9}, note="mine")
        for statement in planted:
            owner.store.conn.execute(statement)
        owner.store.conn.commit()
        path = home.with_suffix(".backup")
        export_backup(owner.store, path, BACKUP_PASS, kdf=CHEAP_KDF)
    return path


def _rewrite_header(backup: Path, change: Callable[[dict[str, Any]], bytes]) -> Path:
    data = backup.read_bytes()
    hlen = int.from_bytes(data[16:20], "big")
    raw = change(json.loads(data[20 : 20 + hlen]))
    out = backup.with_name("crafted-" + backup.name)
    out.write_bytes(MAGIC + len(raw).to_bytes(4, "big") + raw + data[20 + hlen :])
    return out


def _costly(header: dict[str, Any]) -> bytes:
    header["key"]["kdf"].update(opslimit=2**32 - 1, memlimit=1024**3)
    return json.dumps(header).encode()


def _sparse(path: Path, head: bytes) -> Path:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(3 * 1024**3)  # 3 GB that take no disk
    return path


# Each attack: (its work directory) -> (the run, the exit code expected, extra verdict, note).
Attack = Callable[[Path], tuple[Measured, int, bool, str]]


def crafted_argon2(work: Path) -> tuple[Measured, int, bool, str]:
    run = run_cli(work / "home", "import", str(_rewrite_header(_backup(work), _costly)), *FAST)
    return run, 1, True, "opslimit 2^32-1, memlimit 1 GiB"


def sparse_3gb(work: Path) -> tuple[Measured, int, bool, str]:
    run = run_cli(work / "home", "import", str(_sparse(work / "big", b"")), *FAST)
    return run, 1, True, "3 GB of zeros"


def sparse_3gb_header(work: Path) -> tuple[Measured, int, bool, str]:
    data = _backup(work).read_bytes()
    head = data[: 20 + int.from_bytes(data[16:20], "big")]
    run = run_cli(work / "home", "import", str(_sparse(work / "big", head)), *FAST)
    return run, 1, True, "valid magic and header, then 3 GB"


def dev_zero(work: Path) -> tuple[Measured, int, bool, str]:
    return run_cli(work / "home", "import", "/dev/zero", *FAST), 1, True, "a file that never ends"


def planted_symlink(work: Path) -> tuple[Measured, int, bool, str]:
    home = work / "home"
    init = run_cli(home, "init", *FAST)
    assert init.code == 0, init.err
    shared = work / "shared"
    shared.mkdir(mode=0o777)
    victim = work / "victim"
    victim.write_bytes(b"precious")
    # The old temporary name was .NAME.PID.tmp: plant one for each of the next few thousand pids.
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    for pid in range(last + 1, last + 4000):
        (shared / f".out.backup.{pid}.tmp").symlink_to(victim)
    run = run_cli(home, "export", str(shared / "out.backup"), *FAST)
    return run, 0, victim.read_bytes() == b"precious", "victim file untouched"


def planted_trigger(work: Path) -> tuple[Measured, int, bool, str]:
    backup = _backup(
        work, "CREATE TRIGGER wipe AFTER INSERT ON profile_history BEGIN DELETE FROM profile; END"
    )
    home = work / "home"
    run = run_cli(home, "import", str(backup), *FAST)
    edit = run_cli(home, "profile", "set", "power=0.2")
    shown = run_cli(home, "profile", "show", "--json")
    weights = json.loads(shown.out)["weights"] if shown.code == 0 else {}
    kept = edit.code == 0 and weights.get("benevolence") == 0.9
    return run, 0, kept, "profile kept after the next edit"


def bad_weight(work: Path) -> tuple[Measured, int, bool, str]:
    backup = _backup(work, "UPDATE profile SET weight = 7 WHERE value = 'power'")
    run = run_cli(work / "home", "import", str(backup), *FAST)
    return run, 1, not (work / "home" / "keyfile.json").exists(), "weight 7, refused whole"


def bad_history(work: Path) -> tuple[Measured, int, bool, str]:
    backup = _backup(work, "UPDATE profile_history SET changes = '{not json'")
    run = run_cli(work / "home", "import", str(backup), *FAST)
    return run, 1, not (work / "home" / "keyfile.json").exists(), "history not JSON"


def nested_header(work: Path) -> tuple[Measured, int, bool, str]:
    crafted = _rewrite_header(_backup(work), lambda header: b"[" * 60_000)
    return run_cli(work / "home", "import", str(crafted), *FAST), 1, True, "60 000 levels"


def nested_keyfile(work: Path) -> tuple[Measured, int, bool, str]:
    home = work / "home"
    assert run_cli(home, "init", *FAST).code == 0
    (home / "keyfile.json").write_text("[" * 16_000)
    return run_cli(home, "whoami"), 4, True, "16 000 levels in keyfile.json"


ATTACKS: dict[str, Attack] = {
    "crafted-argon2": crafted_argon2,
    "sparse-3gb": sparse_3gb,
    "sparse-3gb-header": sparse_3gb_header,
    "dev-zero": dev_zero,
    "planted-symlink": planted_symlink,
    "planted-trigger": planted_trigger,
    "bad-weight": bad_weight,
    "bad-history": bad_history,
    "nested-header": nested_header,
    "nested-keyfile": nested_keyfile,
}


def run() -> list[dict[str, Any]]:
    """Every attack once; one dict per attack with its figures and ``ok``."""
    results = []
    for name, attack in ATTACKS.items():
        with tempfile.TemporaryDirectory() as tmp:
            measured, expected, effect_ok, note = attack(Path(tmp))
        ok = (
            not measured.killed
            and measured.code == expected
            and measured.peak_mb < PEAK_MB
            and effect_ok
        )
        results.append(
            {
                "attack": name,
                "exit_code": measured.code,
                "expected_code": expected,
                "seconds": round(measured.seconds, 2),
                "peak_rss_mb": round(measured.peak_mb, 1),
                "killed": measured.killed,
                "ok": ok,
                "note": note,
                "stderr": measured.err.strip().splitlines()[-1:] or [""],
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {os.uname().machine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'attack':18} {'exit':>4} {'want':>4} {'time s':>7} {'peak MB':>8}  verdict")
    results = run()
    for r in results:
        print(
            f"{r['attack']:18} {r['exit_code']:>4} {r['expected_code']:>4} {r['seconds']:>7.2f}"
            f" {r['peak_rss_mb']:>8.1f}  {'ok' if r['ok'] else 'FAIL'}  ({r['note']})"
        )
    if args.json:
        atomic_write(args.json, (json.dumps(results, indent=2) + "\n").encode())
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
