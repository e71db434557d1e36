"""Agents on bumble's software radio, shared by the BLE tests of ``ble``, ``discovery`` and
``transports``, and by the agents of ``tests/agent`` (on pytest's path through ``pythonpath``, as
``firmware_helpers`` is).

An ``Agent`` is one bumble device on a simulated link (``edge_dan.ble.backends.sim``) that
advertises its rotating token (``BleAdvertiser`` on a ``BumblePeripheral`` serving
``AGENT_SERVICE``) and can scan (``BleScanner`` on a ``BumbleCentral``), as an agent does;
``roles`` gives the device's two roles alone, for an ``edge_dan`` Agent's ``BleNetwork``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bumble.device import Device
from bumble.link import LocalLink

from edge_dan.ble.backends.bumble import BumbleCentral, BumblePeripheral
from edge_dan.ble.backends.sim import powered_device
from edge_dan.ble.gatt import AGENT_SERVICE
from edge_dan.discovery.ble import BleAdvertiser, BleScanner, BleSighting
from edge_dan.discovery.tokens import TokenRotator, new_advertising_key

INTERVAL = 20.0  # ms between advertisements: quick discovery on the simulated link


@dataclass
class Agent:
    device: Device
    key: bytes
    peripheral: BumblePeripheral
    advertiser: BleAdvertiser
    central: BumbleCentral
    scanner: BleScanner


async def roles(
    link: LocalLink, name: str, *, mtu: int = 517
) -> tuple[Device, BumbleCentral, BumblePeripheral]:
    """One device on the link in both of an agent's roles (the peripheral serving
    ``AGENT_SERVICE``, advertising quickly once asked to), neither started."""
    device = await powered_device(link, name)
    peripheral = BumblePeripheral(device, AGENT_SERVICE, advertising_interval=INTERVAL)
    return device, BumbleCentral(device, mtu=mtu), peripheral


async def agent(link: LocalLink, name: str, *, mtu: int = 517, period: float = 900.0) -> Agent:
    """One agent on the link: advertising its token and ready to scan, on one device."""
    device, central, peripheral = await roles(link, name, mtu=mtu)
    key = new_advertising_key()
    await peripheral.start()
    advertiser = BleAdvertiser(peripheral, TokenRotator(key, period=period))
    await advertiser.start()
    return Agent(device, key, peripheral, advertiser, central, BleScanner(central))


async def listener(link: LocalLink, name: str = "listener", *, mtu: int = 517) -> BleScanner:
    """A device that only scans (a stranger's radio, or a second central)."""
    return BleScanner(BumbleCentral(await powered_device(link, name), mtu=mtu))


async def sightings(scanner: BleScanner) -> AsyncIterator[BleSighting]:
    """Every sighting the scanner reports, as they come; scanning stops when the loop does."""
    queue: asyncio.Queue[BleSighting] = asyncio.Queue()
    await scanner.start(queue.put_nowait)
    try:
        while True:
            yield await queue.get()
    finally:
        await scanner.stop()


async def first_sighting(scanner: BleScanner) -> BleSighting:
    async for sighting in sightings(scanner):
        return sighting
    raise AssertionError("the scan ended")


async def shut(*agents: Agent) -> None:
    for each in agents:
        await each.advertiser.stop()
        await each.peripheral.stop()
        await each.scanner.stop()
