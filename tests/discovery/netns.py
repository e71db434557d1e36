"""A private LAN in Linux network namespaces, for multicast tests that never touch the host network.

``Lab(n)`` builds, under names unique to this run::

    <prefix>-hub         a namespace holding only a bridge (br0, IGMP snooping off)
    <prefix>-n0 .. n<k>  one namespace per node: lo, and eth0 (198.51.100.<10+i>/24), a veth whose
                         other end (p<i>) is a port of br0 in the hub namespace

IPv6 is disabled in every namespace (mDNS here is IPv4 only, and IPv6 router solicitations would be
noise). Nothing is created in the host's namespace, no address is assigned outside the lab.

Code runs "inside" a node in two ways:

- ``lab.loop(node)``: an asyncio event loop on a thread that ``setns()``-ed into the node's network
  namespace before creating any socket (network namespaces are per thread), so one process hosts
  several "devices"; ``NodeLoop.run(coro)`` runs a coroutine there and returns its result,
  ``NodeLoop.on_close(cleanup)`` registers what to close there at teardown (even after a failure),
  and a ``Recorder`` collects what callbacks report, for the test thread to wait on;
- ``lab.exec(node, argv)`` / ``lab.popen(node, argv)``: a subprocess under ``ip netns exec``.

``lab.cut(node)`` takes the node's bridge port down (its cable is pulled), ``lab.restore(node)``
plugs it back. Leaving the ``with`` block (even through an exception) stops the loops and deletes
every namespace; namespaces left by a crashed run (their creating process is gone) are swept at
the next start. Requires root and iproute2; ``Lab`` raises ``NetnsUnavailable`` (with the reason)
otherwise, which tests turn into a skip.

Independent of edge_dan on purpose: ``bench/discovery.py`` imports it too.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SUBNET = "198.51.100"  # TEST-NET-2 (RFC 5737): never routed, and only inside the lab
FIRST_HOST = 10
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
_NAME = re.compile(r"^edan(\d+)x[0-9a-f]+-")


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be used here (not root, no iproute2, no kernel support)."""


@dataclass(frozen=True)
class Node:
    index: int
    netns: str  # the namespace's name (under /run/netns)
    address: str  # IPv4 of eth0
    interface: str = "eth0"

    @property
    def hub_port(self) -> str:
        """The bridge port (in the hub namespace) this node's cable plugs into."""
        return f"p{self.index}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def enter_netns(netns: str) -> None:
    """Move the calling thread into a network namespace (sockets made afterwards live there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {netns} failed: {os.strerror(errno)}")
    finally:
        os.close(fd)


def skip_reason() -> str | None:
    """Why a lab cannot be built here, or None if it probably can."""
    if os.geteuid() != 0:
        return "network-namespace tests need root (they create namespaces, veths and a bridge)"
    if shutil.which("ip") is None:
        return "network-namespace tests need iproute2's `ip` command"
    if not hasattr(ctypes.CDLL(None), "setns"):
        return "this libc has no setns()"
    return None


def sweep_stale() -> None:
    """Delete lab namespaces whose creating process is gone (a crashed or killed run)."""
    listed = _ip("netns", "list", check=False).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        match = _NAME.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            _ip("netns", "del", name, check=False)


class NodeLoop:
    """An asyncio event loop running on its own thread inside one node's network namespace."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._cleanups: list[Callable[[], Coroutine[Any, Any, object]]] = []
        self._thread = threading.Thread(target=self._main, name=f"netns-{node.netns}", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)
        if self._failure is not None:
            raise NetnsUnavailable(f"cannot enter {node.netns}: {self._failure}")

    def _main(self) -> None:
        try:
            enter_netns(self.node.netns)
            loop = asyncio.new_event_loop()
            # Executor threads (getaddrinfo, blocking helpers) must live in the namespace too.
            loop.set_default_executor(
                concurrent.futures.ThreadPoolExecutor(
                    max_workers=2, initializer=enter_netns, initargs=(self.node.netns,)
                )
            )
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on this node's loop; the future holds its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on this node's loop and wait for its result."""
        future = self.submit(coro)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{coro!r} did not finish within {timeout} s") from None

    def on_close(self, cleanup: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Run ``cleanup()`` on this loop when it closes (also after a failed test)."""
        self._cleanups.append(cleanup)

    def close(self) -> None:
        if self._loop is not None and self._loop.is_running():
            while self._cleanups:
                with contextlib.suppress(Exception):
                    self.run(self._cleanups.pop()(), timeout=10.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=15)


