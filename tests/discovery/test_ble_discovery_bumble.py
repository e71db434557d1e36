"""Agents find each other over BLE on bumble: software controllers sharing one link (no radio, no
root), through ``discovery.ble`` on the BLE layer's bumble backend.

Real bumble host stacks advertise and scan actively; only the radio is simulated
(``edge_dan.ble.backends.sim``, whose controllers answer active scans with the real scan
response, where the token travels).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from ble_agents import INTERVAL, agent, first_sighting, listener, shut, sightings

from edge_dan.ble.advertising import legacy_payloads
from edge_dan.ble.backends.sim import new_link, powered_device
from edge_dan.ble.errors import BleUnavailable
from edge_dan.discovery.ble import SERVICE_UUID_LE, BleAdvertiser, BleSighting, advertisement_of
from edge_dan.discovery.tokens import Recogniser, TokenRotator, new_advertising_key


def run(coro: Coroutine[Any, Any, None], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout=timeout))


def test_two_agents_find_each_other_and_a_partner_recognises_the_token() -> None:
    async def main() -> None:
        link = new_link()
        alice, bob = await agent(link, "alice"), await agent(link, "bob")
        # A stranger nearby lists our UUID but sends malformed service data under it.
        stranger = await powered_device(link, "stranger")
        advert = TokenRotator(new_advertising_key()).advert(0)
        flags_and_uuid, _ = legacy_payloads(advertisement_of(advert))
        junk = bytes((21, 0x21)) + SERVICE_UUID_LE + b"\x10abc"  # 4 bytes, not 13
        await stranger.start_advertising(
            advertising_data=flags_and_uuid,
            scan_response_data=junk,
            advertising_interval_min=INTERVAL / 2,
            advertising_interval_max=INTERVAL / 2,
        )
        alice_sees = await first_sighting(alice.scanner)
        bob_sees = await first_sighting(bob.scanner)
        assert alice_sees.address == bob.peripheral.address
        assert bob_sees.address == alice.peripheral.address
        assert alice_sees.rssi is not None and alice_sees.seen_at <= time.time()
        now = time.time()
        # Alice holds Bob's advertising key (exchanged at pairing); a stranger holds another.
        assert Recogniser({b"bob": bob.key}).recognise(alice_sees.advert, now) == b"bob"
        assert (
            Recogniser({b"carol": new_advertising_key()}).recognise(alice_sees.advert, now) is None
        )
        assert Recogniser({b"alice": alice.key}).recognise(bob_sees.advert, now) == b"alice"
        # several more sightings: never the stranger
        count = 0
        async for sighting in sightings(alice.scanner):
            assert sighting.address == bob.peripheral.address
            count += 1
            if count == 5:
                break
        await stranger.stop_advertising()
        await shut(alice, bob)

    run(main())


def test_the_advertisement_carries_no_stable_identifier_across_rotations() -> None:
    async def main() -> None:
        link = new_link()
        period = 1.0  # rotations every second, on the real clock
        bob = await agent(link, "bob", period=period)
        seen: dict[bytes, BleSighting] = {}  # token -> first sighting
        addresses: dict[str, set[bytes]] = {}
        async for sighting in sightings(await listener(link)):
            seen.setdefault(sighting.advert.token, sighting)
            addresses.setdefault(sighting.address, set()).add(sighting.advert.token)
            if len(seen) == 3:  # three rotation periods
                break
        # each address carried one token only, and each token one address: nothing links them
        assert all(len(tokens) == 1 for tokens in addresses.values())
        assert len(addresses) == 3
        nonces = {s.advert.nonce for s in seen.values()}
        tags = {s.advert.tag for s in seen.values()}
        assert len(nonces) == len(tags) == 3
        # ... while a partner recognises every one of them
        partner = Recogniser({b"bob": bob.key}, period=period)
        assert all(partner.recognise(s.advert, s.seen_at) == b"bob" for s in seen.values())
        await shut(bob)

    run(main())


def test_sightings_reach_only_a_running_scan() -> None:
    async def main() -> None:
        link = new_link()
        bob = await agent(link, "bob")
        scanner = await listener(link)
        await first_sighting(scanner)
        got: list[BleSighting] = []
        await scanner.start(got.append)
        await scanner.stop()
        got.clear()
        await asyncio.sleep(5 * INTERVAL / 1000)
        assert got == []
        await shut(bob)

    run(main())


class _PulledController:
    """A peripheral whose controller is pulled after the first advertisement."""

    def __init__(self) -> None:
        self.adverts = self.attempts = 0
        self.pulled = False

    async def advertise(self, advertisement: object) -> None:
        self.attempts += 1
        if self.pulled:
            raise BleUnavailable("the Bluetooth controller did not answer")
        self.adverts += 1

    async def stop_advertising(self) -> None:
        return None


def test_a_rotation_on_a_pulled_controller_leaves_the_agent_able_to_stop() -> None:
    async def scenario() -> None:
        rotator = TokenRotator(new_advertising_key())
        # A clock 0.2 s before the token's next change, so the loop rotates within the test.
        start, base = time.monotonic(), rotator.next_change(time.time()) - 0.2
        clock = lambda: base + (time.monotonic() - start)  # noqa: E731
        peripheral = _PulledController()
        advertiser = BleAdvertiser(peripheral, rotator, clock=clock)  # type: ignore[arg-type]
        await advertiser.start()
        peripheral.pulled = True
        await asyncio.sleep(0.8)
        assert peripheral.attempts == 2  # the rotation was tried on the pulled controller
        assert advertiser._rotation is not None and not advertiser._rotation.done()
        await advertiser.stop()  # no error: the failed rotation did not kill the loop
        assert peripheral.adverts == 1

    run(scenario())
