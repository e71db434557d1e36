"""The stdlib engine's own guarantees (``edge_dan.store.sealed_sqlite``, issue #16).

The store tests that hold for both engines run on both (``tests/conftest.py``); these are the ones
particular to the sealed snapshot: no owner text in any file it leaves, after a clean run or a
SIGKILL in the middle of a commit; what tampering it detects (and the rollback it cannot see
across restarts); a wrong passphrase or key leaving every byte as it was; and the engine being
chosen where ``sqlcipher3`` cannot be imported at all.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from crash_writer import FAST_KDF

from edge_dan.errors import BackupError, StoreCorrupt, UsageError, WrongPassphrase
from edge_dan.store import Store, export_backup, import_backup
from edge_dan.store.engines import BACKEND_ENV, SQLCIPHER, SQLITE, sqlcipher_available
from edge_dan.store.sealed import HEADER_BYTES

PASS = "sealed passphrase"
# Owner text no file may ever hold in the clear; distinctive enough never to occur by chance.
SECRETS = ("Marguerite-Oyelaran-7731", "prefers-quiet-mornings-QX9", "accord-with-neighbour-ZZ4")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own, so any temporary file SQLite or Python makes can be read."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp


def every_file(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def plaintext_in(*roots: Path) -> list[str]:
    """``file: secret`` for every secret found, as UTF-8 or UTF-16, in any file under ``roots``."""
    found = []
    for path in every_file(*roots):
        data = path.read_bytes()
        for secret in SECRETS:
            if any(secret.encode(enc) in data for enc in ("utf-8", "utf-16-le", "utf-16-be")):
                found.append(f"{path.name}: {secret}")
    return found


def fingerprint(home: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in every_file(home)}


def fill(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        conn.execute("CREATE INDEX notes_text ON notes (text)")
        conn.executemany("INSERT INTO notes (text) VALUES (?)", [(s,) for s in SECRETS])
    store.db.table("more").insert_all({"text": f"{s} {i}"} for i in range(50) for s in SECRETS)
    with store.transaction() as conn:  # a deleted row must not linger in free pages either
        conn.execute("DELETE FROM more WHERE rowid % 2 = 0")


def test_no_owner_text_in_any_file_while_open_or_after(tmp_path: Path, tmpdir_env: Path) -> None:
    home = tmp_path / "home"
    with Store.create(home, PASS, kdf=FAST_KDF, backend=SQLITE) as store:
        fill(store)
        store.check()
        assert store.fetch_one("SELECT count(*) FROM notes") == (3,)  # the data is there
        assert plaintext_in(home, tmpdir_env) == []
        export_backup(store, tmp_path / "backup.edb", "backup pass", kdf=FAST_KDF)
    assert plaintext_in(home, tmpdir_env, tmp_path / "backup.edb") == []
    # The check itself finds plaintext where there is some.
    (tmpdir_env / "probe").write_text(SECRETS[0])
    assert plaintext_in(tmpdir_env) == [f"probe: {SECRETS[0]}"]


CHILD = """
import os, signal, sys
from pathlib import Path
from crash_writer import FAST_KDF
from edge_dan.store import Store
home, secret = Path(sys.argv[1]), sys.argv[2]
real_replace = os.replace
def replace(src, dst, **kw):
    if Path(dst).name == "store.db" and os.environ.get("DIE_BEFORE_RENAME"):
        os.kill(os.getpid(), signal.SIGKILL)  # the new snapshot is written, not yet renamed
    real_replace(src, dst, **kw)
os.replace = replace
with Store.open(home, os.environ["SEALED_PASS"]) as store:
    for n in range(int(sys.argv[3])):
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", (f"{secret} {n}",))
        print(f"acked {n}", flush=True)
    os.environ["DIE_BEFORE_RENAME"] = "1"
    with store.transaction() as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?)", (f"{secret} cut",))
    print("never", flush=True)
