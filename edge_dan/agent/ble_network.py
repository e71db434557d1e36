"""Bluetooth LE as one of the agent's networks: ``BleNetwork``.

The four jobs of a ``Network`` (``edge_dan.agent.networks``) on BLE, each done by the layer that
already does it for any backend:

- advertise the rotating token: ``BleAdvertiser`` on the peripheral (a fresh advertisement at
  every rotation, from a fresh address where the backend picks it);
- report the adverts seen: ``BleScanner`` on the central, each one a ``Sighting("ble", address,
  address, ...)``; the agent's own advertisement is not reported;
- accept sessions: ``serve_gatt`` on the peripheral, a responder session on each central's pipe;
- open sessions: the central connects to an address it reported, ``open_gatt_channel`` on the
  pipe.

BLE has no goodbye: a device that leaves simply stops advertising. The network withdraws an
address (``hooks.lost``) once it has not heard it for ``ttl`` seconds (the directory's BLE TTL by
default); only the scanner knows when it last heard an address. A session's own end still
removes the link at once when its keepalives give up, as on every network.

The roles come from the caller (any backend: ``BleNetwork(central, peripheral)``) or from the
platform (``BleNetwork.for_platform()``, which opens them at ``start`` as ``edge_dan.ble``'s
choice says and closes them at ``stop``). Importing this module loads no BLE library.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Self

from edge_dan.agent.networks import NetworkHooks, SessionFactory
from edge_dan.ble import AGENT_SERVICE, Central, Peripheral, agent_backends, open_roles
from edge_dan.discovery.ble import BleAdvertiser, BleScanner, BleSighting
from edge_dan.discovery.directory import DEFAULT_BLE_TTL, Transport
from edge_dan.discovery.feed import ble_sighting
from edge_dan.lifecycle import cancel_and_wait
from edge_dan.transports.channel import SessionChannel
from edge_dan.transports.gatt import open_gatt_channel, serve_gatt
from edge_dan.wire.errors import ConnectionLost

CONNECT_TIMEOUT = 10.0  # seconds for a central to reach an advertiser and set up the GATT link
MAX_SESSIONS = 8  # centrals served at once (controllers hold few connections anyway)
MAX_EXPIRY_SLEEP = 5.0  # check for addresses gone quiet at least this often

RolesOpener = Callable[[], AbstractAsyncContextManager[tuple[Central, Peripheral]]]


class BleNetwork:
    """Bluetooth LE: adverts on a ``Peripheral``, scans on a ``Central``, sessions over GATT.

    ``central`` and ``peripheral`` may be of any backend (bleak, BlueZ, bumble, or bumble on the
    simulated radio); the peripheral must serve ``AGENT_SERVICE``. The network starts the
    peripheral at ``start`` and stops it (and the central's scan) at ``stop``; the devices under
    them stay the caller's. ``ttl``: seconds without hearing an address before its link is
    withdrawn. ``connect_timeout``: seconds to reach an advertiser.

    ::

        Agent(owner, networks=[LanNetwork(), BleNetwork.for_platform()])  # bleak and BlueZ
        Agent(owner, networks=[BleNetwork.for_platform("usb:0")])  # bumble on a USB dongle
        Agent(owner, networks=[BleNetwork(central, peripheral)])  # roles built by the app
    """

    transport: Transport = "ble"

    def __init__(
        self,
        central: Central,
        peripheral: Peripheral,
        *,
        ttl: float = DEFAULT_BLE_TTL,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._setup(
            functools.partial(_given_roles, central, peripheral),
            ttl=ttl,
            connect_timeout=connect_timeout,
            max_sessions=max_sessions,
        )

    @classmethod
    def for_platform(
        cls,
        hci_transport: str | None = None,
        *,
        adapter: str | None = None,
        ttl: float = DEFAULT_BLE_TTL,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
    ) -> Self:
        """BLE on this machine, with the backends ``edge_dan.ble.agent_backends`` picks: bleak
        and BlueZ on Linux, or bumble on the controller at ``hci_transport`` (``usb:0``,
        ``serial:/dev/ttyACM0``, ...) on any OS. ``adapter``: the OS adapter (``hci0``).

        Raises ``BleUnavailable`` at once, naming what to install or give, when this platform
        cannot play both roles; nothing is opened until ``start``.
        """
        agent_backends(hci_transport=hci_transport)
        network = cls.__new__(cls)
        network._setup(
            functools.partial(
                open_roles, AGENT_SERVICE, hci_transport=hci_transport, adapter=adapter
            ),
            ttl=ttl,
            connect_timeout=connect_timeout,
            max_sessions=max_sessions,
        )
        return network

    def _setup(
        self, open_roles: RolesOpener, *, ttl: float, connect_timeout: float, max_sessions: int
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be > 0, got {ttl}")
        self._open_roles = open_roles
        self._ttl = ttl
        self._connect_timeout = connect_timeout
        self._max_sessions = max_sessions
        self._running: contextlib.AsyncExitStack | None = None
        self._hooks: NetworkHooks | None = None
        self._central: Central | None = None
        self._advertiser: BleAdvertiser | None = None
        self._heard: dict[str, float] = {}  # address -> when last heard (the hooks' clock)

    async def start(self, hooks: NetworkHooks) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            central, peripheral = await stack.enter_async_context(self._open_roles())
            listener = await serve_gatt(
                peripheral, hooks.responder, hooks.accept, max_sessions=self._max_sessions
            )
            stack.push_async_callback(listener.close)
            advertiser = BleAdvertiser(peripheral, hooks.rotator, clock=hooks.clock)
            await advertiser.start()
            stack.push_async_callback(advertiser.stop)
            self._hooks, self._central, self._advertiser = hooks, central, advertiser
            scanner = BleScanner(central, clock=hooks.clock)
            await scanner.start(self._saw)
            stack.push_async_callback(scanner.stop)
            expiry = asyncio.create_task(self._withdraw_quiet(hooks))
            stack.push_async_callback(cancel_and_wait, expiry)
        except BaseException:
            self._forget()
            await stack.aclose()
            raise
        self._running = stack

    async def stop(self) -> None:
        """Stop scanning and advertising, end the sessions accepted, release the roles."""
        running, self._running = self._running, None
        self._forget()
        if running is not None:
            await running.aclose()

    async def connect(self, address: str, initiator: SessionFactory) -> SessionChannel:
        central = self._central
        if central is None:
            raise ConnectionLost("the BLE network is not started")
        pipe = await central.connect(address, AGENT_SERVICE, timeout=self._connect_timeout)
        return await open_gatt_channel(pipe, initiator)

    async def refresh(self) -> None:
        if self._advertiser is not None:
            await self._advertiser.rotate()

    # -- machinery -------------------------------------------------------------------------------

    def _forget(self) -> None:
        self._hooks = self._central = self._advertiser = None
        self._heard.clear()

    def _saw(self, seen: BleSighting) -> None:
        hooks, advertiser = self._hooks, self._advertiser
        if hooks is None or advertiser is None or seen.advert == advertiser.advertised:
            return  # stopping, or our own advertisement (a second controller may hear it)
        self._heard[seen.address] = seen.seen_at
        hooks.seen(ble_sighting(seen))

    async def _withdraw_quiet(self, hooks: NetworkHooks) -> None:
        """Withdraw the addresses not heard for ``ttl`` seconds."""
        while True:
            await asyncio.sleep(min(self._ttl / 4, MAX_EXPIRY_SLEEP))
            now = hooks.clock()
            for address, heard in list(self._heard.items()):
                if now - heard > self._ttl:
                    del self._heard[address]
                    hooks.lost("ble", address)


@contextlib.asynccontextmanager
async def _given_roles(
    central: Central, peripheral: Peripheral
) -> AsyncIterator[tuple[Central, Peripheral]]:
    await peripheral.start()
    try:
        yield central, peripheral
    finally:
        await central.stop_scan()
        await peripheral.stop()


__all__ = ["BleNetwork"]
