"""Two processes using one store at once (issue #2).

Ordinary use holds the store's lock shared, so several processes may read and write together and
SQLite's WAL orders their transactions; whole-file swaps (rekey, import) need the store to
themselves and must refuse, changing nothing, while another process has it open. The child
processes are ``crash_writer.py`` modes.
"""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from crash_writer import FAST_KDF

import edge_dan.store.store as store_module
from edge_dan.errors import StoreBusy
from edge_dan.store import Store, export_backup, import_backup

WRITER = Path(__file__).with_name("crash_writer.py")
PASSPHRASE = "two at once"
ROWS = 300
CHILD_TIMEOUT = 60.0
SHORT_LOCK_TIMEOUT = 0.3


def make_store(home: Path) -> None:
    with Store.create(home, PASSPHRASE, kdf=FAST_KDF) as store, store.transaction() as conn:
        conn.execute(
            "CREATE TABLE conc_rows (id INTEGER PRIMARY KEY, tag TEXT NOT NULL,"
            " seq INTEGER NOT NULL, payload BLOB NOT NULL, UNIQUE (tag, seq))"
        )
        conn.execute("CREATE TABLE conc_counter (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO conc_counter (n) VALUES (0)")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home holding the store every test here starts from (``make_store``)."""
    made = tmp_path / "home"
    make_store(made)
    return made


@pytest.fixture
def short_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused swap gives up after ``SHORT_LOCK_TIMEOUT`` rather than the store's default."""
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", SHORT_LOCK_TIMEOUT)


def spawn(home: Path, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), args[0], str(home), PASSPHRASE, *args[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child {args} did not start: {line!r}\n{err}")
    return proc


@contextmanager
def children(home: Path, *commands: tuple[str, ...]) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        for command in commands:
            procs.append(spawn(home, *command))
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def tell(proc: subprocess.Popen[str], line: str) -> None:
    """Send one line to a child's stdin."""
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def ask(proc: subprocess.Popen[str], line: str) -> str:
    """Send one line to a child and wait for its one-line answer."""
    tell(proc, line)
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def go(procs: list[subprocess.Popen[str]]) -> None:
    """Release all children at once (each waits for 'go' after opening the store)."""
    for proc in procs:
        tell(proc, "go")


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    assert proc.returncode == 0, f"child failed (exit {proc.returncode}):\n{err}"
    return out


def release(holder: subprocess.Popen[str]) -> None:
    """Let a ``hold`` child close the store and exit."""
    tell(holder, "quit")
    finish(holder)


def counter(home: Path) -> int:
    """``conc_counter`` as a fresh open of the store reads it."""
    with Store.open(home, PASSPHRASE) as store:
        return int(store.conn.execute("SELECT n FROM conc_counter").fetchone()[0])


def test_two_writers_at_once(home: Path) -> None:
    started = time.monotonic()
    with children(home, ("insert", "A", str(ROWS)), ("insert", "B", str(ROWS))) as procs:
        go(procs)
        outputs = [finish(proc) for proc in procs]
    elapsed = time.monotonic() - started
    spans = []
    for out in outputs:
        word, count, start, end = out.split()
        assert (word, int(count)) == ("done", ROWS)
        spans.append((float(start), float(end)))
    # The two writers' runs overlapped in time (both had the store open and were writing).
    assert max(start for start, _ in spans) < min(end for _, end in spans)

    with Store.open(home, PASSPHRASE) as store:
        tags = [tag for (tag,) in store.conn.execute("SELECT tag FROM conc_rows ORDER BY id")]
        for tag in ("A", "B"):
            seqs = [
                s
                for (s,) in store.conn.execute(
                    "SELECT seq FROM conc_rows WHERE tag = ? ORDER BY id", (tag,)
                )
            ]
            assert seqs == list(range(ROWS))  # all there, in each writer's own order
        assert store.conn.execute("SELECT n FROM conc_counter").fetchone() == (2 * ROWS,)
        assert len(tags) == 2 * ROWS
    # How often the commit order switched between the writers; SQLite's busy handler polls, so
    # one writer often runs its whole batch while the other waits (1 switch): not asserted.
    switches = sum(a != b for a, b in itertools.pairwise(tags))
    print(f"\ntwo writers: {2 * ROWS} rows in {elapsed:.2f} s, {switches} switches between them")


def test_reader_sees_consistent_snapshots_while_a_writer_writes(home: Path) -> None:
    with children(home, ("insert", "W", str(ROWS)), ("read", str(ROWS))) as procs:
        go(procs)
        writer, reader = (finish(proc) for proc in procs)
    assert writer.startswith(f"done {ROWS} ")
    # The reader checks every snapshot itself (rows == counter, no holes, never backwards) and
    # exits non-zero on the first bad one; here: it saw the store change under it.
    words = reader.split()
    assert words[0::2] == ["snapshots", "distinct"]
    snapshots, distinct = int(words[1]), int(words[3])
    print(f"\nreader: {snapshots} snapshots, {distinct} distinct states, all consistent")
    assert distinct >= 2


def fingerprint(home: Path) -> dict[str, str]:
    """The home's file names, and the content of those that hold data or keys.

    ``-shm`` is SQLite's shared-memory index (readers update it too) and ``lock`` is empty.
    """
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        if p.name in {"keyfile.json", "store.db", "store.db-wal"}
        else ""
        for p in sorted(home.iterdir())
    }


