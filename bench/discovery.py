"""mDNS discovery across network namespaces: how fast agents find each other, and lose each other.

Run (as root): python bench/discovery.py [--runs N] [--period S] [--json OUT]

Each run builds a fresh lab (tests/discovery/netns.py): three agents, each in its own network
namespace on one bridge, each running an ``MdnsAdvertiser`` and an ``MdnsBrowser``. Measured:

- discovery: from an agent's ``start()`` call to ``PeerAdded`` at each of the two others
  (python-zeroconf probes three times 250 ms apart before it announces);
- goodbye: from ``stop()`` to ``PeerRemoved`` at the others (the goodbye, not a TTL);
- rotation pickup: from the token epoch boundary to the new advertisement's ``PeerAdded``, and
  how long the agent was invisible in between (old removed to new added), with ``--period``
  seconds per epoch.

Medians over all runs (and all observer pairs), with min and max. Times are wall-clock on this
machine's loaded CPU, real multicast on veths; nothing leaves the namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "discovery"))

from netns import Lab, NodeLoop, Recorder

from edge_dan.discovery.mdns import (
    MdnsAdvertiser,
    MdnsBrowser,
    PeerAdded,
    PeerEvent,
    PeerRemoved,
)
from edge_dan.discovery.tokens import TokenRotator, new_advertising_key

AGENTS = 3
WAIT = 15.0


class Agent:
    """One agent on a node loop; ``events`` records what its browser reported, with times."""

    def __init__(self, loop: NodeLoop, port: int, period: float) -> None:
        self.loop = loop
        self.address = loop.node.address
        self.events: Recorder[PeerEvent] = Recorder()
        self.advertiser = MdnsAdvertiser(TokenRotator(new_advertising_key(), period=period), port)
        self.browser = MdnsBrowser(own=self.advertiser, on_event=self.events)
        self.loop.run(self.browser.start())

    def advertise(self) -> float:
        """Start advertising in the background; when ``start()`` was called (monotonic)."""
        started = time.monotonic()
        self.loop.submit(self.advertiser.start())
        return started

    def close(self) -> None:
        self.loop.run(self.browser.stop())
        self.loop.run(self.advertiser.stop())


def _added_from(address: str, exclude: set[str] | None = None) -> Callable[[PeerEvent], bool]:
    def match(event: PeerEvent) -> bool:
        return (
            isinstance(event, PeerAdded)
            and event.peer.addresses == (address,)
            and event.peer.instance not in (exclude or set())
        )

    return match


def one_run(period: float) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"discovery": [], "goodbye": [], "pickup": [], "gap": []}
    with Lab(AGENTS, tag="b") as lab:
        agents = [Agent(lab.loop(node), 40000 + node.index, period) for node in lab.nodes]
        # Start just after an epoch boundary, so no rotation interferes with first discovery.
        time.sleep(period - time.time() % period + 0.05)
        started = {agent.address: agent.advertise() for agent in agents}
        for observer in agents:
            for other in agents:
                if other is observer:
                    continue
                seen_at, _ = observer.events.wait_for(_added_from(other.address), WAIT)
                found["discovery"].append(seen_at - started[other.address])

        leaving = agents[2]
        instance = leaving.advertiser.instance_name
        stop_at = time.monotonic()
        leaving.loop.run(leaving.advertiser.stop())
        for observer in agents[:2]:
            removed_at, _ = observer.events.wait_for(
                lambda e: isinstance(e, PeerRemoved) and e.peer.instance == instance, WAIT
            )
            found["goodbye"].append(removed_at - stop_at)

        # Rotation: agent 0 moves to a fresh advertisement at the next epoch boundary.
        rotating, watcher = agents[0], agents[1]
        _, first = watcher.events.wait_for(_added_from(rotating.address), WAIT)
        now_wall, now_mono = time.time(), time.monotonic()
        boundary = (now_wall // period + 1) * period - now_wall + now_mono
        old = first.peer.instance
        gone_at, _ = watcher.events.wait_for(
            lambda e: isinstance(e, PeerRemoved) and e.peer.instance == old, period + WAIT
        )
        back_at, _ = watcher.events.wait_for(_added_from(rotating.address, {old}), WAIT)
        if gone_at >= boundary:  # not a rotation that happened before we looked
            found["pickup"].append(back_at - boundary)
            found["gap"].append(back_at - gone_at)

        for agent in agents:
            agent.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--period", type=float, default=6.0, help="token epoch for rotation")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark builds network namespaces")

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    samples: dict[str, list[float]] = {"discovery": [], "goodbye": [], "pickup": [], "gap": []}
    for run in range(args.runs):
        for name, values in one_run(args.period).items():
            samples[name].extend(values)
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    labels = {
        "discovery": "start() to PeerAdded at a peer",
        "goodbye": "stop() to PeerRemoved at a peer",
        "pickup": f"epoch boundary to new PeerAdded ({args.period:g} s)",
        "gap": "rotation: old removed to new added",
    }
    results: dict[str, Any] = {"runs": args.runs, "agents": AGENTS, "period": args.period}
    print(f"{'(seconds)':42} {'median':>8} {'min':>8} {'max':>8} {'n':>4}")
    for name, label in labels.items():
        values = samples[name]
        if not values:
            print(f"{label:42} {'-':>8}")
            continue
        row = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }
        results[name] = row
        print(f"{label:42} {row['median']:8.3f} {row['min']:8.3f} {row['max']:8.3f} {row['n']:4d}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
