"""The bare-metal RP2040 thermostat: its build tools, and the firmware end to end in an emulator.

``make rp2040`` builds ``examples/rp2040_usb_cdc`` (our boot2, startup, clocks and USB CDC driver,
no SDK) into an ELF and a UF2. ``tools/rp2040/run.mjs`` boots the UF2 in rp2040js the way the
bootrom would (boot2 CRC checked, boot2 run from SRAM), lets rp2040js's USB host enumerate the CDC
port and serves it on TCP; the host bridge then talks to it over ``socket://`` exactly as it talks
to the QEMU boards in test_end_to_end.py, whose relay and helpers these tests reuse.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from firmware_helpers import BRIDGE, make, require
from test_end_to_end import (
    Relay,
    accord_is_applied_and_read_back,
    bad_sets_are_refused_with_their_codes,
    connect,
    frames_failing_crc,
    free_port,
    silence_then_recovery,
)

from edge_dan.bridge.codec import MAX_PAYLOAD, Error, ErrorCode, Set, encode
from edge_dan.bridge.link import SerialDevice
from edge_dan.wire.framing.serial import cobs_encode, encode_serial_frame

TOOLS = BRIDGE / "tools" / "rp2040"
STARTUP_TIMEOUT_S = 30.0


def load_tool(name: str) -> ModuleType:
    """One of the build scripts in tools/rp2040 (plain scripts, not an installed package)."""
    spec = importlib.util.spec_from_file_location(f"rp2040_{name}", TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


boot2_crc = load_tool("boot2_crc")
uf2 = load_tool("uf2")


# --- build tools ---------------------------------------------------------------------------------


def test_boot2_crc_is_crc32_mpeg2() -> None:
    # The published check value of CRC-32/MPEG-2 (the CRC catalogue's "check" for b"123456789").
    assert boot2_crc.crc32_mpeg2(b"123456789") == 0x0376E6E7
    assert boot2_crc.crc32_mpeg2(b"") == 0xFFFFFFFF


def test_boot2_is_sealed_to_256_bytes_with_its_crc_last() -> None:
    sealed = boot2_crc.seal(b"\x01\x02\x03")
    assert len(sealed) == 256
    assert sealed[:3] == b"\x01\x02\x03" and sealed[3:252] == bytes(249)
    assert int.from_bytes(sealed[252:], "little") == boot2_crc.crc32_mpeg2(sealed[:252])
    with pytest.raises(boot2_crc.Boot2TooLarge, match="at most 252"):
        boot2_crc.seal(bytes(253))


def test_uf2_blocks_follow_the_format() -> None:
    image = bytes(range(256)) * 2 + b"tail"  # two full payloads and a short third
    data = uf2.to_uf2(image)
    assert len(data) == 3 * 512
    for number in range(3):
        block = data[number * 512 : (number + 1) * 512]
        assert block[:8] == b"UF2\n" + bytes.fromhex("57515d9e")  # the two start magics, LE
        assert block[508:] == bytes.fromhex("306fb10a")  # end magic 0x0AB16F30, LE
        flags, address, size, index, count, family = struct.unpack_from("<6I", block, 8)
        assert (flags, size, index, count, family) == (0x2000, 256, number, 3, 0xE48BFF56)
        assert address == 0x10000000 + 256 * number
        assert block[32 + 256 : 508] == bytes(476 - 256)
    blocks = uf2.parse_uf2(data)
    assert b"".join(b.payload for b in blocks) == image + b"\xff" * 252  # padded as erased flash
    with pytest.raises(uf2.UF2Error, match="magic"):
        uf2.parse_uf2(data[:508] + b"\x00" * 4)
    with pytest.raises(uf2.UF2Error, match="aligned"):
        uf2.to_uf2(image, 0x10000080)


# --- the firmware --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("make", "arm-none-eabi-gcc")
    build = tmp_path_factory.mktemp("rp2040")
    result = make(build, "rp2040")
    assert result.returncode == 0, result.stdout + result.stderr
    return build


def test_the_build_seals_boot2_and_writes_a_matching_uf2(firmware: Path) -> None:
    image = (firmware / "thermostat_rp2040.bin").read_bytes()
    assert int.from_bytes(image[252:256], "little") == boot2_crc.crc32_mpeg2(image[:252])
    blocks = uf2.parse_uf2((firmware / "thermostat_rp2040.uf2").read_bytes())
    assert b"".join(b.payload for b in blocks)[: len(image)] == image
    # The vector table right after boot2: initial SP at the top of SRAM4/5, reset in flash (Thumb).
    stack, reset = struct.unpack_from("<2I", image, 256)
    assert stack == 0x20042000 and 0x10000100 < reset < 0x10000000 + len(image) and reset & 1


def require_runner() -> None:
    """Skip unless node and the pinned rp2040js (package-lock.json) are installed."""
    if shutil.which("node") is None:
        pytest.skip("node not installed (apt-get install nodejs npm)")
    if not (TOOLS / "node_modules" / "rp2040js").is_dir():
        pytest.skip(f"rp2040js not installed (cd {TOOLS} && npm ci)")


def test_the_runner_refuses_a_boot2_the_bootrom_would_refuse(
    firmware: Path, tmp_path: Path
) -> None:
    require_runner()
    image = bytearray((firmware / "thermostat_rp2040.uf2").read_bytes())
    image[32 + 10] ^= 0x01  # one bit of boot2, in the first block's payload
    corrupt = tmp_path / "corrupt.uf2"
    corrupt.write_bytes(bytes(image))
    result = subprocess.run(
        ["node", str(TOOLS / "run.mjs"), str(corrupt), str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "boot2 CRC mismatch" in result.stderr


def start_emulator(uf2_file: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    """run.mjs on uf2_file, once the enumerated CDC port listens on port; and its stderr lines."""
    require_runner()
    emulator = subprocess.Popen(
        ["node", str(TOOLS / "run.mjs"), str(uf2_file), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert emulator.stderr is not None
    lines: list[str] = []
    settled = threading.Event()  # listening, or stderr closed because the runner stopped

    def watch(stream: Iterator[str]) -> None:
        for line in stream:
            lines.append(line)
            if line.startswith("rp2040: listening"):
                settled.set()
        settled.set()

    threading.Thread(target=watch, args=(emulator.stderr,), daemon=True).start()
    settled.wait(STARTUP_TIMEOUT_S)
    if not any(line.startswith("rp2040: listening") for line in lines):
        emulator.kill()
        emulator.wait(timeout=10)
        pytest.fail("the RP2040 firmware never enumerated as a CDC port:\n" + "".join(lines))
    return emulator, lines


@dataclass
class Emulated:
    """A booted RP2040 thermostat: its USB CDC port behind a relay, and the runner's log lines."""

    relay: Relay
    log: list[str]

    def led(self) -> str:
        """The Pico LED's last reported state, "on" or "off", once the firmware has set it."""
        states = [line.split()[-1] for line in self.log if line.startswith("rp2040: led ")]
        return states[-1] if states else "unset"