"""


def test_sigkill_mid_commit_keeps_what_was_acked_and_leaves_no_plaintext(
    tmp_path: Path, tmpdir_env: Path
) -> None:
    home = tmp_path / "home"
    with Store.create(home, PASS, kdf=FAST_KDF, backend=SQLITE) as store:
        fill(store)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), SECRETS[1], "5"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent), "SEALED_PASS": PASS},
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.split("\n")[:5] == [f"acked {n}" for n in range(5)]
    debris = [p.name for p in home.iterdir() if p.name.endswith(".tmp")]
    assert len(debris) == 1  # the sealed snapshot that never became the store
    assert plaintext_in(home, tmpdir_env) == []
    with Store.open(home, PASS) as store:
        texts = {row[0] for row in store.fetch_all("SELECT text FROM notes")}
    assert {f"{SECRETS[1]} {n}" for n in range(5)} <= texts  # every acknowledged commit
    assert f"{SECRETS[1]} cut" not in texts  # and not the one cut short
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]  # tidied on open


@pytest.fixture
def sealed_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with Store.create(home, PASS, kdf=FAST_KDF, backend=SQLITE) as store:
        fill(store)
    return home


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: _flip(d, len(d) // 2), id="bit-in-the-body"),
        pytest.param(lambda d: _flip(d, len(d) - 1), id="bit-in-the-tag"),
        pytest.param(lambda d: _flip(d, HEADER_BYTES - 1), id="generation-edited"),
        pytest.param(lambda d: _flip(d, HEADER_BYTES + 3), id="bit-in-the-nonce"),
        pytest.param(lambda d: d[: len(d) - 4096], id="truncated"),
        pytest.param(lambda d: d[:20], id="cut-inside-the-header"),
        pytest.param(lambda d: d + b"\0" * 16, id="grown"),
    ],
)
def test_a_tampered_snapshot_is_refused_and_left_alone(sealed_home: Path, damage: object) -> None:
    path = sealed_home / "store.db"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    before = fingerprint(sealed_home)
    with pytest.raises(StoreCorrupt, match=r"store\.db"):
        Store.open(sealed_home, PASS)
    assert fingerprint(sealed_home) == before


def test_a_snapshot_of_another_store_does_not_open(sealed_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    with Store.create(other, PASS, kdf=FAST_KDF, backend=SQLITE) as store:
        fill(store)
    (sealed_home / "store.db").write_bytes((other / "store.db").read_bytes())
    with pytest.raises(StoreCorrupt, match="does not authenticate"):
        Store.open(sealed_home, PASS)


def test_a_rollback_is_caught_while_open_but_not_across_a_restart(sealed_home: Path) -> None:
    path = sealed_home / "store.db"
    older = path.read_bytes()
    with Store.open(sealed_home, PASS) as store:
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('newer')")
        path.write_bytes(older)  # someone puts the previous snapshot back
        with pytest.raises(StoreCorrupt, match="rolled back"):
            store.fetch_all("SELECT text FROM notes")
    # A fresh process has no trusted counter to compare with: the older snapshot opens, whole
    # and authentic, without the newer commit (docs/SECURITY.md says so).
    with Store.open(sealed_home, PASS) as store:
        assert ("newer",) not in store.fetch_all("SELECT text FROM notes")


@pytest.mark.parametrize("secret", ["passphrase", "key"])
def test_a_wrong_secret_changes_no_byte(tmp_path: Path, secret: str) -> None:
    home = tmp_path / "home"
    key = os.urandom(32)
    if secret == "key":
        Store.create(home, key=key, backend=SQLITE).close()
    else:
        Store.create(home, PASS, kdf=FAST_KDF, backend=SQLITE).close()
    before = fingerprint(home)
    wrong = {"key": bytes(32)} if secret == "key" else {"passphrase": "not the passphrase"}
    with pytest.raises(WrongPassphrase, match=f"wrong {secret}"):
        Store.open(home, **wrong)
    assert fingerprint(home) == before


def test_a_file_cannot_be_attached_so_no_plaintext_file_can_be_made(
    sealed_home: Path, tmp_path: Path
) -> None:
    with Store.open(sealed_home, PASS) as store:
        for sql in (
            f"ATTACH DATABASE '{tmp_path}/plain.db' AS p",
            f"VACUUM INTO '{tmp_path}/v.db'",
        ):
            with pytest.raises(sqlite3.DatabaseError, match=r"not authorized|denied"):
                store.conn.execute(sql)
        assert store.fetch_one("SELECT count(*) FROM notes") == (3,)  # still usable
    assert not (tmp_path / "plain.db").exists() and not (tmp_path / "v.db").exists()


@pytest.mark.skipif(not sqlcipher_available(), reason="needs sqlcipher3 to make the other backup")
def test_a_backup_from_the_other_engine_is_refused_clearly(
    sealed_home: Path, tmp_path: Path
) -> None:
    with Store.create(tmp_path / "cipher", PASS, kdf=FAST_KDF, backend=SQLCIPHER) as store:
        export_backup(store, tmp_path / "cipher.edb", "b", kdf=FAST_KDF)
    before = fingerprint(sealed_home)
    with pytest.raises(BackupError, match="sqlcipher backend and this store uses sqlite"):
        import_backup(sealed_home, tmp_path / "cipher.edb", "b", store_passphrase=PASS)
    assert fingerprint(sealed_home) == before


WITHOUT_SQLCIPHER = """
import sys
sys.modules["sqlcipher3"] = None  # as on a phone: importing it fails
from pathlib import Path
from crash_writer import FAST_KDF
from edge_dan.errors import StoreCorrupt, UsageError
from edge_dan.store import Store
home, cipher_home = Path(sys.argv[1]), Path(sys.argv[2])
with Store.create(home, "p", kdf=FAST_KDF) as store:
    store.conn.execute("CREATE TABLE t (x)")
    store.conn.execute("INSERT INTO t VALUES ('kept')")
    store.conn.commit()
    print("created", store.backend)
