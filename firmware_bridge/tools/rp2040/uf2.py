"""Convert a flat RP2040 flash image to UF2, the format the bootrom's USB drive (RPI-RP2) takes.

UF2 (https://github.com/microsoft/uf2, specification in its README) is a sequence of 512-byte
blocks, each self-describing: two start magics, flags, target address, payload size, block
number, block count, a family id (flag 0x2000), the payload in a 476-byte data area, and an end
magic, all little-endian. The RP2040 bootrom takes only 256-byte payloads at 256-byte aligned
flash addresses with family id 0xE48BFF56, so that is all this writes.

    python uf2.py firmware.bin firmware.uf2 [--base 0x10000000]
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

MAGIC_START0 = 0x0A324655
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY_ID_PRESENT = 0x00002000
RP2040_FAMILY_ID = 0xE48BFF56
RP2040_FLASH_BASE = 0x10000000
BLOCK_SIZE = 512
PAYLOAD_SIZE = 256
DATA_AREA_SIZE = 476
_HEADER = struct.Struct("<8I")  # the eight words before the data area
_END = struct.Struct("<I")


class UF2Error(ValueError):
    """A UF2 file that is not what this tool writes."""


@dataclass(frozen=True)
class Block:
    """One UF2 block: where its payload goes in flash."""

    address: int
    payload: bytes
    number: int
    count: int
    family_id: int


def to_uf2(image: bytes, base: int = RP2040_FLASH_BASE) -> bytes:
    """UF2 blocks for image loaded at base (256-byte aligned); the last payload padded with 0xFF."""
    if base % PAYLOAD_SIZE:
        raise UF2Error(f"base address 0x{base:08x} is not 256-byte aligned")
    count = (len(image) + PAYLOAD_SIZE - 1) // PAYLOAD_SIZE
    blocks = []
    for number in range(count):
        payload = image[number * PAYLOAD_SIZE : (number + 1) * PAYLOAD_SIZE]
        payload = payload.ljust(PAYLOAD_SIZE, b"\xff")  # 0xFF: what erased flash reads as
        header = _HEADER.pack(
            MAGIC_START0,
            MAGIC_START1,
            FLAG_FAMILY_ID_PRESENT,
            base + number * PAYLOAD_SIZE,
            PAYLOAD_SIZE,
            number,
            count,
            RP2040_FAMILY_ID,
        )
        blocks.append(header + payload.ljust(DATA_AREA_SIZE, b"\x00") + _END.pack(MAGIC_END))
    return b"".join(blocks)


def parse_uf2(data: bytes) -> list[Block]:
    """The blocks of a UF2 file, checking magics, sizes and numbering."""
    if len(data) % BLOCK_SIZE:
        raise UF2Error(f"{len(data)} bytes is not a whole number of 512-byte UF2 blocks")
    blocks = []
    for at in range(0, len(data), BLOCK_SIZE):
        raw = data[at : at + BLOCK_SIZE]
        start0, start1, flags, address, size, number, count, family = _HEADER.unpack_from(raw)
        (end,) = _END.unpack_from(raw, BLOCK_SIZE - _END.size)
        if (start0, start1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise UF2Error(f"block at byte {at}: bad magic numbers")
        if size > DATA_AREA_SIZE or number != at // BLOCK_SIZE:
            raise UF2Error(f"block at byte {at}: payload size {size} or number {number} is wrong")
        if not flags & FLAG_FAMILY_ID_PRESENT:
            family = 0
        payload = raw[_HEADER.size : _HEADER.size + size]
        blocks.append(Block(address, payload, number, count, family))
    return blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path, help="flat image (objcopy -O binary)")
    parser.add_argument("output", type=Path, help="UF2 file to write")
    parser.add_argument("--base", type=lambda text: int(text, 0), default=RP2040_FLASH_BASE)
    args = parser.parse_args(argv)
    try:
        args.output.write_bytes(to_uf2(args.image.read_bytes(), args.base))
    except UF2Error as error:
        print(f"uf2: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
