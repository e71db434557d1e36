"""Interop with an mDNS stack nobody here wrote: Debian's avahi, both ways, inside the lab.

avahi-daemon runs in one lab namespace with its own D-Bus daemon (``DBUS_SYSTEM_BUS_ADDRESS``
points every avahi client at it, never at the host's bus) and a private tmpfs over /run (its own
mount namespace through ``ip netns exec``), so it neither clashes with nor talks to anything on
the host. Our agent runs in the other namespace.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netns import Lab, NetnsUnavailable, Node, Recorder, stop_process

from edge_dan.discovery.mdns import (
    MdnsAdvertiser,
    MdnsBrowser,
    PeerAdded,
    PeerEvent,
    PeerRemoved,
    build_txt,
    parse_txt,
)
from edge_dan.discovery.tokens import Recogniser, TokenRotator, new_advertising_key

pytestmark = pytest.mark.slow
NEEDED = ("avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon", "dbus-send")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name=avahi-lab
use-ipv4=yes
use-ipv6=no
allow-interfaces={interface}
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-aaaa-on-ipv4=no
publish-hinfo=no
publish-workstation=no
"""


@dataclass
class Avahi:
    lab: Lab
    node: Node
    env: dict[str, str]

    def run(self, *argv: str, timeout: float = 10.0) -> str:
        return self.lab.exec(self.node, argv, env=self.env, timeout=timeout).stdout

    def start(self, *argv: str) -> subprocess.Popen[str]:
        return self.lab.popen(self.node, argv, env=self.env)

    def browse(self, service: str, want: str, timeout: float = 15.0) -> list[str]:
        """``avahi-browse -rpt`` until a resolved line contains ``want`` (it gives up after
        about a second on its own, so it is retried)."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.run("avahi-browse", "-rpt", service)
            resolved = [line for line in out.splitlines() if line.startswith("=")]
            if any(want in line for line in resolved):
                return resolved
            if time.monotonic() > deadline:
                raise TimeoutError(f"avahi-browse never listed {want!r}; last output:\n{out}")


@pytest.fixture
def lab_with_avahi(tmp_path: Path) -> Iterator[tuple[Lab, Avahi]]:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"avahi interop needs {', '.join(missing)}: apt-get install avahi-daemon "
            "avahi-utils dbus"
        )
    try:
        with Lab(2) as lab:
            try:
                yield lab, _start_avahi(lab, lab.nodes[1], tmp_path)
            finally:  # before the lab goes: nothing of avahi outlives the test
                while _processes:
                    stop_process(_processes.pop())
    except NetnsUnavailable as why:
        pytest.skip(str(why))


_processes: list[subprocess.Popen[str]] = []  # started in the lab; stopped by the fixture


def _start_avahi(lab: Lab, node: Node, workdir: Path) -> Avahi:
    socket = workdir / "system_bus"
    (workdir / "bus.conf").write_text(BUS_CONFIG.format(socket=socket))
    (workdir / "avahi.conf").write_text(AVAHI_CONFIG.format(interface=node.interface))
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
    avahi = Avahi(lab, node, env)
    bus = avahi.start("dbus-daemon", f"--config-file={workdir / 'bus.conf'}", "--nofork")
    _processes.append(bus)
    _wait_until(socket.exists, "the private D-Bus daemon", bus)  # else avahi-daemon quits
    daemon_command = (
        "mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && exec avahi-daemon "
        f"--no-drop-root --no-chroot -f {shlex.quote(str(workdir / 'avahi.conf'))}"
    )
    daemon = avahi.start("sh", "-c", daemon_command)
    _processes.append(daemon)

    def running() -> bool:  # server state 2 = running: its host name is established
        state = lab.exec(node, ["dbus-send", "--system", "--print-reply",
                                "--dest=org.freedesktop.Avahi", "/",
                                "org.freedesktop.Avahi.Server.GetState"],
                         env=env, check=False)  # fmt: skip
        return "int32 2" in state.stdout

    _wait_until(running, "avahi-daemon", daemon)
    return avahi


def _wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not ready():
        if process.poll() is not None:
            _, err = process.communicate()
            raise RuntimeError(f"{what} exited ({process.returncode}): {err.strip()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up within 20 s")
        time.sleep(0.05)


def _txt_fields(field: str) -> dict[bytes, bytes | None]:
    """avahi-browse -p prints TXT as ``"k=v" "k2=v2"``."""
    pairs: dict[bytes, bytes | None] = {}
    for item in shlex.split(field):
        key, _, value = item.partition("=")
        pairs[key.encode()] = value.encode()
    return pairs


def test_avahi_browse_lists_our_agent_with_its_txt(lab_with_avahi: tuple[Lab, Avahi]) -> None:
    lab, avahi = lab_with_avahi
    ours = lab.nodes[0]
    key = new_advertising_key()
    rotator = TokenRotator(key)
    advertiser = MdnsAdvertiser(rotator, 45123)
    loop = lab.loop(ours)
    loop.on_close(advertiser.stop)
    loop.run(advertiser.start())
    instance = advertiser.instance_name
    assert instance is not None and advertiser.host_name is not None
    label = instance.split(".")[0]

    lines = avahi.browse("_littledan._tcp", f";{label};")
    (line,) = [line for line in lines if f";{label};" in line]
    fields = line.split(";")
    # =;interface;protocol;name;type;domain;host;address;port;txt
    assert fields[1:7] == [
        avahi.node.interface, "IPv4", label, "_littledan._tcp", "local",
        advertiser.host_name.rstrip("."),
    ]  # fmt: skip
    assert fields[7:9] == [ours.address, "45123"]
    txt = _txt_fields(fields[9])
    assert txt == {k.encode(): v.encode() for k, v in build_txt(advertiser.advert).items()}
    advert, _ = parse_txt(txt)
    assert Recogniser({b"ours": key}).recognise(advert, time.time()) == b"ours"
    loop.run(advertiser.stop())


def test_our_browser_sees_what_avahi_publish_announces(lab_with_avahi: tuple[Lab, Avahi]) -> None:
    lab, avahi = lab_with_avahi
    key = new_advertising_key()
    rotator = TokenRotator(key)
    rotator.open_to_pairing(time.time(), 600)
    advert = rotator.advert(time.time())
    events: Recorder[PeerEvent] = Recorder()
    browser = MdnsBrowser(on_event=events)
    loop = lab.loop(lab.nodes[0])
    loop.on_close(browser.stop)
    loop.run(browser.start())

    txt = [f"{k}={v}" for k, v in build_txt(advert).items()]
    invalid = avahi.start("avahi-publish", "-s", "futurist", "_littledan._tcp", "49001",
                          "v=9", *txt[1:])  # fmt: skip
    _processes.append(invalid)
    valid = avahi.start("avahi-publish", "-s", "avahi-side", "_littledan._tcp", "49000", *txt)
    _processes.append(valid)

    _, added = events.wait_for(lambda e: isinstance(e, PeerAdded), 15.0)
    assert added.peer.instance == "avahi-side._littledan._tcp.local."
    assert added.peer.host == "avahi-lab.local."
    assert added.peer.addresses == (avahi.node.address,) and added.peer.port == 49000
    assert added.peer.advert == advert and added.peer.advert.open_to_pairing
    assert Recogniser({b"avahi": key}).recognise(added.peer.advert, time.time()) == b"avahi"

    stop_process(valid)  # avahi withdraws with a goodbye
    events.wait_for(lambda e: isinstance(e, PeerRemoved), 5.0)
    assert [type(e) for e in events.items()] == [PeerAdded, PeerRemoved]  # never "futurist"
    loop.run(browser.stop())