class Lab:
    """``count`` nodes on one bridge, each in its own network namespace (see the module doc)."""

    def __init__(self, count: int, *, tag: str = "") -> None:
        if not 1 <= count <= 200:
            raise ValueError("a lab has 1..200 nodes")
        self.count = count
        self.prefix = f"edan{os.getpid()}x{secrets.token_hex(3)}{tag}"
        self.hub = f"{self.prefix}-hub"
        self.nodes = [
            Node(i, f"{self.prefix}-n{i}", f"{SUBNET}.{FIRST_HOST + i}") for i in range(count)
        ]
        self._created: list[str] = []
        self._loops: list[NodeLoop] = []

    # -- lifecycle --

    def __enter__(self) -> Lab:
        reason = skip_reason()
        if reason is not None:
            raise NetnsUnavailable(reason)
        sweep_stale()
        atexit.register(self.teardown)  # also on KeyboardInterrupt out of a test
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    def _add_netns(self, name: str) -> None:
        result = _ip("netns", "add", name, check=False)
        if result.returncode != 0:
            raise NetnsUnavailable(f"`ip netns add` failed: {result.stderr.strip()}")
        self._created.append(name)
        # No IPv6 at all: set before any veth arrives so new interfaces inherit it.
        self.exec_in(
            name,
            [
                "sh",
                "-c",
                "for f in all default; do "
                "echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6 2>/dev/null; done; true",
            ],
        )

    def _build(self) -> None:
        self._add_netns(self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge", "forward_delay", "0",
            "mcast_snooping", "0")  # fmt: skip
        _ip("-n", self.hub, "link", "set", "br0", "up")
        for node in self.nodes:
            self._add_netns(node.netns)
            _ip("-n", node.netns, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", node.hub_port, "type", "veth", "peer", "name",
                node.interface, "netns", node.netns)  # fmt: skip
            _ip("-n", self.hub, "link", "set", node.hub_port, "master", "br0", "up")
            _ip("-n", node.netns, "addr", "add", f"{node.address}/24", "dev", node.interface)
            _ip("-n", node.netns, "link", "set", node.interface, "up")
        for node in self.nodes:
            self.wait_link(node)

    def teardown(self) -> None:
        """Stop every node loop and delete every namespace; safe to call twice."""
        for loop in self._loops:
            with contextlib.suppress(Exception):
                loop.close()
        self._loops.clear()
        for name in reversed(self._created):
            _ip("netns", "del", name, check=False)
        self._created.clear()
        atexit.unregister(self.teardown)

    # -- links --

    def _operstate(self, netns: str, interface: str) -> str:
        shown = _ip("-j", "-n", netns, "link", "show", interface, check=False)
        if shown.returncode != 0:
            return "MISSING"
        state: str = json.loads(shown.stdout)[0].get("operstate", "UNKNOWN")
        return state

    def wait_link(self, node: Node, *, up: bool = True, timeout: float = 10.0) -> None:
        """Wait until both ends of the node's cable are (or are no longer) up."""
        deadline = time.monotonic() + timeout
        while True:
            states = (
                self._operstate(node.netns, node.interface),
                self._operstate(self.hub, node.hub_port),
            )
            if all((state == "UP") == up for state in states):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"link of {node.netns} did not go {'up' if up else 'down'}")
            time.sleep(0.02)

    def cut(self, node: Node) -> None:
        """Pull the node's cable: its bridge port goes down, nothing passes either way."""
        _ip("-n", self.hub, "link", "set", node.hub_port, "down")

    def restore(self, node: Node) -> None:
        _ip("-n", self.hub, "link", "set", node.hub_port, "up")
        self.wait_link(node)

    # -- running code inside --

    def loop(self, node: Node) -> NodeLoop:
        """A new event loop thread inside ``node``; closed at teardown."""
        node_loop = NodeLoop(node)
        self._loops.append(node_loop)
        return node_loop

    def exec_in(
        self, netns: str, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(
            ["ip", "netns", "exec", netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            env=env,
        )

    def exec(
        self, node: Node, argv: Sequence[str], *, timeout: float = 30.0, check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run a command inside ``node`` (``ip netns exec``) and wait for it."""
        return self.exec_in(node.netns, argv, timeout=timeout, check=check, env=env)

    def popen(
        self, node: Node, argv: Sequence[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start a command inside ``node``; the caller stops it (``stop_process``)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", node.netns, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[str], timeout: float = 5.0) -> tuple[str, str]:
    """Terminate a process (its whole group if it leads one, as ``Lab.popen`` makes it); its
    output."""

    def signal(number: int) -> None:
        try:
            os.killpg(process.pid, number)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, number)

    if process.poll() is None:
        signal(15)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal(9)
        return process.communicate(timeout=timeout)


class Recorder(Generic[T]):
    """A thread-safe log of items with arrival times (``time.monotonic()``), and waiting on it.

    Pass it as a callback to code running in a node's loop; wait for items from the test thread.
    """

    def __init__(self) -> None:
        self._items: list[tuple[float, T]] = []
        self._changed = threading.Condition()

    def __call__(self, item: T) -> None:
        with self._changed:
            self._items.append((time.monotonic(), item))
            self._changed.notify_all()

    def items(self) -> list[T]:
        with self._changed:
            return [item for _, item in self._items]

    def timed(self) -> list[tuple[float, T]]:
        with self._changed:
            return list(self._items)

    def wait_for(self, predicate: Callable[[T], bool], timeout: float) -> tuple[float, T]:
        """The first item (oldest first) satisfying ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for arrived, item in self._items:
                    if predicate(item):
                        return arrived, item
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n  ".join(repr(item) for _, item in self._items) or "nothing"
                    raise TimeoutError(f"no matching item within {timeout} s; seen:\n  {seen}")
                self._changed.wait(left)
