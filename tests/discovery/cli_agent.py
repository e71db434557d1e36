"""``edge-dan`` processes inside a lab node: a running agent (``edge-dan run``) and the commands
that talk to it, each a real child process with its own home, as a person would run them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from netns import Lab, Node, stop_process

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery"


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    env.update({"EDGE_DAN_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(REPO), **extra})
    return env


def edge_dan(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args]


class CliNode:
    """One person's device in the lab: a home, and ``edge-dan`` run inside the node."""

    def __init__(self, lab: Lab, node: Node, home: Path) -> None:
        self.lab = lab
        self.node = node
        self.home = home
        self.agent: subprocess.Popen[str] | None = None

    def __call__(
        self, *args: str, timeout: float = 120.0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``edge-dan ARGS`` inside the node; waits for it."""
        argv = edge_dan(self.home, *args)
        return self.lab.exec(self.node, argv, timeout=timeout, check=False, env=env or cli_env())

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return self.lab.popen(self.node, edge_dan(self.home, *args), env=cli_env())

    def open_pairing(self, *args: str, timeout: float = 60.0) -> tuple[subprocess.Popen[str], str]:
        """``edge-dan pair --open ARGS`` in the background, once the agent says it is open (a
        stranger looking earlier would find nobody open); with what it printed so far."""
        opening = self.popen("pair", "--open", *args)
        assert opening.stderr is not None
        seen = ""
        deadline = time.monotonic() + timeout
        while "Open to pairing" not in seen:
            line = opening.stderr.readline()
            if not line or time.monotonic() > deadline:
                opening.kill()
                raise AssertionError(f"pair --open did not open: {seen}{opening.communicate()}")
            seen += line
        return opening, seen

    def init(self) -> None:
        done = self("init", "--unlock-time", "0.01")
        assert done.returncode == 0, done.stderr

    def start(self, *args: str, timeout: float = 60.0) -> subprocess.Popen[str]:
        """``edge-dan run`` in the background, once its control socket answers."""
        self.agent = self.popen("run", "--interface", self.node.interface, *args)
        deadline = time.monotonic() + timeout
        while not answers(self.home / "control.sock"):
            if self.agent.poll() is not None:
                out, err = self.agent.communicate()
                raise AssertionError(f"edge-dan run exited {self.agent.returncode}: {err}{out}")
            if time.monotonic() > deadline:
                raise AssertionError("edge-dan run did not open its control socket in time")
            time.sleep(0.1)
        return self.agent

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM the running agent: its exit code, log (stdout) and stderr."""
        assert self.agent is not None
        out, err = stop_process(self.agent, timeout=30)
        return self.agent.returncode, out, err


def answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True
