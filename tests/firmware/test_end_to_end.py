"""End to end: the thermostat firmware under QEMU (Cortex-M4 on mps2-an386, Cortex-M0 on microbit)
with its UART on a TCP port, and the host bridge talking to it through pyserial's ``socket://``.

A small TCP relay sits between the two, so tests can put bad frames on the line in the device to
host direction (the host sends its own bad frames directly) or silence the device, and then check
that the link carries on.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from firmware_helpers import build_thermostat

from edge_dan.bridge.accords import DeviceBinding, accord_id
from edge_dan.bridge.codec import MAX_PAYLOAD, Error, ErrorCode, Set, State, encode
from edge_dan.bridge.link import DeviceRefused, DeviceTimeout, SerialDevice
from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import Accord, AccordError
from edge_dan.negotiation.domain.outcomes import DiscreteIssue, IntegerIssue, OutcomeSpace
from edge_dan.wire.framing.serial import cobs_encode, encode_serial_frame

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connect(port: int, deadline_s: float = 15.0) -> socket.socket:
    """Connect to QEMU's UART server once it listens (QEMU takes a moment to start)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
            sock.settimeout(None)  # the relay blocks in recv until the device speaks
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Relay:
    """Forwards bytes both ways between the host bridge and the device; can inject or mute."""

    def __init__(self, device: socket.socket) -> None:
        self.device = device
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.host: socket.socket | None = None
        self.to_host_lock = threading.Lock()
        self.mute_device = False
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads.append(threading.Thread(target=self._serve, daemon=True))
        self.threads[0].start()

    def _serve(self) -> None:
        self.host, _ = self.listener.accept()
        pump = threading.Thread(target=self._pump_to_device, daemon=True)
        pump.start()
        self.threads.append(pump)
        while data := self._recv(self.device):
            with self.to_host_lock:
                if not self.mute_device:
                    self.host.sendall(data)

    def _pump_to_device(self) -> None:
        assert self.host is not None
        while data := self._recv(self.host):
            self.device.sendall(data)

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(4096)
        except OSError:
            return b""

    def inject_to_host(self, data: bytes) -> None:
        """Put bytes on the line as if the device sent them (call while no request is pending)."""
        with self.to_host_lock:
            assert self.host is not None
            self.host.sendall(data)

    def close(self) -> None:
        for sock in (self.host, self.device, self.listener):
            if sock is not None:
                sock.close()


BOARDS = {"mps2-an386": "thermostat_mps2_an386.elf", "microbit": "thermostat_microbit.elf"}


@pytest.fixture(scope="module")
def firmware_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_thermostat(tmp_path_factory)


