"""The encrypted store against plain sqlite-utils, side by side in one run, and the unlock time.

Issue #2: "plain sqlite-utils against our store side by side in one run (10,000 inserts, read
back), printing the ratio (target at most 1.5x) and the unlock time."

Issue #16: the store without SQLCipher (the stdlib engine, ``edge_dan.store.sealed_sqlite``)
beside SQLCipher and plain sqlite3 in the same run, and what its whole-file commit costs as the
store grows.

    python bench/store.py [--rows N] [--single M] [--repeat R] [--dir DIR] [--sizes MB,MB,...]

Like for like: every side is ``sqlite_utils.Database`` on one connection with the store's own
pragmas (read back from the store's connection and applied to the others, then checked equal),
writing fresh files in the same directory each repeat, the sides taking turns going first. The
sides are

- plain: the standard library's ``sqlite3`` (whatever SQLite the interpreter was built with);
- unkeyed: ``sqlcipher3`` with no key, i.e. the same SQLite build as ours without encryption;
- ours: ``Store.db``, sqlite-utils on the store's SQLCipher connection (AES-256 pages + HMAC);
- sealed: ``Store.db`` on the stdlib engine: SQLite in memory, every commit one sealed snapshot
  (XChaCha20-Poly1305) written whole, fsynced and renamed. Its pragmas are its own (an in-memory
  database has no WAL and no page cache to tune), so it is left out of the equal-pragmas check.

The store is created with a cheap Argon2id setting for the throughput part (key derivation is
not part of it); the unlock part uses ``calibrate()``'s default target. Results go to stdout only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import sqlcipher3
import sqlite_utils

from edge_dan.owner import Owner
from edge_dan.store import KdfParams, Store, calibrate
from edge_dan.store.engines import SQLCIPHER, SQLITE, Engine
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS, KeyFile

PASSPHRASE = "benchmark passphrase"
FAST_KDF = KdfParams.fresh(1, 8 * 1024 * 1024)
TARGET_RATIO = 1.5
# The pragmas that shape write and read cost; read back from the store and copied to the others.
PRAGMAS = (
    "journal_mode",
    "synchronous",
    "secure_delete",
    "temp_store",
    "foreign_keys",
    "busy_timeout",
    "page_size",
    "cache_size",
)
SIDES = ("plain", "unkeyed", "ours", "sealed")
SAME_PRAGMAS = ("plain", "unkeyed", "ours")

Row = dict[str, Any]


def make_rows(count: int, seed: int, start: int = 0) -> list[Row]:
    rng = random.Random(seed)
    return [
        {
            "id": start + i,
            "name": f"item-{start + i}",
            "score": rng.random(),
            "body": rng.randbytes(100).hex(),  # about 230 bytes a row in all
        }
        for i in range(count)
    ]


def read_pragmas(conn: Any) -> dict[str, str]:
    return {name: str(conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in PRAGMAS}


def apply_pragmas(conn: Any, pragmas: dict[str, str]) -> None:
    for name in ("page_size", *(p for p in PRAGMAS if p != "page_size")):  # page size first
        conn.execute(f"PRAGMA {name} = {pragmas[name]}").fetchall()


# ----- the three sides ---------------------------------------------------------------------------
class Side:
    """One database to time: a sqlite-utils Database and how to close it."""

    def __init__(self, db: sqlite_utils.Database, close: Callable[[], None]) -> None:
        self.db = db
        self.close = close


def open_side(name: str, directory: Path, pragmas: dict[str, str]) -> Side:
    if name in {"ours", "sealed"}:
        backend = SQLCIPHER if name == "ours" else SQLITE
        store = Store.create(directory / "home", PASSPHRASE, kdf=FAST_KDF, backend=backend)
        return Side(store.db, store.close)
    path = str(directory / f"{name}.db")
    if name == "plain":
        conn: Any = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    else:
        conn = sqlcipher3.connect(path, timeout=5.0, check_same_thread=False)
    apply_pragmas(conn, pragmas)
    return Side(sqlite_utils.Database(conn), conn.close)


def store_pragmas(directory: Path) -> dict[str, str]:
    with Store.create(directory / "probe", PASSPHRASE, kdf=FAST_KDF, backend=SQLCIPHER) as store:
        return read_pragmas(store.conn)


# ----- workloads -------------------------------------------------------------------------------
WORKLOADS = ("insert_all", "single", "read")


def create_tables(db: sqlite_utils.Database) -> None:
    columns = {"id": int, "name": str, "score": float, "body": str}
    db.table("items").create(columns, pk="id")
    db.table("singles").create(columns, pk="id")


def run_workloads(side: Side, batch: list[Row], singles: list[Row]) -> dict[str, float]:
    db = side.db
    create_tables(db)
    times: dict[str, float] = {}

    start = time.perf_counter()
    db.table("items").insert_all(batch)  # one transaction, batched INSERTs
    times["insert_all"] = time.perf_counter() - start

    singles_table = db.table("singles")
    start = time.perf_counter()
    for row in singles:  # each insert is its own transaction, committed (fsync) on its own
        singles_table.insert(row)
    times["single"] = time.perf_counter() - start

    start = time.perf_counter()
    back = list(db.table("items").rows)
    times["read"] = time.perf_counter() - start

    if back != batch or list(singles_table.rows) != singles:
        raise SystemExit("read back different rows than were written")
    return times


@contextmanager
def scratch_dir(parent: Path | None) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="edge-dan-bench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def throughput(
    rows: int, single: int, repeat: int, parent: Path | None
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, str]]]:
    batch = make_rows(rows, seed=1)
    singles = make_rows(single, seed=2, start=rows)
    with scratch_dir(parent) as directory:
        pragmas = store_pragmas(directory)
    results: dict[str, dict[str, list[float]]] = {s: {w: [] for w in WORKLOADS} for s in SIDES}
    seen: dict[str, dict[str, str]] = {}
    for r in range(repeat):
        order = SIDES[r % len(SIDES) :] + SIDES[: r % len(SIDES)]  # take turns going first
        for name in order:
            with scratch_dir(parent) as directory:
                side = open_side(name, directory, pragmas)
                try:
                    seen[name] = read_pragmas(side.db.conn)
                    for workload, seconds in run_workloads(side, batch, singles).items():
                        results[name][workload].append(seconds)
                finally:
                    side.close()
    for name, got in seen.items():
        if name in SAME_PRAGMAS and got != pragmas:
            raise SystemExit(f"{name} runs with different pragmas: {got} vs {pragmas}")
    return results, seen


# ----- unlock ------------------------------------------------------------------------------------
@contextmanager
def timed_steps(parts: dict[str, list[float]]) -> Iterator[None]:
    """Time the steps of the real ``Owner.open`` (``Store.open``, then the owner's schema check) by
    wrapping the functions it calls."""
    originals = (KeyFile.unwrap_with, Engine.connect, Store.check)

    def timer(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                parts[name].append(time.perf_counter() - start)

        return wrapped

    setattr(KeyFile, "unwrap_with", timer("kdf", originals[0]))  # noqa: B010
    setattr(Engine, "connect", timer("connect", originals[1]))  # noqa: B010 - both engines
    setattr(Store, "check", timer("check", originals[2]))  # noqa: B010
    try:
        yield
    finally:
        setattr(KeyFile, "unwrap_with", originals[0])  # noqa: B010
        setattr(Engine, "connect", originals[1])  # noqa: B010
        setattr(Store, "check", originals[2])  # noqa: B010


def unlock(
    rows: int,
    repeat: int,
    parent: Path | None,
    *,
    backend: str,
    kdf: KdfParams,
    calibrate_seconds: float,
) -> dict[str, Any]:
    parts: dict[str, list[float]] = {
        name: [] for name in ("open", "kdf", "connect", "check", "rest")
    }
    with scratch_dir(parent) as directory:
        home = directory / "home"
        os.environ["EDGE_DAN_STORE_BACKEND"] = backend  # Owner.create takes the environment's
        try:
            with Owner.create(home, PASSPHRASE, kdf=kdf) as owner:
                owner.store.db.table("items").insert_all(make_rows(rows, seed=1), pk="id")
        finally:
            del os.environ["EDGE_DAN_STORE_BACKEND"]
        size = sum(p.stat().st_size for p in home.iterdir())
        with timed_steps(parts):
            for _ in range(repeat):
                start = time.perf_counter()
                Owner.open(home, PASSPHRASE).close()  # default: check=True, as the CLI opens
                parts["open"].append(time.perf_counter() - start)
                parts["rest"].append(
                    parts["open"][-1] - parts["kdf"][-1] - parts["connect"][-1] - parts["check"][-1]
                )
    medians = {name: statistics.median(values) for name, values in parts.items()}
    return {"kdf": kdf, "calibrate_seconds": calibrate_seconds, "size": size, "median": medians}


# ----- the sealed engine's whole-file commit, by store size --------------------------------------
ROW_BYTES = 230  # what make_rows writes per row, about


def commit_cost(megabytes: int, commits: int, parent: Path | None) -> dict[str, float]:
    """Median seconds of one single-row commit, and of an open, in a store of ``megabytes``, on
    each engine; and the sealed file's size."""
    found: dict[str, float] = {}
    for backend in (SQLCIPHER, SQLITE):
        with scratch_dir(parent) as directory:
            home = directory / "home"
            with Store.create(home, PASSPHRASE, kdf=FAST_KDF, backend=backend) as store:
                rows = megabytes * 1_000_000 // ROW_BYTES
                with store.transaction() as conn:  # one commit, whatever sqlite-utils batches
                    conn.execute(
                        "CREATE TABLE items"
                        " (id INTEGER PRIMARY KEY, name TEXT, score REAL, body TEXT)"
                    )
                    conn.executemany(
                        "INSERT INTO items VALUES (:id, :name, :score, :body)",
                        make_rows(rows, seed=3),
                    )
                extra = make_rows(commits, seed=4, start=rows)
                times = []
                for row in extra:
                    start = time.perf_counter()
                    with store.transaction() as conn:
                        conn.execute(
                            "INSERT INTO items (id, name, score, body) VALUES (?, ?, ?, ?)",
                            (row["id"], row["name"], row["score"], row["body"]),
                        )
                    times.append(time.perf_counter() - start)
                store.checkpoint()
            found[f"{backend}_commit"] = statistics.median(times)
            found[f"{backend}_size"] = (home / "store.db").stat().st_size
            opens = []
            for _ in range(3):
                start = time.perf_counter()
                Store.open(home, PASSPHRASE, check=False).close()
                opens.append(time.perf_counter() - start)
            found[f"{backend}_open"] = statistics.median(opens)
    return found


# ----- report ------------------------------------------------------------------------------------
def machine() -> list[str]:
    probe = sqlcipher3.connect(":memory:")
    try:
        cipher = probe.execute("PRAGMA cipher_version").fetchone()[0]
        cipher_sqlite = probe.execute("SELECT sqlite_version()").fetchone()[0]
    finally:
        probe.close()
    return [
        f"machine:      {platform.platform()} ({platform.machine()}), {os.cpu_count()} CPUs",
        f"python:       {platform.python_implementation()} {platform.python_version()}",
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min, at start)",
        f"plain:        sqlite3 module, SQLite {sqlite3.sqlite_version}",
        f"ours:         sqlcipher3 {version('sqlcipher3')}, SQLCipher {cipher} "
        f"(SQLite {cipher_sqlite})",
        f"sealed:       sqlite3 module in memory (SQLite {sqlite3.sqlite_version}), "
        f"PyNaCl {version('pynacl')} XChaCha20-Poly1305",
        f"sqlite-utils: {version('sqlite-utils')}",
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows for insert_all and read")
    parser.add_argument(
        "--single", type=int, default=1_000, help="individually committed inserts (fsync each)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per side; medians shown")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: TMPDIR)")
    parser.add_argument(
        "--sizes",
        default="1,10,50",
        help="store sizes in MB at which to time one commit on each engine (empty: skip)",
    )
    parser.add_argument("--commits", type=int, default=10, help="timed commits per size")
    args = parser.parse_args(argv)

    print("edge_dan store benchmark (issue #2)")
    print(f"command:      python {' '.join(sys.argv)}")
    for line in machine():
        print(line)
    where = args.dir or Path(tempfile.gettempdir())
    print(f"files in:     {where} (fresh files per run)")

    results, pragmas = throughput(args.rows, args.single, args.repeat, args.dir)
    shown = ", ".join(f"{k}={v}" for k, v in pragmas["ours"].items())
    print(f"pragmas:      {shown} (identical on all sides)")
    print()
    print(f"Throughput, median of {args.repeat} runs per side (sqlite-utils on each connection):")
    labels = {
        "insert_all": f"insert_all {args.rows:,} rows, one transaction",
        "single": f"{args.single:,} inserts, one commit each",
        "read": f"read back {args.rows:,} rows",
    }
    print(
        f"  {'workload':<42}{'plain ms':>9}{'unkeyed':>10}{'ours ms':>9}  ours/plain  ours/unkeyed"
        f"{'sealed ms':>11}  sealed/plain  sealed/ours"
    )
    worst = 0.0
    totals = dict.fromkeys(SIDES, 0.0)
    for workload in WORKLOADS:
        med = {s: statistics.median(results[s][workload]) for s in SIDES}
        for s in SIDES:
            totals[s] += med[s]
        ratio = med["ours"] / med["plain"]
        worst = max(worst, ratio)
        print(
            f"  {labels[workload]:<42}{ms(med['plain'])}{ms(med['unkeyed']):>10}{ms(med['ours'])}"
            f"  {ratio:9.2f}x  {med['ours'] / med['unkeyed']:11.2f}x"
            f"{ms(med['sealed']):>11}  {med['sealed'] / med['plain']:11.2f}x"
            f"  {med['sealed'] / med['ours']:10.2f}x"
        )
    total_ratio = totals["ours"] / totals["plain"]
    print(
        f"  {'total':<42}{ms(totals['plain'])}{ms(totals['unkeyed']):>10}{ms(totals['ours'])}"
        f"  {total_ratio:9.2f}x  {totals['ours'] / totals['unkeyed']:11.2f}x"
        f"{ms(totals['sealed']):>11}  {totals['sealed'] / totals['plain']:11.2f}x"
        f"  {totals['sealed'] / totals['ours']:10.2f}x"
    )
    verdict = "within" if worst <= TARGET_RATIO else "OVER"
    print(f"  target ours/plain <= {TARGET_RATIO}x: worst workload {worst:.2f}x, {verdict} target")
    print()

    start = time.perf_counter()
    kdf = calibrate()
    calibrated = time.perf_counter() - start
    found = unlock(
        args.rows, args.repeat, args.dir, backend=SQLCIPHER, kdf=kdf, calibrate_seconds=calibrated
    )
    med = found["median"]
    sealed = unlock(
        args.rows, args.repeat, args.dir, backend=SQLITE, kdf=kdf, calibrate_seconds=calibrated
    )["median"]
    print(
        f"Unlock (Owner.open with check=True), median of {args.repeat} (each step timed inside it):"
    )
    print(
        f"  calibrate({DEFAULT_UNLOCK_SECONDS}) chose opslimit={kdf.opslimit}, "
        f"memlimit={kdf.memlimit // (1024 * 1024)} MiB (took {found['calibrate_seconds']:.2f} s)"
    )
    print(f"  store: {args.rows:,} rows, {found['size'] / 1e6:.1f} MB on disk")
    print(f"  Owner.open total                        {ms(med['open'])} ms")
    print(f"    Argon2id derive + unwrap             {ms(med['kdf'])} ms")
    print(f"    SQLCipher open (key, first read)     {ms(med['connect'])} ms")
    print(f"    integrity check (cipher + quick)     {ms(med['check'])} ms")
    print(f"    the rest (lock, schema, store id)    {ms(med['rest'])} ms")
    report_sealed_unlock(sealed, args.rows)

    report_commit_cost([int(x) for x in args.sizes.split(",") if x.strip()], args)