@pytest.mark.usefixtures("short_lock")
@pytest.mark.parametrize("operation", ["rekey", "import"])
def test_swap_refused_while_another_process_has_the_store_open(
    tmp_path: Path, home: Path, operation: str
) -> None:
    backup = tmp_path / "backup.edb"
    with Store.open(home, PASSPHRASE) as store:
        export_backup(store, backup, "backup", kdf=FAST_KDF)

    with children(home, ("hold",)) as (holder,):
        before = fingerprint(home)
        started = time.monotonic()
        if operation == "rekey":
            with Store.open(home, PASSPHRASE) as store:
                with pytest.raises(StoreBusy):
                    store.rekey()
                assert fingerprint(home) == before  # nothing changed, no store.db.next left
                with store.transaction() as conn:  # and this process's store still works
                    conn.execute("UPDATE conc_counter SET n = n + 1")
        else:
            with pytest.raises(StoreBusy):
                import_backup(home, backup, "backup", store_passphrase=PASSPHRASE)
            assert fingerprint(home) == before
        assert time.monotonic() - started < SHORT_LOCK_TIMEOUT + 2.0
        release(holder)

    with Store.open(home, PASSPHRASE) as store:
        expected = 1 if operation == "rekey" else 0
        assert store.conn.execute("SELECT n FROM conc_counter").fetchone() == (expected,)
        store.check()


@pytest.mark.usefixtures("short_lock")
def test_failed_rekey_keeps_the_store_protected(home: Path) -> None:
    """A refused rekey must leave this process holding its lock.

    flock converts shared to exclusive by dropping the lock first, so a failed upgrade used to
    leave the process with no lock at all: the other process's rekey then swapped the file under
    it and this process's next commit went to the unlinked file.
    """

    with children(home, ("hold",)) as (holder,):
        store = Store.open(home, PASSPHRASE)
        try:
            with pytest.raises(StoreBusy):
                store.rekey()
            # This process still has the store open, so the holder's rekey must be refused too.
            answer = ask(holder, "rekey")
            with store.transaction() as conn:  # acknowledged...
                conn.execute("UPDATE conc_counter SET n = 42")
        finally:
            store.close()
        release(holder)

    # ...so it must be there. With the bug the holder answered "rekeyed" and the counter was 0.
    assert (answer, counter(home)) == ("busy", 42)


@pytest.mark.usefixtures("short_lock")
def test_rekey_started_while_another_upgrade_is_pending_cannot_swap(home: Path) -> None:
    """A failed flock upgrade leaves its process lockless for a moment: no swap may slip in.

    Our rekey waits for the holder to let go; meanwhile the holder starts a rekey of its own.
    Whoever is refused must keep the store safely shared, so the write we make afterwards survives.
    """

    with children(home, ("hold",)) as (holder,):
        store = Store.open(home, PASSPHRASE)
        try:
            outcome: list[BaseException | None] = []

            def rekey() -> None:
                try:
                    store.rekey()
                except BaseException as exc:  # reported below
                    outcome.append(exc)
                else:
                    outcome.append(None)

            waiting = threading.Thread(target=rekey)
            waiting.start()  # blocked by the holder's shared lock...
            time.sleep(SHORT_LOCK_TIMEOUT / 3)
            answer = ask(holder, "rekey")  # ...while the holder tries to swap too
            waiting.join(CHILD_TIMEOUT)
            assert len(outcome) == 1 and isinstance(outcome[0], StoreBusy), outcome
            with store.transaction() as conn:
                conn.execute("UPDATE conc_counter SET n = 42")
        finally:
            store.close()
        release(holder)

    assert (answer, counter(home)) == ("busy", 42)