@pytest.fixture(params=sorted(BOARDS))
def relay(request: pytest.FixtureRequest, firmware_dir: Path) -> Iterator[Relay]:
    """A freshly booted thermostat (fresh state every test) behind a relay, on each board."""
    board = str(request.param)
    port = free_port()
    qemu = subprocess.Popen(
        [
            "qemu-system-arm",
            "-M",
            board,
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-serial",
            f"tcp:127.0.0.1:{port},server=on,wait=on",
            "-kernel",
            str(firmware_dir / BOARDS[board]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        relay = Relay(connect(port))
        relay.start()
        yield relay
        relay.close()
    finally:
        qemu.kill()
        qemu.wait(timeout=10)


@pytest.fixture
def device(relay: Relay) -> Iterator[SerialDevice]:
    with SerialDevice.open(f"socket://127.0.0.1:{relay.port}", answer_timeout=2.0) as opened:
        yield opened


def signed_accord(setpoint: int) -> Accord:
    owners = [Identity.generate(), Identity.generate()]
    space = OutcomeSpace(
        [IntegerIssue("setpoint_c_x10", 0, 400), DiscreteIssue("music", ("jazz", "none"))]
    )
    accord = Accord.of(bytes(16), [o.public_key for o in owners], space, (setpoint, "jazz"), 1)
    for owner in owners:
        accord = accord.with_signature(owner.public_key, accord.sign(owner))
    return accord


def test_hello_describes_the_thermostat(device: SerialDevice) -> None:
    caps = device.hello()
    assert caps.kind == "thermostat" and caps.version == 1 and caps.max_payload == MAX_PAYLOAD
    assert [(p.name, p.writable) for p in caps.points] == [
        ("setpoint", True),
        ("temp", False),
        ("heating", False),
    ]
    assert device.values() == {"setpoint": 200, "temp": 185, "heating": 1}


def accord_is_applied_and_read_back(device: SerialDevice, setpoint: int) -> None:
    """An accord on ``setpoint`` reaches the device through a binding and the device reports the
    accord's id; the same accord again (a retry after a lost ACK) does no harm."""
    accord = signed_accord(setpoint)
    binding = DeviceBinding(device, {"setpoint_c_x10": "setpoint"})
    receipt = binding.apply(accord)
    assert receipt is not None and receipt.applied == {"setpoint": setpoint}
    state = device.state()
    assert state.values[device.point_id("setpoint")] == setpoint
    assert len(state.accord_id) == 32 and state.accord_id == accord_id(accord) == receipt.accord_id
    assert binding.apply(accord) == receipt
    assert device.values()["setpoint"] == setpoint


def frames_failing_crc(message: bytes) -> list[bytes]:
    """Two serial frames of ``message`` a receiver must drop: one with a bit flipped (its CRC no
    longer matches) and one with its CRC zeroed."""
    flipped = bytearray(encode_serial_frame(message))
    flipped[4] ^= 0x10
    return [bytes(flipped), cobs_encode(message + b"\x00" * 4) + b"\x00"]


def test_an_accord_setpoint_is_applied_and_read_back(device: SerialDevice) -> None:
    accord_is_applied_and_read_back(device, 215)


def test_an_accord_not_signed_by_every_party_is_not_applied(device: SerialDevice) -> None:
    accord = signed_accord(240)
    unsigned = Accord(
        accord.negotiation_id, accord.parties, accord.outcome, accord.time_ms, accord.space_digest
    )
    with pytest.raises(AccordError):
        DeviceBinding(device, {"setpoint_c_x10": "setpoint"}).apply(unsigned)
    assert device.state().accord_id == b""
    assert device.values()["setpoint"] == 200


def test_an_accord_that_does_not_concern_the_device_sends_nothing(device: SerialDevice) -> None:
    assert DeviceBinding(device, {"volume": "setpoint"}).apply(signed_accord(250)) is None
    assert device.values()["setpoint"] == 200


def bad_sets_are_refused_with_their_codes(device: SerialDevice) -> None:
    """A set-point out of range and a write to the read-only temperature are refused, each with
    the code that says why."""
    with pytest.raises(DeviceRefused) as refused:
        device.set("setpoint", 999)
    assert refused.value.code == ErrorCode.OUT_OF_RANGE
    with pytest.raises(DeviceRefused) as refused:
        device.set("temp", 300)
    assert refused.value.code == ErrorCode.READ_ONLY


def test_refusals_are_reported_and_change_nothing(device: SerialDevice) -> None:
    bad_sets_are_refused_with_their_codes(device)
    with pytest.raises(DeviceRefused):
        DeviceBinding(device, {"setpoint_c_x10": "setpoint"}).apply(
            signed_accord(21)
        )  # 2.1 °C: below the 5.0 minimum
    state = device.state()
    assert state.values[0] == 200 and state.accord_id == b""
    device.set("setpoint", 190)
    assert device.values()["setpoint"] == 190


def test_bad_frames_from_the_host_are_dropped_and_the_link_recovers(
    device: SerialDevice, relay: Relay
) -> None:
    assert device.values()["setpoint"] == 200
    tempting = encode(Set(900, 0, 280))  # a valid SET: nothing below may apply it
    port = device.port
    for frame in frames_failing_crc(tempting):
        port.write(frame)
    port.write(b"\x09" + tempting[:5] + b"\x00")  # a COBS block past the end of the frame
    port.write(b"\x01" * 3 + b"\x00")  # short
    port.write(cobs_encode(tempting * 40) + b"\x00")  # oversize: 400 bytes before the delimiter
    port.write(b"\x55" * 1000)  # a runaway frame with no delimiter at all
    # The next request's leading 0x00 ends the runaway frame; the device answers it normally.
    assert device.values()["setpoint"] == 200
    # A frame that deframes but holds no valid message is answered with ERROR seq 0.
    port.write(encode_serial_frame(b"\x83\x01\x19\x05\x04\xa3"))
    port.write(encode_serial_frame(b"\x83\x01\x19\x05\xff\xa0"))  # unknown type 1535
    device.set("setpoint", 230)
    assert device.values()["setpoint"] == 230
    errors = [(m.seq, m.code) for m in device.unsolicited if isinstance(m, Error)]
    assert errors == [(0, ErrorCode.BAD_MESSAGE), (0, ErrorCode.UNKNOWN_TYPE)]


def test_bad_frames_from_the_device_are_dropped_and_the_link_recovers(
    device: SerialDevice, relay: Relay
) -> None:
    device.hello()
    forged = encode(State(device.link._last_seq + 1, {0: 123}, b""))  # what would be the answer
    bad_crc = bytearray(encode_serial_frame(forged))
    bad_crc[3] ^= 0x01
    relay.inject_to_host(bytes(bad_crc))
    relay.inject_to_host(b"\x42" * 600 + b"\x00")  # oversize
    relay.inject_to_host(b"\x07\x01\x02\x00")  # malformed COBS
    relay.inject_to_host(encode_serial_frame(b"\x83\x01\x19\x05\x03\xa3\x00"))  # truncated STATE
    assert device.values()["setpoint"] == 200  # the real answer, not the forged 123
    frames = device.link.counters.frames
    assert (frames.crc, frames.oversize, frames.cobs) == (1, 1, 1)
    assert device.link.counters.messages_refused == 1


def silence_then_recovery(device: SerialDevice, relay: Relay) -> None:
    """A device whose answers the relay drops times out; once they flow again, it answers."""
    device.hello()
    device.attempts, device.answer_timeout = 2, 0.3
    relay.mute_device = True
    with pytest.raises(DeviceTimeout):
        device.state()
    relay.mute_device = False
    device.answer_timeout = 2.0
    assert device.values()["setpoint"] == 200


def test_a_silent_device_times_out_and_the_link_recovers(
    device: SerialDevice, relay: Relay
) -> None:
    silence_then_recovery(device, relay)
