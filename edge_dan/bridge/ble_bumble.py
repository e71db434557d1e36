"""The bridge's BLE UART link through bumble as central, on any HCI controller.

For hosts that drive a controller directly (a USB dongle over HCI, a serial HCI controller) and
for tests on bumble's software radio. ``connect_bumble_port`` returns the blocking port of
:mod:`edge_dan.bridge.ble`; call it from another thread than the device's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, TypeVar

from edge_dan.bridge.ble import (
    CONNECT_CANCEL_GRACE,
    DISCONNECT_TIMEOUT,
    MIN_ATT_MTU,
    NUS,
    BleConnectFailed,
    BleDeviceNotFound,
    BleLinkLost,
    BleUartPort,
    ReceiveBuffer,
    UartService,
    UartServiceMissing,
    chunk_size,
    missing_service_text,
)

if TYPE_CHECKING:
    from bumble.device import Connection, Device, Peer
    from bumble.gatt_client import CharacteristicProxy
    from bumble.hci import Address

T = TypeVar("T")


class BumbleUartLink:
    """The UART link on one bumble connection (this side is the central)."""

    def __init__(self, connection: Connection, peer: Peer, rx: CharacteristicProxy[bytes]) -> None:
        from bumble.gatt import Characteristic

        self._connection = connection
        self._peer = peer
        self._rx = rx
        no_response = Characteristic.Properties.WRITE_WITHOUT_RESPONSE
        self.with_response = not rx.properties & no_response

    @property
    def att_mtu(self) -> int:
        return max(MIN_ATT_MTU, int(self._connection.att_mtu))

    async def write_chunk(self, chunk: bytes) -> None:
        from bumble import core, hci

        try:
            await self._peer.write_value(self._rx, chunk, with_response=self.with_response)
        except (core.BaseBumbleError, hci.HCI_Error, TimeoutError) as exc:
            raise BleLinkLost(f"a write to the device failed: {exc}") from exc

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._connection.disconnect(), DISCONNECT_TIMEOUT)


async def connect_bumble_port(
    device: Device,
    address: Address | str,
    *,
    service: UartService = NUS,
    mtu: int = 247,
    timeout: float = 10.0,
) -> BleUartPort:
    """Connect a powered-on bumble ``device`` (as central) to the UART device at ``address``.

    ``mtu``: the ATT MTU to ask for (23 skips the exchange). Runs on the device's loop; use the
    port from another thread.
    """
    from bumble import core, hci
    from bumble.core import UUID
    from bumble.device import Peer

    chunk_size(mtu)  # refuses an impossible MTU before any radio work
    try:
        # The outer limit: after its own timeout bumble cancels and waits for the controller to
        # confirm, which a controller that lost track of the attempt never does.
        connection = await asyncio.wait_for(
            device.connect(address, timeout=timeout), timeout + CONNECT_CANCEL_GRACE
        )
    except (hci.HCI_Error, core.BaseBumbleError, TimeoutError) as exc:
        raise BleDeviceNotFound(
            f"no BLE device answered at {address} within {timeout} s: is it powered, "
            f"advertising and in range? ({exc!r})"
        ) from exc
    received = ReceiveBuffer()

    def disconnected(reason: int) -> None:
        name = hci.HCI_Constant.error_name(reason)  # type: ignore[no-untyped-call]
        received.link_down(f"the device disconnected ({name})")

    connection.on(connection.EVENT_DISCONNECTION, disconnected)
    try:
        peer = Peer(connection)
        if mtu > MIN_ATT_MTU:
            await asyncio.wait_for(peer.request_mtu(mtu), timeout)
        await asyncio.wait_for(peer.discover_services([UUID(service.service)]), timeout)
        found = peer.get_services_by_uuid(UUID(service.service))
        if found:
            await asyncio.wait_for(peer.discover_characteristics(service=found[0]), timeout)
        rx = _first(peer.get_characteristics_by_uuid(UUID(service.rx), found[0]) if found else [])
        tx = _first(peer.get_characteristics_by_uuid(UUID(service.tx), found[0]) if found else [])
        if rx is None or tx is None:
            raise UartServiceMissing(
                missing_service_text(
                    str(address), service, found_service=found[0] if found else None
                )
            )
        subscribing = peer.subscribe(tx, lambda value: received.feed(bytes(value)))
        await asyncio.wait_for(subscribing, timeout)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT)
        if isinstance(exc, core.BaseBumbleError | hci.HCI_Error | TimeoutError):
            raise BleConnectFailed(f"could not set up the UART of {address}: {exc!r}") from exc
        raise
    return BleUartPort(BumbleUartLink(connection, peer, rx), received, asyncio.get_running_loop())


def _first(items: list[T]) -> T | None:
    return items[0] if items else None