with Store.open(home, "p") as store:
    print("opened", store.backend, store.fetch_all("SELECT x FROM t"))
try:
    Store.create(home.with_name("h2"), "p", kdf=FAST_KDF, backend="sqlcipher")
except UsageError as exc:
    print("refused:", exc)
if cipher_home.exists():
    try:
        Store.open(cipher_home, "p")
    except StoreCorrupt as exc:
        print("cipher store:", exc)
"""


def test_without_sqlcipher3_the_store_runs_on_the_stdlib_engine(tmp_path: Path) -> None:
    cipher_home = tmp_path / "cipher"
    if sqlcipher_available():
        Store.create(cipher_home, "p", kdf=FAST_KDF, backend=SQLCIPHER).close()
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    env["PYTHONPATH"] = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_SQLCIPHER, str(tmp_path / "home"), str(cipher_home)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    assert out[:3] == [
        "created sqlite",
        "opened sqlite [('kept',)]",
        "refused: the sqlcipher store backend needs sqlcipher3, which is not installed",
    ]
    if sqlcipher_available():
        assert out[3].startswith("cipher store: ") and "needs sqlcipher3" in out[3]


def test_an_unknown_backend_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match="unknown store backend 'sqlcypher'"):
        Store.create(tmp_path / "h", PASS, kdf=FAST_KDF, backend="sqlcypher")
    monkeypatch.setenv(BACKEND_ENV, "nope")
    with pytest.raises(UsageError, match=r"'nope'.*EDGE_DAN_STORE_BACKEND"):
        Store.create(tmp_path / "h", PASS, kdf=FAST_KDF)
    assert not (tmp_path / "h").exists()


def test_threads_sharing_one_store_take_turns(sealed_home: Path) -> None:
    """The agent reaches its store from worker threads too: each transaction is whole."""
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for n in range(40):
                with store.transaction() as conn:
                    conn.execute("INSERT INTO notes (text) VALUES (?)", (f"{tag} {n}",))
                    conn.execute("UPDATE notes SET text = text WHERE id = 1")
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    with Store.open(sealed_home, PASS) as store:
        threads = [threading.Thread(target=work, args=(t,)) for t in ("a", "b", "c")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
    with Store.open(sealed_home, PASS) as again:
        assert again.fetch_one("SELECT count(*) FROM notes") == (3 + 3 * 40,)
