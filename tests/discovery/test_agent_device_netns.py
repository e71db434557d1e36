"""An accord reaches a device: two agents on a private LAN negotiate the thermostat's set-point;
the agent the thermostat is bound to applies it to the real firmware (Cortex-M4 under QEMU, its
UART on a TCP port inside the agent's network namespace) and reads it back."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from firmware_helpers import build_thermostat
from netns import Lab
from test_agent_netns import Device, pair

from edge_dan.agent.negotiations import AgendaHandler, NegotiationResult
from edge_dan.bridge.accords import DeviceBinding
from edge_dan.bridge.codec import State
from edge_dan.bridge.link import SerialDevice
from edge_dan.negotiation.domain.outcomes import IntegerIssue, OutcomeSpace, Value
from edge_dan.negotiation.domain.utility import LinearAdditiveUtility, Profile
from edge_dan.negotiation.strategy import LittleDan
from edge_dan.owner.peers import Peer

pytestmark = pytest.mark.slow
SPACE = OutcomeSpace([IntegerIssue("setpoint_c_x10", 180, 240)])
PORT = 5555  # inside the namespace: no other process can hold it


def warmth(likes_warm: bool, space: OutcomeSpace) -> Profile:
    def worth(tenths: Value) -> float:
        value = int(tenths)
        return float(value - 170 if likes_warm else 250 - value)

    utility = LinearAdditiveUtility(space, {"setpoint_c_x10": 1.0}, {"setpoint_c_x10": worth})
    return Profile(space, utility, reservation_value=0.2)


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_thermostat(tmp_path_factory) / "thermostat_mps2_an386.elf"


def open_device() -> SerialDevice:
    """Connect to the emulated UART once QEMU listens (from inside the namespace)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=1.0):
                pass
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return SerialDevice.open(f"socket://127.0.0.1:{PORT}", answer_timeout=3.0)


def test_an_agreed_setpoint_is_applied_to_the_emulated_thermostat(
    lab: Lab, tmp_path: Path, firmware: Path
) -> None:
    home, guest = lab.nodes
    qemu = lab.popen(
        home,
        [
            "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native",
            "-serial", f"tcp:127.0.0.1:{PORT},server=on,wait=on", "-kernel", str(firmware),
        ],
    )  # fmt: skip
    ana = Device(lab.loop(home), tmp_path / "ana")
    ben = Device(lab.loop(guest), tmp_path / "ben")
    pair(ana, ben)

    def judge(likes_warm: bool) -> AgendaHandler:
        def on_agenda(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
            return LittleDan(warmth(likes_warm, space))

        return on_agenda

    try:
        ana_agent = ana.start(on_agenda=judge(True))
        ben_agent = ben.start(on_agenda=judge(False))

        async def bind_and_negotiate() -> tuple[NegotiationResult, State, dict[str, int]]:
            device = await asyncio.to_thread(open_device)
            capabilities = await asyncio.to_thread(device.hello)
            assert capabilities.kind == "thermostat"
            ana_agent.bind_device(DeviceBinding(device, {"setpoint_c_x10": "setpoint"}))
            await ana_agent.wait_for_partner(ben_agent.identity.public_key, timeout=15)
            result = await ana_agent.negotiate(
                [ben_agent.identity.public_key],
                "heating",
                SPACE,
                LittleDan(warmth(True, SPACE)),
                timeout=20,
            )
            state = await asyncio.to_thread(device.state)
            values = await asyncio.to_thread(device.values)
            await asyncio.to_thread(device.close)
            return result, state, values

        result, state, values = ana.loop.run(bind_and_negotiate(), timeout=90)
        assert result.accord is not None, (result.failure, list(ana_agent.failures))
        agreed = dict(result.accord.outcome)["setpoint_c_x10"]
        assert 180 < int(agreed) < 240  # a compromise between a warm and a cool owner
        (receipt,) = result.receipts
        assert receipt.applied == {"setpoint": agreed}
        assert receipt.accord_id == result.accord.id == state.accord_id
        assert values["setpoint"] == agreed  # read back from the firmware
    finally:
        ana.stop()
        ben.stop()
        qemu.kill()
        qemu.wait(timeout=10)