def report_commit_cost(sizes: list[int], args: argparse.Namespace) -> None:
    if not sizes:
        return
    print()
    print(f"One single-row commit by store size, median of {args.commits} (and of 3 opens):")
    print(
        f"  {'store MB':>8}{'sealed file MB':>16}{'sqlcipher ms':>14}{'sealed ms':>11}"
        f"{'sealed/sqlcipher':>18}{'open sqlcipher':>16}{'open sealed':>13}"
    )
    for mb in sizes:
        got = commit_cost(mb, args.commits, args.dir)
        print(
            f"  {mb:>8}{got['sqlite_size'] / 1e6:>16.1f}{ms(got['sqlcipher_commit']):>14}"
            f"{ms(got['sqlite_commit']):>11}"
            f"{got['sqlite_commit'] / got['sqlcipher_commit']:>17.1f}x"
            f"{ms(got['sqlcipher_open']):>16}{ms(got['sqlite_open']):>13}"
        )


def report_sealed_unlock(sealed: dict[str, float], rows: int) -> None:
    print(f"  the same on the sealed engine (store.db {sealed_size(rows)}):")
    print(f"  Owner.open total                        {ms(sealed['open'])} ms")
    print(f"    Argon2id derive + unwrap             {ms(sealed['kdf'])} ms")
    print(f"    read, authenticate, deserialize      {ms(sealed['connect'])} ms")
    print(f"    integrity check (quick_check)        {ms(sealed['check'])} ms")
    print(f"    the rest (lock, schema, store id)    {ms(sealed['rest'])} ms")


def sealed_size(rows: int) -> str:
    return f"about {rows * ROW_BYTES / 1e6:.1f} MB of rows, padded to its size bucket"


if __name__ == "__main__":
    main()