@pytest.fixture
def emulated(firmware: Path) -> Iterator[Emulated]:
    """A freshly booted RP2040 thermostat (fresh state every test)."""
    port = free_port()
    emulator, log = start_emulator(firmware / "thermostat_rp2040.uf2", port)
    try:
        relay = Relay(connect(port))
        relay.start()
        yield Emulated(relay, log)
        relay.close()
    finally:
        emulator.kill()
        emulator.wait(timeout=10)


@pytest.fixture
def relay(emulated: Emulated) -> Relay:
    return emulated.relay


@pytest.mark.slow
def test_control_requests_beyond_enumeration(firmware: Path) -> None:
    """What run.mjs's control probe saw: descriptors, line coding, and STALL where due."""
    emulator, lines = start_emulator(firmware / "thermostat_rp2040.uf2", free_port())
    emulator.kill()
    emulator.wait(timeout=10)
    [report] = [line for line in lines if line.startswith("rp2040: control probe ")]
    probe = json.loads(report.removeprefix("rp2040: control probe "))
    device = bytes(probe["device_descriptor"]["data"])
    assert len(device) == 18 and device[:2] == b"\x12\x01" and device[7] == 64  # EP0: 64 bytes
    assert device[8:12] == bytes.fromhex("09120100")  # VID 1209h, PID 0001h (pid.codes test)
    assert bytes(probe["language_ids"]["data"]) == bytes.fromhex("04030904")
    product = bytes(probe["product_string"]["data"])
    assert product[0] == len(product) and product[2:].decode("utf-16-le") == "edge_dan thermostat"
    assert (
        bytes(probe["line_coding_default"]["data"]) == (115200).to_bytes(4, "little") + b"\0\0\x08"
    )
    assert not probe["set_line_coding"]["stalled"] and not probe["control_line_state"]["stalled"]
    assert (
        bytes(probe["line_coding_after_set"]["data"]) == (9600).to_bytes(4, "little") + b"\0\0\x08"
    )
    # Full-speed only, so no device qualifier (USB 2.0 9.6.2); vendor requests are not ours.
    assert probe["device_qualifier"]["stalled"] and probe["vendor_request"]["stalled"]


