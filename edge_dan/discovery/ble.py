"""Finding agents over BLE: what an agent advertises, its rotation, and the agents a scan sees.

Why it exists: advertising and scanning for agents is discovery's job, whatever the stack. This
module decides what goes on the air and what counts as a sighting; the BLE layer's backends
(``edge_dan.ble``: bleak, BlueZ, bumble) only send and report advertisements:

- ``BleAdvertiser``: the rotator's current ``Advert`` as service data under ``AGENT_SERVICE``,
  on any ``Peripheral``, renewed at every rotation (a fresh address too where the backend picks
  it). See ``edge_dan.ble.advertising`` for the layout on air (the token in the scan response).
- ``BleScanner``: a ``Central``'s scan reports, kept when they carry an agent's ``Advert``, as
  ``BleSighting``s.

Nothing in an advertisement is stable across token rotations: no name, no appearance, no
manufacturer data. Parsing is forgiving on purpose: a stranger's malformed or foreign service
data yields ``None``, never an exception. Importing this module loads no BLE library.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge_dan.ble.advertising import Advertisement, ScanReport, uuid_on_air
from edge_dan.ble.errors import BleUnavailable
from edge_dan.ble.gatt import AGENT_SERVICE
from edge_dan.ble.roles import Central, Peripheral
from edge_dan.discovery.tokens import SERVICE_DATA_LEN, Advert, TokenError, TokenRotator
from edge_dan.lifecycle import cancel_and_wait

SERVICE_UUID = AGENT_SERVICE.uuid
SERVICE_UUID_LE = uuid_on_air(SERVICE_UUID)
Clock = Callable[[], float]


@dataclass(frozen=True)
class BleSighting:
    """One advertisement of an agent, as a central saw it.

    ``address`` is the advertiser's current (rotating) address in the backend's text form,
    good for connecting now and for nothing else; ``rssi`` in dBm, None when the stack gave
    none; ``seen_at`` on the scanner's clock.
    """

    address: str
    rssi: int | None
    advert: Advert
    seen_at: float


SightingHandler = Callable[[BleSighting], None]


def advertisement_of(advert: Advert) -> Advertisement:
    """What a peripheral advertises for ``advert``: its service data under our service."""
    return Advertisement(SERVICE_UUID, advert.service_data())


def advert_from_service_data(service_data: Mapping[str, bytes]) -> Advert | None:
    """The ``Advert`` in a service-data map (UUID text to bytes, as scan reports carry it)."""
    for key, value in service_data.items():
        try:
            if uuid.UUID(key) != uuid.UUID(SERVICE_UUID):
                continue
        except ValueError:  # a stack's own shorthand for 16-bit UUIDs: not ours anyway
            continue
        return _parse_service_data(bytes(value))
    return None


def _parse_service_data(value: bytes) -> Advert | None:
    if len(value) != SERVICE_DATA_LEN:
        return None
    try:
        return Advert.from_service_data(value)
    except TokenError:
        return None


_log = logging.getLogger(__name__)


class BleAdvertiser:
    """An agent's rotating advertisement on a ``Peripheral`` of any backend.

    ``rotator`` gives the token; ``clock`` is the wall clock its epochs use. The advertisement
    changes whenever the rotator's value changes, checked at its ``next_change``, or at once with
    ``rotate`` (call it after opening or closing the pairing window, so the flag shows at once).
    """

    def __init__(
        self, peripheral: Peripheral, rotator: TokenRotator, *, clock: Clock = time.time
    ) -> None:
        self._peripheral = peripheral
        self._rotator = rotator
        self._clock = clock
        self._advert: Advert | None = None
        self._generation = -1
        self._rotation: asyncio.Task[None] | None = None

    @property
    def advertised(self) -> Advert:
        if self._advert is None:
            raise BleUnavailable("the agent is not advertising over BLE (call start first)")
        return self._advert

    async def start(self) -> None:
        await self.rotate()
        self._rotation = asyncio.create_task(self._rotate_when_due())

    async def stop(self) -> None:
        if self._rotation is not None:
            await cancel_and_wait(self._rotation)
            self._rotation = None
        self._advert = None
        await self._peripheral.stop_advertising()

    async def rotate(self) -> None:
        """Advertise the rotator's current token now."""
        advert = self._rotator.advert(self._clock())
        self._generation = self._rotator.generation
        await self._peripheral.advertise(advertisement_of(advert))
        self._advert = advert

    async def _rotate_when_due(self) -> None:
        while True:
            delay = self._rotator.next_change(self._clock()) - self._clock()
            await asyncio.sleep(max(0.0, delay) + 0.001)  # just past the boundary
            self._rotator.advert(self._clock())
            if self._rotator.generation != self._generation:
                try:
                    await self.rotate()
                except BleUnavailable as why:
                    # The controller is gone (unplugged, link down). The agent goes on over its
                    # other networks; this loop tries again at the next change. Letting it die
                    # would also make ``stop`` raise the error when it collects the task.
                    _log.warning("BLE advertisement not rotated: %s", why)


class BleScanner:
    """Agents seen by a ``Central`` of any backend, as ``BleSighting``s.

    ``start`` reports every sighting of an agent's advertisement (repeats included: a directory
    merges them) to ``on_sighting`` until ``stop``; reports without an agent's ``Advert`` (others'
    devices, or an advertisement before its scan response) are dropped. ``clock`` stamps sightings
    (wall clock, as the token epochs use).
    """

    def __init__(self, central: Central, *, clock: Clock = time.time) -> None:
        self.central = central
        self._clock = clock
        self._on_sighting: SightingHandler | None = None

    async def start(self, on_sighting: SightingHandler) -> None:
        self._on_sighting = on_sighting
        await self.central.start_scan(self._on_report)

    async def stop(self) -> None:
        self._on_sighting = None
        await self.central.stop_scan()

    def _on_report(self, report: ScanReport) -> None:
        advert = advert_from_service_data(report.service_data)
        if advert is not None and self._on_sighting is not None:
            self._on_sighting(BleSighting(report.address, report.rssi, advert, self._clock()))
