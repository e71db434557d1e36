"""The agent's identity in the owner's data: made once, replaced on rotation, kept across opens."""

from __future__ import annotations

from pathlib import Path

from edge_dan.identity import Identity
from edge_dan.owner import Owner
from edge_dan.store import KdfParams


def test_identity_persists_in_the_store(owner: Owner) -> None:
    assert owner.identity.get() is None
    me = owner.identity.ensure()
    assert owner.identity.ensure() == me  # created once
    rotated = me.rotate_static_key()
    owner.identity.save(rotated)
    assert owner.identity.get() == rotated


def test_identity_survives_reopening_and_stays_encrypted(
    tmp_path: Path, fast_kdf: KdfParams
) -> None:
    home = tmp_path / "home"
    with Owner.create(home, "pass phrase", kdf=fast_kdf) as owner:
        me: Identity = owner.identity.ensure()
    with Owner.open(home, "pass phrase") as owner:
        assert owner.identity.get() == me
    raw = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("store.db"))
    assert me.signing_seed not in raw and me.static_private not in raw