@pytest.fixture
def device(relay: Relay) -> Iterator[SerialDevice]:
    with SerialDevice.open(f"socket://127.0.0.1:{relay.port}", answer_timeout=2.0) as opened:
        yield opened


@pytest.mark.slow
def test_hello_and_state_over_usb_cdc(device: SerialDevice) -> None:
    caps = device.hello()
    assert caps.kind == "thermostat" and caps.version == 1 and caps.max_payload == MAX_PAYLOAD
    assert caps.device_id == b"EDB-0001"
    assert [(p.name, p.writable) for p in caps.points] == [
        ("setpoint", True),
        ("temp", False),
        ("heating", False),
    ]
    assert device.values() == {"setpoint": 200, "temp": 185, "heating": 1}


def wait_for(condition: Callable[[], bool], deadline_s: float = 5.0) -> bool:
    """Whether condition became true before the deadline (the runner logs asynchronously)."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.slow
def test_set_and_refusals_over_usb_cdc(device: SerialDevice, emulated: Emulated) -> None:
    assert wait_for(lambda: emulated.led() == "on")  # 18.5 degrees, set to 20.0: heating
    device.set("setpoint", 150)  # below the 18.5 degree reading: the heating goes off
    assert device.values() == {"setpoint": 150, "temp": 185, "heating": 0}
    assert wait_for(lambda: emulated.led() == "off"), emulated.log
    bad_sets_are_refused_with_their_codes(device)
    assert device.values() == {"setpoint": 150, "temp": 185, "heating": 0}


@pytest.mark.slow
def test_an_accord_is_applied_and_its_id_read_back(device: SerialDevice) -> None:
    accord_is_applied_and_read_back(device, 215)


@pytest.mark.slow
def test_bad_and_runaway_frames_are_dropped_and_the_link_recovers(device: SerialDevice) -> None:
    assert device.values()["setpoint"] == 200
    tempting = encode(Set(900, 0, 280))  # a valid SET: nothing below may apply it
    port = device.port
    for frame in frames_failing_crc(tempting):
        port.write(frame)
    port.write(b"\x01" * 3 + b"\x00")  # short
    # Oversize (400 bytes before the delimiter) and a runaway frame with no delimiter: more than
    # the emulated host's FIFO and many USB packets, so the OUT endpoint's flow control is used.
    port.write(cobs_encode(tempting * 40) + b"\x00")
    port.write(b"\x55" * 1000)
    assert device.values()["setpoint"] == 200  # the request's leading 0x00 ends the runaway
    port.write(encode_serial_frame(b"\x83\x01\x19\x05\x04\xa3"))  # frames fine, does not decode
    device.set("setpoint", 230)
    assert device.values()["setpoint"] == 230
    errors = [(m.seq, m.code) for m in device.unsolicited if isinstance(m, Error)]
    assert errors == [(0, ErrorCode.BAD_MESSAGE)]


@pytest.mark.slow
def test_a_silent_link_times_out_and_recovers(device: SerialDevice, relay: Relay) -> None:
    silence_then_recovery(device, relay)
