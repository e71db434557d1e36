"""Helpers of the firmware bridge tests: toolchains or a clear skip, builds, a shared build dir.

The bridge's test tooling (``edge_dan_bridge``: vectors, differential fuzz) lives in
``firmware_bridge/host/``, which pytest puts on ``sys.path`` (``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[2] / "firmware_bridge"

# The Debian packages that provide each tool; a skip names them so the fix is one apt-get away.
PACKAGES = {
    "gcc": "gcc",
    "make": "make",
    "clang": "clang",
    "cppcheck": "cppcheck",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
}


def require(*tools: str) -> None:
    """Skip the calling test unless every tool is on PATH."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = " ".join(PACKAGES.get(tool, tool) for tool in missing)
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install {packages})")


def make(build_dir: Path, *targets: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``make -C firmware_bridge`` with its build directory in ``build_dir``."""
    return subprocess.run(
        ["make", "-s", "-C", str(BRIDGE), f"B={build_dir}", f"PYTHON={sys.executable}", *targets],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def build_thermostat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the thermostat firmware for the QEMU boards into a fresh folder, which it returns
    (or skip the calling test where the toolchain or QEMU is missing)."""
    require("make", "arm-none-eabi-gcc", "qemu-system-arm")
    build = tmp_path_factory.mktemp("thermostat")
    result = make(build, "firmware")
    assert result.returncode == 0, result.stdout + result.stderr
    return build
