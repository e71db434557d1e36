"""Child processes for the store's crash-safety and concurrency tests.

Run as ``python crash_writer.py MODE HOME PASSPHRASE [ARGS...]``. Each mode opens the store, prints
``ready`` and then reports every step it has *completed* as one line on stdout, flushed at once:
a line on stdout is an acknowledgement the parent may hold the store to. The parent kills most of
these processes with SIGKILL at a random moment; the others exit 0 when done.

Modes:

- ``write ITERATION SEED``: forever, insert one row per transaction into ``crash_rows`` and
  sometimes edit the value profile; acks ``row SEQ SHA256`` and ``edit NOTE``.
- ``rekey``: forever, ``store.rekey()``; acks ``rekey N``.
- ``passwd N``: the store is under ``pass-N``; forever, change it to ``pass-(N+1)``; acks
  ``passwd N+1``.
- ``import BACKUP BACKUP_PASSPHRASE``: forever, restore the backup over the store; acks
  ``import N``.
- ``insert TAG COUNT``: after ``go`` on stdin, insert COUNT rows into ``conc_rows``, one
  transaction each, bumping ``conc_counter`` in the same transaction; prints ``done COUNT START
  END`` (wall-clock times) and exits 0.
- ``read TARGET``: after ``go`` on stdin, read ``conc_rows`` and ``conc_counter`` in one read
  transaction at a time until the counter reaches TARGET, checking each snapshot is consistent;
  prints ``snapshots N distinct D`` and exits 0.
- ``die-at OP STEP [BACKUP BACKUP_PASSPHRASE]``: run OP once (``rekey``, ``import``, ``backup``
  (an export) or ``passwd``, which changes ``PASSPHRASE`` to ``PASSPHRASE`` + ``-new``) and
  SIGKILL itself at STEP, a fixed point of the swap protocol (see ``STEPS``).
- ``hold``: keep the store open; on ``rekey`` from stdin try a rekey and print ``rekeyed`` or
  ``busy``; on ``slow-rekey SECONDS`` the same, pausing SECONDS after the export (printing
  ``exported`` first); exit on ``quit`` or end of input.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import edge_dan.store.store as store_module
from edge_dan.errors import StoreBusy
from edge_dan.owner import Owner
from edge_dan.store import KdfParams, Store, export_backup, import_backup
from edge_dan.store.engines import Engine
from edge_dan.values.schwartz import ORIGINAL_VALUES

# Fast Argon2id for tests (calibration would cost 0.5 s a call).
FAST_KDF = KdfParams.fresh(1, 8 * 1024 * 1024)
MAX_PAYLOAD = 4096
ROW_ID_STRIDE = 1_000_000  # row id = iteration * stride + seq

CRASH_TABLE = """
CREATE TABLE IF NOT EXISTS crash_rows (
    id INTEGER PRIMARY KEY,
    iteration INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    payload BLOB NOT NULL,
    sha256 TEXT NOT NULL
)
"""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def write(store: Store, iteration: int, seed: int) -> None:
    rng = random.Random(seed)
    profile = Owner(store).profile
    with store.transaction() as conn:
        conn.execute(CRASH_TABLE)
    say("ready")
    seq = 0
    while True:
        payload = rng.randbytes(rng.randrange(MAX_PAYLOAD + 1))
        digest = hashlib.sha256(payload).hexdigest()
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO crash_rows (id, iteration, seq, payload, sha256)"
                " VALUES (?, ?, ?, ?, ?)",
                (iteration * ROW_ID_STRIDE + seq, iteration, seq, payload, digest),
            )
        say(f"row {seq} {digest}")
        if rng.random() < 0.15:
            note = f"crash {iteration} {seq}"
            value = rng.choice(ORIGINAL_VALUES)
            _, change = profile.edit({value: rng.random()}, note=note)
            if change is not None:
                say(f"edit {note}")
        seq += 1


def rekey(store: Store) -> None:
    say("ready")
    n = 0
    while True:
        store.rekey()
        n += 1
        say(f"rekey {n}")


def passwd(store: Store, n: int) -> None:
    say("ready")
    while True:
        store.change_passphrase(f"pass-{n + 1}", kdf=FAST_KDF)
        n += 1
        say(f"passwd {n}")


def restore(home: Path, passphrase: str, backup: Path, backup_passphrase: str) -> None:
    say("ready")
    n = 0
    while True:
        import_backup(
            home, backup, backup_passphrase, store_passphrase=passphrase, kdf=FAST_KDF
        ).close()
        n += 1
        say(f"import {n}")


def wait_for_go() -> None:
    say("ready")
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")


def insert(store: Store, tag: str, count: int) -> None:
    wait_for_go()
    started = time.time()
    for seq in range(count):
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO conc_rows (tag, seq, payload) VALUES (?, ?, ?)",
                (tag, seq, os.urandom(64)),
            )
            conn.execute("UPDATE conc_counter SET n = n + 1")
    say(f"done {count} {started!r} {time.time()!r}")


def read(store: Store, target: int) -> None:
    wait_for_go()
    conn = store.conn
    snapshots, seen, last = 0, set(), -1
    while True:
        conn.execute("BEGIN")  # one read transaction: one snapshot for both statements
        (rows,) = conn.execute("SELECT count(*) FROM conc_rows").fetchone()
        (counter,) = conn.execute("SELECT n FROM conc_counter").fetchone()
        per_tag = dict(
            conn.execute("SELECT tag, max(seq) + 1 - count(*) FROM conc_rows GROUP BY tag")
        )
        conn.execute("COMMIT")
        snapshots += 1
        if rows != counter:
            raise SystemExit(f"torn snapshot: {rows} rows but the counter says {counter}")
        if any(gap != 0 for gap in per_tag.values()):
            raise SystemExit(f"a writer's rows have a hole in this snapshot: {per_tag}")
        if rows < last:
            raise SystemExit(f"snapshot went back in time: {rows} after {last}")
        last = rows
        seen.add(rows)
        if rows >= target:
            break
    say(f"snapshots {snapshots} distinct {len(seen)}")


def hold(store: Store) -> None:
    store_module.LOCK_TIMEOUT = 0.3
    real_export = Engine.export_database
    say("ready")
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "quit":
            break
        if command == "slow-rekey":  # a long swap (a big store on a slow disk)

            def slow_export(*args: Any, pause: float = float(rest[0])) -> None:
                real_export(*args)
                say("exported")
                time.sleep(pause)

            setattr(Engine, "export_database", slow_export)  # noqa: B010 - both engines
            store_module.LOCK_TIMEOUT = 10.0
        if command in {"rekey", "slow-rekey"}:
            try:
                store.rekey()
            except StoreBusy:
                say("busy")
            else:
                say("rekeyed")
            setattr(Engine, "export_database", real_export)  # noqa: B010


# Where ``die-at`` kills itself. The first three come before the swap's commit point (the rename
# of store.db.next), the last two after it.
STEPS = ("building", "keyfile-tmp", "before-commit", "after-commit", "after-keyfile")


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_at(home: Path, passphrase: str, op: str, step: str, args: list[str]) -> None:
    """Run ``op`` once, killing this process with SIGKILL at ``step``."""
    if step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")
    real_replace = os.replace

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        source, target = Path(src).name, Path(dst).name
        if step == "before-commit" and source == "store.db.next":
            kill_self()
        if step == "keyfile-tmp" and source.startswith(".keyfile") and source.endswith(".tmp"):
            kill_self()  # the key file's temporary copy is written, not yet renamed
        real_replace(src, dst, **kwargs)
        if step == "after-commit" and source == "store.db.next":
            kill_self()
        if step == "after-keyfile" and target == "keyfile.json":
            kill_self()

    real_export = Engine.export_database

    def export(*export_args: Any) -> None:
        real_export(*export_args)
        if step == "building":
            kill_self()  # the new database is complete; its key file is not written yet

    setattr(os, "replace", replace)  # noqa: B010 - the child dies before anything else runs
    setattr(Engine, "export_database", export)  # noqa: B010 - whichever engine the store uses
    if op == "import":
        import_backup(home, Path(args[0]), args[1], store_passphrase=passphrase, kdf=FAST_KDF)
        return
    with Store.open(home, passphrase) as store:
        say("ready")
        if op == "backup":
            export_backup(store, Path(args[0]), args[1], kdf=FAST_KDF)
        elif op == "rekey":
            store.rekey()
        elif op == "passwd":
            store.change_passphrase(passphrase + "-new", kdf=FAST_KDF)
        else:
            raise SystemExit(f"unknown operation {op!r}")


def main(argv: list[str]) -> None:
    mode, home, passphrase, *args = argv
    home_path = Path(home)
    if mode == "import":
        restore(home_path, passphrase, Path(args[0]), args[1])
        return
    if mode == "die-at":
        die_at(home_path, passphrase, args[0], args[1], args[2:])
        return
    with Store.open(home_path, passphrase) as store:
        if mode == "write":
            write(store, int(args[0]), int(args[1]))
        elif mode == "rekey":
            rekey(store)
        elif mode == "passwd":
            passwd(store, int(args[0]))
        elif mode == "insert":
            insert(store, args[0], int(args[1]))
        elif mode == "read":
            read(store, int(args[0]))
        elif mode == "hold":
            hold(store)
        else:
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
