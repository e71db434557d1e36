"""The store survives SIGKILL at random points (issue #2).

A child process (``crash_writer.py``) works on a store and prints one line per step it has
completed; the test kills it with SIGKILL at a random moment, then reopens the store and checks:
it opens, it passes its integrity check, every acknowledged write is there and intact, and no
half-finished swap (``store.db.next``, ``keyfile.next.json``) nor scratch file survives the open.
The same is done while the child loops ``rekey``, ``change_passphrase`` and ``import_backup`` over
an existing store, the operations that replace whole files. Random kills rarely land in the
microseconds right after a swap's commit point, so a last group of tests kills the child at each
step of the swap protocol exactly.

Kill timing comes from a seeded RNG; where the kill lands still depends on the machine's speed, so
each random test counts how often it caught the child mid-swap and prints a summary
(``pytest -s``).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from crash_writer import CRASH_TABLE, FAST_KDF, MAX_PAYLOAD, ROW_ID_STRIDE

from edge_dan.errors import WrongPassphrase
from edge_dan.owner import Owner
from edge_dan.store import Store, export_backup
from edge_dan.values.profile import ValueProfile

WRITER = Path(__file__).with_name("crash_writer.py")
PASSPHRASE = "correct horse battery staple"
SEED = 20240517
WRITER_KILLS = 52
SWAP_KILLS = 18
CHILD_TIMEOUT = 20.0
EXPECTED_FILES = {
    "keyfile.json",
    "store.db",
    "store.db-wal",
    "store.db-shm",
    "lock",
    "swap.lock",
    "commit.lock",  # the stdlib engine's (sealed_sqlite)
}
SWAP_DEBRIS = ("store.db.next", "keyfile.next.json")


# ----- the child and its acknowledgements ------------------------------------------------------
@dataclass
class Child:
    """A ``crash_writer.py`` process whose stdout lines are collected (with arrival times)."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, stderr: Path, *args: str) -> Child:
        with stderr.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, str(WRITER), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        child = cls(proc)
        child.reader = threading.Thread(target=child._read, daemon=True)
        child.reader.start()
        return child

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):  # torn by the kill: never acknowledged
                break
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.times.append(time.monotonic())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_lines(self, count: int, *, at_most: float | None = None) -> None:
        """Wait until ``count`` lines arrived (or the child ended on its own).

        With ``at_most``, stop waiting after that many seconds (a slow disk then gets killed
        after fewer acknowledgements instead of making the test slow).
        """
        limit = CHILD_TIMEOUT if at_most is None else at_most
        deadline = time.monotonic() + limit
        with self.cond:
            while len(self.lines) < count and self.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    if at_most is not None:
                        return
                    pytest.fail(f"the child sent {len(self.lines)} of {count} lines in time")
                self.cond.wait(min(left, 0.05))

    def kill(self, stderr: Path) -> list[str]:
        """SIGKILL the child; return every complete line it printed (its acknowledgements)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(CHILD_TIMEOUT)
        assert self.reader is not None
        self.reader.join(CHILD_TIMEOUT)
        if code != -signal.SIGKILL:
            pytest.fail(f"the child ended by itself (exit {code}):\n{stderr.read_text()}")
        return list(self.lines)

    def op_intervals(self) -> list[float]:
        return [b - a for a, b in zip(self.times[1:], self.times[2:], strict=False)]


def leftovers(home: Path) -> set[str]:
    return {p.name for p in home.iterdir()} - EXPECTED_FILES


def mid_swap(home: Path) -> bool:
    return any((home / name).exists() for name in SWAP_DEBRIS)


@dataclass
class Stats:
    kills: int = 0
    mid_swap: int = 0
    acks: list[int] = field(default_factory=list)
    modes: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def summary(self, name: str) -> str:
        return (
            f"{name}: {self.kills} kills in {time.monotonic() - self.started:.1f} s, "
            f"{self.mid_swap} mid-swap, acks per kill min/median/max "
            f"{min(self.acks)}/{statistics.median(self.acks)}/{max(self.acks)} "
            f"(total {sum(self.acks)}), modes {dict(self.modes)}"
        )


# ----- store contents --------------------------------------------------------------------------
def read_rows(store: Store) -> dict[int, str]:
    """Every crash row as id -> sha256, after checking each payload still hashes to it."""
    if not store.db["crash_rows"].exists():
        return {}
    rows: dict[int, str] = {}
    for row_id, payload, digest in store.conn.execute("SELECT id, payload, sha256 FROM crash_rows"):
        assert hashlib.sha256(payload).hexdigest() == digest, f"row {row_id} is damaged"
        rows[row_id] = digest
    return rows


def check_profile(store: Store, acked_edits: set[str]) -> None:
    """Every acknowledged edit is in the history, and the history explains the profile."""
    profile = Owner(store).profile
    history = profile.history()
    missing = acked_edits - {change.note for change in history}
    assert not missing, f"acknowledged profile edits lost: {sorted(missing)}"
    state = ValueProfile.neutral().to_dict()
    for change in history:
        for value, (old, new) in change.changes.items():
            assert state[value] == old, f"history does not chain at {change.note!r}"
            state[value] = new
    assert profile.current().to_dict() == state


def reopen(home: Path, passphrase: str = PASSPHRASE) -> Store:
    """Open after a kill: recovery, the full integrity check on open, and once more explicitly."""
    store = Store.open(home, passphrase, check=True)
    store.check()
    debris = [name for name in SWAP_DEBRIS if (home / name).exists()]
    assert not debris, f"{debris} survived the open"
    # Alone with the store, the open also deletes a killed operation's scratch files.
    assert leftovers(home) == set()
    return store


# ----- 1. a writer killed at random points -----------------------------------------------------
@pytest.mark.slow
def test_writer_killed_at_random_points_loses_no_acknowledged_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Store.create(home, PASSPHRASE, kdf=FAST_KDF).close()
    stderr = tmp_path / "child.err"
    rng = random.Random(SEED)
    known: dict[int, str] = {}  # every row seen after earlier kills
    acked_edits: set[str] = set()
    stats = Stats()

    for iteration in range(WRITER_KILLS):
        child = Child.start(
            stderr, "write", str(home), PASSPHRASE, str(iteration), str(rng.randrange(2**32))
        )
        mode = rng.choice(["startup", "after-open", "mid-stream", "mid-stream"])
        stats.modes[mode] += 1
        if mode == "startup":  # interpreter start-up, Store.open, the integrity check
            time.sleep(rng.uniform(0.0, 0.25))
        elif mode == "after-open":  # right after open: the first few transactions
            child.wait_lines(1)
            time.sleep(rng.uniform(0.0, 0.01))
        else:
            child.wait_lines(1)
            child.wait_lines(1 + rng.randint(1, 150), at_most=0.5)
            time.sleep(rng.uniform(0.0, 0.002))
        lines = child.kill(stderr)
        stats.kills += 1

        acked_rows = {}
        for line in lines:
            kind, _, rest = line.partition(" ")
            if kind == "row":
                seq, digest = rest.split()
                acked_rows[iteration * ROW_ID_STRIDE + int(seq)] = digest
            elif kind == "edit":
                acked_edits.add(rest)
        stats.acks.append(len(acked_rows))

        with reopen(home) as store:
            rows = read_rows(store)
            lost = {i for i in acked_rows if i not in rows}
            assert not lost, f"kill {iteration}: acknowledged rows lost: {sorted(lost)[:5]}"
            assert all(rows[i] == d for i, d in acked_rows.items())
            earlier = {i: d for i, d in rows.items() if i // ROW_ID_STRIDE != iteration}
            assert earlier == known, f"kill {iteration}: rows of earlier runs changed"
            this_run = sorted(i % ROW_ID_STRIDE for i in rows if i // ROW_ID_STRIDE == iteration)
            # No holes, and at most the one transaction that committed just before the kill
            # went unacknowledged.
            assert this_run == list(range(len(this_run)))
            assert len(acked_rows) <= len(this_run) <= len(acked_rows) + 1
            check_profile(store, acked_edits)
            known = rows

    print("\n" + stats.summary("writer"))
    assert stats.kills >= 50
    assert sum(stats.acks) > 0


# ----- 2. kills during the whole-file operations -----------------------------------------------
@dataclass
class Baseline:
    home: Path
    store_id: str
    rows: dict[int, str]
    profile: dict[str, float]
    keyfile: bytes


def make_store(tmp_path: Path, rows: int = 150) -> Baseline:
    """A store with some rows and a profile edit, so a rebuild has real data to carry."""
    home = tmp_path / "home"
    rng = random.Random(SEED)
    with Store.create(home, PASSPHRASE, kdf=FAST_KDF) as store:
        with store.transaction() as conn:
            conn.execute(CRASH_TABLE)
            for seq in range(rows):
                payload = rng.randbytes(rng.randrange(MAX_PAYLOAD + 1))
                conn.execute(
                    "INSERT INTO crash_rows (id, iteration, seq, payload, sha256)"
                    " VALUES (?, 0, ?, ?, ?)",
                    (seq, seq, payload, hashlib.sha256(payload).hexdigest()),
                )
        Owner(store).profile.edit({"benevolence": 0.9, "power": 0.1}, note="baseline")
        # Free some pages, so the rebuild has to leave them behind.
        with store.transaction() as conn:
            conn.execute("CREATE TABLE scratch (x BLOB)")
            conn.execute("INSERT INTO scratch VALUES (zeroblob(200000))")
            conn.execute("DROP TABLE scratch")
        rows_now, profile = read_rows(store), Owner(store).profile.current().to_dict()
        return Baseline(
            home, store.store_id, rows_now, profile, (home / "keyfile.json").read_bytes()
        )


def check_intact(store: Store, base: Baseline) -> None:
    assert store.store_id == base.store_id
    assert store.get_meta("store_id") == base.store_id
    assert read_rows(store) == base.rows
    assert Owner(store).profile.current().to_dict() == base.profile
    check_profile(store, {"baseline"})


def kill_while_looping(
    tmp_path: Path,
    base: Baseline,
    name: str,
    args: Callable[[], list[str]],
    after_kill: Callable[[list[str]], None],
) -> Stats:
    """Start a looping child ``SWAP_KILLS`` times and kill it at a random phase of an operation."""
    rng = random.Random(f"{SEED}-{name}")
    stderr = tmp_path / f"{name}.err"
    stats = Stats()
    op_time = 0.03  # refined from the acknowledgements' spacing
    intervals: list[float] = []
    for _ in range(SWAP_KILLS):
        child = Child.start(stderr, *args())
        done = rng.randint(0, 1)  # kill in the first or second operation
        child.wait_lines(1 + done)
        time.sleep(rng.uniform(0.0, 1.2 * op_time))
        lines = child.kill(stderr)
        stats.kills += 1
        stats.acks.append(len(lines) - 1 if lines else 0)
        stats.modes[f"after {done} ops"] += 1
        intervals += child.op_intervals()
        if intervals:
            op_time = statistics.median(intervals)
        stats.mid_swap += mid_swap(base.home)
        after_kill(lines)
    print(f"\n{stats.summary(name)}, median operation {op_time * 1000:.1f} ms")
    return stats


def key_files_across_kills(
    tmp_path: Path, base: Baseline, name: str, args: Callable[[], list[str]]
) -> set[bytes]:
    """``kill_while_looping`` a child that keeps the passphrase; after each kill the store must
    open intact. The key files seen (the first included): more than one means an operation
    completed."""
    keys = {(base.home / "keyfile.json").read_bytes()}

    def after_kill(lines: list[str]) -> None:
        with reopen(base.home) as store:
            check_intact(store, base)
        keys.add((base.home / "keyfile.json").read_bytes())

    stats = kill_while_looping(tmp_path, base, name, args, after_kill)
    assert stats.kills >= 15
    return keys


@pytest.mark.slow
def test_kill_during_rekey(tmp_path: Path) -> None:
    base = make_store(tmp_path)
    keys = key_files_across_kills(
        tmp_path, base, "rekey", lambda: ["rekey", str(base.home), PASSPHRASE]
    )
    assert len(keys) > 1, "no rekey ever completed"


@pytest.mark.slow
def test_kill_during_change_passphrase(tmp_path: Path) -> None:
    base = make_store(tmp_path)
    with Store.open(base.home, PASSPHRASE) as store:
        store.change_passphrase("pass-0", kdf=FAST_KDF)
    current = 0
    changes = 0

    def after_kill(lines: list[str]) -> None:
        nonlocal current, changes
        acked = [int(line.split()[1]) for line in lines if line.startswith("passwd ")]
        old = acked[-1] if acked else current
        works = []
        for n in (old, old + 1):
            try:
                store = reopen(base.home, f"pass-{n}")
            except WrongPassphrase:
                continue
            with store:
                check_intact(store, base)
            works.append(n)
        assert len(works) == 1, f"pass-{old} / pass-{old + 1}: {works} open the store"
        changes += works[0] - current
        current = works[0]

    stats = kill_while_looping(
        tmp_path,
        base,
        "passwd",
        lambda: ["passwd", str(base.home), f"pass-{current}", str(current)],
        after_kill,
    )
    assert stats.kills >= 15
    assert changes > 0
    for stale in range(current):  # every earlier passphrase is dead
        with pytest.raises(WrongPassphrase):
            Store.open(base.home, f"pass-{stale}")


@pytest.mark.slow
def test_kill_during_import_replace(tmp_path: Path) -> None:
    base = make_store(tmp_path)
    backup = tmp_path / "backup.edb"
    with Store.open(base.home, PASSPHRASE) as store:
        export_backup(store, backup, "backup passphrase", kdf=FAST_KDF)
    keys = key_files_across_kills(
        tmp_path,
        base,
        "import",
        lambda: ["import", str(base.home), PASSPHRASE, str(backup), "backup passphrase"],
    )
    assert len(keys) > 1, "no import ever completed"


# ----- 3. a kill at each step of the swap protocol, deterministically ---------------------------
# Random kills rarely land in the few microseconds after the commit point (the rename of
# store.db.next), so each step of the protocol also gets one SIGKILL placed exactly there.
BACKUP_PASSPHRASE = "backup passphrase"
ROLLED_BACK = {"building", "keyfile-tmp", "before-commit"}
SWAP_STEPS = ("building", "keyfile-tmp", "before-commit", "after-commit", "after-keyfile")
STEP_CASES = [
    *((op, step) for op in ("rekey", "import") for step in SWAP_STEPS),
    ("passwd", "keyfile-tmp"),
    ("passwd", "after-keyfile"),
]


def kill_at(tmp_path: Path, op: str, step: str) -> Baseline:
    """Make a store, run ``op`` in a child that SIGKILLs itself at ``step``; return the baseline."""
    base = make_store(tmp_path, rows=40)
    backup = tmp_path / "backup.edb"
    if op == "import":
        with Store.open(base.home, PASSPHRASE) as store:
            export_backup(store, backup, BACKUP_PASSPHRASE, kdf=FAST_KDF)
    stderr = tmp_path / "child.err"
    with stderr.open("w") as err:
        args = ["die-at", str(base.home), PASSPHRASE, op, step, str(backup), BACKUP_PASSPHRASE]
        code = subprocess.run(
            [sys.executable, str(WRITER), *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=CHILD_TIMEOUT,
            check=False,
        ).returncode
    assert code == -signal.SIGKILL, f"the child did not reach {step} (exit {code}):\n" + (
        stderr.read_text()
    )
    return base


# What the home holds right after the kill: (store.db.next exists, keyfile.next.json exists).
SWAP_STATE = {
    "building": (True, False),
    "keyfile-tmp": (True, False),
    "before-commit": (True, True),
    "after-commit": (False, True),
    "after-keyfile": (False, False),
}


@pytest.mark.parametrize(("op", "step"), STEP_CASES)
def test_kill_at_each_step_of_a_swap(tmp_path: Path, op: str, step: str) -> None:
    home = tmp_path / "home"
    base = kill_at(tmp_path, op, step)
    state = tuple((home / name).exists() for name in SWAP_DEBRIS)
    assert state == (SWAP_STATE[step] if op != "passwd" else (False, False))

    committed = step not in ROLLED_BACK
    right = PASSPHRASE + "-new" if op == "passwd" and committed else PASSPHRASE
    with reopen(home, right) as store:
        check_intact(store, base)
        # Rolled back: the old key file stays. Committed: the new one is in place.
        assert ((home / "keyfile.json").read_bytes() != base.keyfile) == committed
        store.rekey()  # the recovered store takes further swaps
        check_intact(store, base)
    if op == "passwd":
        wrong = PASSPHRASE if committed else PASSPHRASE + "-new"
        with pytest.raises(WrongPassphrase):
            Store.open(home, wrong)


@pytest.mark.parametrize(
    ("op", "step"),
    [
        pytest.param("import", "building", id="import-scratch-db"),
        pytest.param("backup", "building", id="backup-scratch-db"),
        pytest.param("rekey", "keyfile-tmp", id="keyfile-next-tmp"),
        pytest.param("passwd", "keyfile-tmp", id="keyfile-tmp"),
    ],
)
def test_recovery_leaves_only_the_stores_own_files(tmp_path: Path, op: str, step: str) -> None:
    """Scratch databases and atomic-write temporaries of a killed operation are deleted.

    (They used to stay forever: an interrupted import left a full copy of the backup's database.)
    """
    base = kill_at(tmp_path, op, step)
    assert leftovers(base.home)  # the kill did leave something behind
    with reopen(base.home):
        assert leftovers(base.home) == set()
