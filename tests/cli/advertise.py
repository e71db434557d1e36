"""Advertise one agent over mDNS on 127.0.0.1 for a while (a child process of the peers tests).

Usage: python advertise.py KEY_HEX SECONDS [open]
Prints "ready" once the advertisement is published.
"""

from __future__ import annotations

import asyncio
import sys

from edge_dan.discovery.mdns import MdnsAdvertiser
from edge_dan.discovery.tokens import TokenRotator


async def main(key: bytes, seconds: float, open_to_pairing: bool) -> None:
    rotator = TokenRotator(key)
    async with MdnsAdvertiser(rotator, port=45_678, interfaces=["127.0.0.1"]) as advertiser:
        if open_to_pairing:
            await advertiser.open_to_pairing(600.0)
        print("ready", flush=True)
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    asyncio.run(main(bytes.fromhex(sys.argv[1]), float(sys.argv[2]), "open" in sys.argv[3:]))
