"""``Owner``: one object over the owner's data, its schema, and stores made before it existed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import modules_after

from edge_dan.errors import StoreError, UsageError
from edge_dan.identity import Identity
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace
from edge_dan.owner import SCHEMA, Owner
from edge_dan.store import KdfParams, Store
from edge_dan.store.schema import version

PASS = "correct horse"
# A store made by edge_dan before the owner's data had a package of its own (the store kept it
# itself, schema 6): made with that version's functions and its test Argon2id cost, and holding a
# profile edit, an answer, a contest, a peer with its advertising key, our advertising key, and a
# binding accord and norm. See data/store-before-owner/README.md.
BEFORE = Path(__file__).with_name("data") / "store-before-owner"
BEFORE_PASS = "old pass"
BEFORE_FINGERPRINT = "6e85-07qz-ybe0-zc6w-fdg5-4yf0-b4k3-5d7d"
BEFORE_BOB = bytes.fromhex("cd2bc39be0d1663fa7e88c45b56a9046f9336a425a711016e9aa0af7295e7bd1")


def _master(store: Store) -> list[tuple[str, str, str, str | None]]:
    rows = store.conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
    return [tuple(row) for row in rows.fetchall()]


@pytest.fixture
def before(tmp_path: Path) -> Path:
    # That store predates the stdlib engine: it is a SQLCipher file, which only sqlcipher3 reads.
    pytest.importorskip("sqlcipher3", reason="the old store is a SQLCipher file")
    home = tmp_path / "before"
    shutil.copytree(BEFORE, home, ignore=shutil.ignore_patterns("*.md"))
    return home


def test_a_store_made_before_the_owner_layer_opens_with_everything_in_it(before: Path) -> None:
    with Owner.open(before, BEFORE_PASS) as owner:
        assert version(owner.store.conn) == SCHEMA.latest == 6
        me = owner.identity.get()
        assert me is not None and me.fingerprint == BEFORE_FINGERPRINT
        assert owner.profile.current().weight("benevolence") == 0.9
        assert [c.note for c in owner.profile.history()] == ["old"]
        (answer,) = owner.feedback.list()
        assert (answer.preferred, answer.rejected) == ("Call my mother", "Punch a stranger")
        assert owner.feedback.model().pairs == 1
        assert [c.option for c in owner.contests.list()] == ["Kill the lights before bed"]
        (bob,) = owner.peers.list()
        assert bob.name == "Bob" and bob.identity_key == BEFORE_BOB
        assert set(owner.advertising.partner_keys()) == {BEFORE_BOB}
        assert len(owner.advertising.own_key()) == 32
        (kept,) = owner.accords.list(binding_only=True)
        kept.accord.verify()
        assert kept.accord.terms == {"music": "off"}
        space = OutcomeSpace([DiscreteIssue("music", ("off", "loud"))])
        assert len(owner.norms.of_group(bytes(16)).red_lines(space)) == 1
        # ... and it goes on working as any store does.
        assert owner.peers.remove(BEFORE_BOB) and owner.peers.list() == []


def test_a_new_store_has_exactly_the_schema_stores_always_had(
    before: Path, tmp_path: Path, fast_kdf: KdfParams
) -> None:
    with Store.open(before, BEFORE_PASS) as old:
        expected = _master(old)
    with Owner.create(tmp_path / "new", PASS, kdf=fast_kdf) as made:
        assert _master(made.store) == expected
    # The engine alone first, the owner's tables later: the same tables, the same statements.
    with Store.create(tmp_path / "bare", PASS, kdf=fast_kdf) as bare:
        assert version(bare.conn) == 0 and bare.db.table_names() == ["meta"]
        Owner(bare)
        assert version(bare.conn) == SCHEMA.latest
        assert _master(bare) == expected


def test_attributes_are_made_on_first_use_and_kept(owner: Owner) -> None:
    assert "feedback" not in vars(owner)
    assert owner.peers is owner.peers
    assert {"peers"} <= set(vars(owner)) and "feedback" not in vars(owner)
    assert owner.home == owner.store.home


def test_importing_the_owner_loads_neither_numpy_nor_the_negotiation_layer() -> None:
    loaded = modules_after("import edge_dan.owner")
    assert not loaded & {"numpy", "edge_dan.negotiation", "edge_dan.values.personal"}


def test_an_owner_store_from_a_newer_edge_dan_is_refused_and_left_closed(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    home = tmp_path / "home"
    with Owner.create(home, PASS, kdf=fast_kdf) as owner:
        owner.store.conn.execute(f"PRAGMA user_version = {SCHEMA.latest + 1}")
        owner.store.conn.commit()
    with pytest.raises(StoreError, match="newer edge_dan"):
        Owner.open(home, PASS)
    # The store was closed on the way out: swapping it as a whole (it needs the store to itself)
    # works at once.
    with Store.open(home, PASS) as store:
        store.rekey()


def test_create_open_and_close(tmp_path: Path, fast_kdf: KdfParams) -> None:
    home = tmp_path / "home"
    with Owner.create(home, PASS, kdf=fast_kdf) as owner:
        me: Identity = owner.identity.ensure()
        store_id = owner.store.store_id
    with Owner.open(home, PASS, check=False) as owner:
        assert owner.identity.get() == me and owner.store.store_id == store_id


def test_an_owner_made_with_a_keystore_key_on_the_stdlib_engine_opens_with_that_key_only(
    tmp_path: Path,
) -> None:
    home, key = tmp_path / "phone", bytes(range(32))  # what an app's keystore would hand over
    with Owner.create(home, key=key, backend="sqlite") as owner:
        owner.profile.edit({"benevolence": 0.9})
        assert owner.store.backend == "sqlite"
    with Owner.open(home, key=key) as owner:
        assert owner.profile.current().weights["benevolence"] == 0.9
        assert owner.store.backend == "sqlite"
    with pytest.raises(StoreError):
        Owner.open(home, key=bytes(32))  # another key: refused
    with pytest.raises(StoreError):
        Owner.open(home, PASS)  # nor does any passphrase open it
    with pytest.raises(UsageError, match="one of the two"):
        Owner.create(tmp_path / "other", PASS, key=key)  # one secret, not two
    assert not (tmp_path / "other").exists()
