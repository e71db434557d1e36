"""The peer directory: one entry per partner across transports and rotations; strangers apart."""

from __future__ import annotations

import pytest

from edge_dan.discovery.directory import (
    Added,
    PeerDirectory,
    Removed,
    Sighting,
    Transport,
    Updated,
)
from edge_dan.discovery.tokens import Advert, Recogniser, TokenRotator, new_advertising_key
from edge_dan.identity import fingerprint

PERIOD = 10.0
ALICE = b"A" * 32
BOB = b"B" * 32


@pytest.fixture
def keys() -> dict[bytes, bytes]:
    return {ALICE: new_advertising_key(), BOB: new_advertising_key()}


@pytest.fixture
def directory(keys: dict[bytes, bytes]) -> PeerDirectory:
    return PeerDirectory(Recogniser(keys, period=PERIOD), {ALICE: "Alice", BOB: "Bob"}, ble_ttl=5.0)


def seen(
    transport: Transport, handle: str, advert: Advert, at: float, rssi: int | None = None
) -> Sighting:
    address = f"198.51.100.7:{4000 + len(handle)}" if transport == "lan" else handle
    return Sighting(transport, handle, address, advert, at, rssi)


def test_partner_on_both_transports_is_one_entry_preferring_lan(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    alice = TokenRotator(keys[ALICE], period=PERIOD)
    (event,) = directory.observe(seen("ble", "7A:11:22:33:44:55", alice.advert(1.0), 1.0, -60))
    assert isinstance(event, Added)
    assert event.entry.name == "Alice" and event.entry.preferred.transport == "ble"
    (event,) = directory.observe(seen("lan", "a1b2._littledan._tcp.local.", alice.advert(2.0), 2.0))
    assert isinstance(event, Updated)
    entry = directory.partner(ALICE)
    assert entry is not None and len(directory) == 1
    assert entry.preferred.transport == "lan"
    assert entry.rssi == -60 and entry.last_seen == 2.0
    shown = entry.to_json()
    assert shown["fingerprint"] == fingerprint(ALICE)
    assert shown["via"] == "lan" and shown["links"] == ["ble", "lan"]
    # Seeing it again with only a new RSSI changes nothing a listing shows.
    assert directory.observe(seen("ble", "7A:11:22:33:44:55", alice.advert(3.0), 3.0, -70)) == []
    assert directory.partner(ALICE).rssi == -70  # type: ignore[union-attr]


def test_partner_rotation_keeps_the_entry_and_ignores_the_old_goodbye(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    alice = TokenRotator(keys[ALICE], period=PERIOD)
    directory.observe(seen("lan", "old._littledan._tcp.local.", alice.advert(1.0), 1.0))
    (event,) = directory.observe(
        seen("lan", "new._littledan._tcp.local.", alice.advert(11.0), 11.0)
    )
    assert isinstance(event, Updated)
    # The goodbye of the previous rotation's instance arrives late: Alice stays.
    assert directory.lost("lan", "old._littledan._tcp.local.") is None
    assert directory.partner(ALICE) is not None
    removed = directory.lost("lan", "new._littledan._tcp.local.")
    assert isinstance(removed, Removed) and removed.entry.name == "Alice"
    assert directory.partner(ALICE) is None


def test_strangers_are_one_entry_per_advert(directory: PeerDirectory) -> None:
    carol = TokenRotator(new_advertising_key(), period=PERIOD)
    carol.open_to_pairing(0.0, 100.0)
    first = carol.advert(1.0)
    directory.observe(seen("lan", "c1._littledan._tcp.local.", first, 1.0))
    directory.observe(seen("ble", "4C:00:00:00:00:01", first, 1.5, -40))
    (entry,) = directory.entries()
    assert not entry.partner and entry.open_to_pairing and set(entry.links) == {"lan", "ble"}
    directory.observe(seen("ble", "4C:00:00:00:00:02", carol.advert(12.0), 12.0, -40))
    # After a rotation the same device cannot be linked: a second stranger.
    assert len([e for e in directory.entries() if not e.partner]) == 2


def test_ble_links_expire_and_lan_links_do_not(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    bob = TokenRotator(keys[BOB], period=PERIOD)
    alice = TokenRotator(keys[ALICE], period=PERIOD)
    directory.observe(seen("ble", "11:11:11:11:11:11", bob.advert(1.0), 1.0, -80))
    directory.observe(seen("lan", "al._littledan._tcp.local.", alice.advert(1.0), 1.0))
    directory.observe(seen("ble", "22:22:22:22:22:22", alice.advert(1.0), 1.0, -50))
    assert directory.expire(5.0) == []
    events = directory.expire(6.5)
    kinds = sorted(type(e).__name__ for e in events)
    assert kinds == ["Removed", "Updated"]
    assert directory.partner(BOB) is None
    alice_entry = directory.partner(ALICE)
    assert alice_entry is not None and set(alice_entry.links) == {"lan"}
    assert directory.expire(10_000.0) == []


def test_session_failure_removes_the_partners_link(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    alice = TokenRotator(keys[ALICE], period=PERIOD)
    directory.observe(seen("lan", "al._littledan._tcp.local.", alice.advert(1.0), 1.0))
    assert directory.session_failed(BOB, "lan") is None
    assert directory.session_failed(ALICE, "ble") is None
    assert isinstance(directory.session_failed(ALICE, "lan"), Removed)
    assert len(directory) == 0


def test_an_instance_reused_by_someone_else_moves_to_them(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    alice = TokenRotator(keys[ALICE], period=PERIOD).advert(1.0)
    bob = TokenRotator(keys[BOB], period=PERIOD).advert(1.0)
    directory.observe(seen("ble", "33:33:33:33:33:33", alice, 1.0, -50))
    events = directory.observe(seen("ble", "33:33:33:33:33:33", bob, 2.0, -50))
    assert [type(e) for e in events] == [Removed, Added]
    assert directory.partner(ALICE) is None and directory.partner(BOB) is not None


def test_partner_list_changes_apply_to_new_sightings(
    directory: PeerDirectory, keys: dict[bytes, bytes]
) -> None:
    alice = TokenRotator(keys[ALICE], period=PERIOD)
    directory.set_partners(Recogniser({BOB: keys[BOB]}, period=PERIOD), {BOB: "Bob"})
    (event,) = directory.observe(seen("lan", "x._littledan._tcp.local.", alice.advert(1.0), 1.0))
    assert isinstance(event, Added) and not event.entry.partner
    bob = TokenRotator(keys[BOB], period=PERIOD)
    (event,) = directory.observe(seen("ble", "44:44:44:44:44:44", bob.advert(2.0), 2.0))
    assert event.entry.partner and event.entry.name == "Bob"
    assert [e.partner for e in directory.entries()] == [True, False]  # partners first
    with pytest.raises(ValueError, match="ble_ttl"):
        PeerDirectory(Recogniser(), ble_ttl=0)


def test_new_partner_keys_reclassify_what_was_seen(keys: dict[bytes, bytes]) -> None:
    """Right after pairing, the stranger already listed becomes the partner (and back)."""
    directory = PeerDirectory(Recogniser(period=PERIOD), ble_ttl=5.0)
    bob = TokenRotator(keys[BOB], period=PERIOD)
    directory.observe(seen("lan", "b._littledan._tcp.local.", bob.advert(1.0), 1.0))
    (stranger,) = directory.entries()
    assert not stranger.partner
    events = directory.set_partners(Recogniser({BOB: keys[BOB]}, period=PERIOD), {BOB: "Bob"})
    assert sorted(type(e).__name__ for e in events) == ["Added", "Removed"]
    partner = directory.partner(BOB)
    assert partner is not None and partner.name == "Bob" and len(directory) == 1
    # Unpaired again: back to a stranger.
    directory.set_partners(Recogniser(period=PERIOD), {})
    assert directory.partner(BOB) is None and len(directory) == 1
