"""The in-process simulator: bumble controllers on one shared software radio link.

Why it exists: tests and simulations run real bumble host stacks (advertising, active scanning,
connections, MTU exchange, GATT write and notify) through ``edge_dan.ble.backends.bumble`` with
no radio and no root; only the radio is simulated. bumble 0.0.236's own simulation has two gaps
this module fills, both invisible on real controllers:

- its controller answers an active scan with a copy of the advertising data instead of the
  advertiser's scan response, where an agent's token travels (``ScanResponseController``);
- its link labels LE data with the sender's *current* random address, so data of a connection
  is lost once the peripheral rotates its address (``SimulatedLink``).

They subclass bumble internals, which is why the ``ble`` extra pins bumble's version. The blevm
VM puts the same controllers behind ``/dev/vhci``, so BlueZ and bleak run on this radio too.
"""

from __future__ import annotations

import asyncio

from bumble import hci, ll
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink


class ScanResponseController(Controller):
    """bumble's software controller, answering active scans with the real scan response."""

    _scan_response: bytes | None = None

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        self._scan_response = self._scan_response_of(pdu.advertiser_address)
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self._scan_response = None

    def _scan_response_of(self, address: hci.Address) -> bytes | None:
        for controller in self.link.controllers:
            for advertising_set in controller.advertising_sets.values():
                if advertising_set.enabled and advertising_set.address == address:
                    return bytes(advertising_set.scan_response_data)
        return None

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self._scan_response is not None and isinstance(
            packet, hci.HCI_LE_Extended_Advertising_Report_Event
        ):
            scan_response = hci.HCI_LE_Extended_Advertising_Report_Event.EventType.SCAN_RESPONSE
            for report in packet.reports:
                if report.event_type & scan_response:
                    report.data = self._scan_response
        super().send_hci_packet(packet)


class SimulatedLink(LocalLink):
    """bumble's ``LocalLink``, with LE data labelled by the address its connection uses.

    bumble 0.0.236 labels LE data with the sending controller's *current* random address. Once a
    peripheral rotates its address (ours does at every token rotation) the central finds no
    connection under the new label and drops the data; a radio keeps a connection's addresses
    for the connection's lifetime, so this link does too.
    """

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: PhysicalTransport,
        data: bytes,
    ) -> None:
        connection = sender_controller.le_connections.get(destination_address)
        receiver = self.find_le_controller(destination_address)
        if transport is not PhysicalTransport.LE or connection is None or receiver is None:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        label = connection.self_address
        asyncio.get_running_loop().call_soon(receiver.on_link_acl_data, label, transport, data)


def new_link() -> LocalLink:
    """A fresh simulated radio channel shared by every controller made on it."""
    return SimulatedLink()  # type: ignore[no-untyped-call]


async def powered_device(link: LocalLink, name: str) -> Device:
    """A bumble ``Device`` on a software controller on ``link``, powered on."""
    controller = ScanResponseController(name, link=link)
    device = Device(name=name, host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    return device
