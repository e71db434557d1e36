"""A foreign-architecture Debian CPython, unpacked into a cache directory and run by qemu-user.

Shared by the aarch64 check (``tools/aarch64/check.py``) and the armv7 check
(``tools/foreign/armv7_check.py``): qemu-user-static is installed with apt-get if missing; the
guest's packages come from Debian bookworm (the base of Raspberry Pi OS) through a private apt
configuration for that one architecture, so the host's apt state and architectures stay
untouched, and are unpacked with ``dpkg-deb -x`` (no maintainer scripts run: what they would have
done and the guest needs, the BLAS/LAPACK alternatives, is done here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_MIRROR = os.environ.get("EDGE_DAN_AARCH64_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get(
    "EDGE_DAN_AARCH64_SECURITY_MIRROR", "http://deb.debian.org/debian-security"
)
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SUITE = "bookworm"  # Raspberry Pi OS (32- and 64-bit) is built on it: CPython 3.11, glibc 2.36
GUEST_PYTHON = "3.11"


@dataclass(frozen=True)
class Arch:
    """One guest architecture: its Debian name, its qemu-user binary and its library triplet."""

    name: str  # what the tools print: aarch64, armv7
    debian: str  # Debian's architecture name: arm64, armhf
    qemu: str  # qemu-user binary (the -static one: no host loader needed)
    triplet: str  # multiarch library directory under /usr/lib


AARCH64 = Arch("aarch64", "arm64", "qemu-aarch64-static", "aarch64-linux-gnu")
ARMHF = Arch("armv7", "armhf", "qemu-arm-static", "arm-linux-gnueabihf")


class SetupUnavailable(Exception):
    """The guest cannot be set up here (the check is skipped, not failed)."""


def log(arch: Arch, message: str) -> None:
    print(f"[{arch.name}] {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``; on failure raise ``SetupUnavailable`` with the tail of its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SetupUnavailable(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SetupUnavailable(f"{name} is not installed")
    return found


def ensure_qemu(arch: Arch, *, install: bool) -> str:
    for name in (arch.qemu, arch.qemu.removesuffix("-static")):
        found = shutil.which(name)
        if found:
            return found
    if not install:
        raise SetupUnavailable(f"{arch.qemu} is not installed (and --no-install was given)")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupUnavailable(
            f"{arch.qemu} is not installed; install the Debian package qemu-user-static"
        )
    log(arch, "installing qemu-user-static with apt-get")
    apt = tool("apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_cmd = [apt, "install", "-y", "-q", "--no-install-recommends", "qemu-user-static"]
    try:
        run(install_cmd, what="apt-get install qemu-user-static", env=env)
    except SetupUnavailable:
        run([apt, "update", "-q"], what="apt-get update", env=env)
        run(install_cmd, what="apt-get install qemu-user-static", env=env)
    return tool(arch.qemu)


def _apt_options(arch: Arch, apt_dir: Path) -> list[str]:
    """apt-get options for a private, single-architecture apt state under ``apt_dir``."""
    settings = {
        "APT::Architecture": arch.debian,
        "APT::Architectures::": arch.debian,
        "Dir::Etc": str(apt_dir / "etc"),
        "Dir::Etc::sourcelist": "/dev/null",
        "Dir::Etc::sourceparts": str(apt_dir / "etc" / "sources.list.d"),
        "Dir::Etc::preferences": "/dev/null",
        "Dir::Etc::preferencesparts": str(apt_dir / "etc" / "preferences.d"),
        "Dir::State": str(apt_dir / "state"),
        "Dir::State::status": str(apt_dir / "status"),
        "Dir::Cache": str(apt_dir / "cache"),
        "Debug::NoLocking": "1",
        # The lists are written by this process; apt's sandbox user may lack access to the cache.
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
    }
    options: list[str] = []
    for key, value in settings.items():
        options += ["-o", f"{key}={value}"]
    return options


def _write_apt_config(apt_dir: Path) -> None:
    if not DEBIAN_KEYRING.is_file():
        raise SetupUnavailable(f"{DEBIAN_KEYRING} is missing (package debian-archive-keyring)")
    for sub in ("etc/sources.list.d", "etc/preferences.d", "state/lists/partial"):
        (apt_dir / sub).mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "status").write_text("")  # nothing installed: apt downloads the whole closure
    (apt_dir / "etc" / "sources.list.d" / "debian.sources").write_text(
        f"Types: deb\nURIs: {DEBIAN_MIRROR}\nSuites: {SUITE} {SUITE}-updates\n"
        f"Components: main\nSigned-By: {DEBIAN_KEYRING}\n\n"
        f"Types: deb\nURIs: {DEBIAN_SECURITY}\nSuites: {SUITE}-security\n"
        f"Components: main\nSigned-By: {DEBIAN_KEYRING}\n"
    )


def _link_alternatives(arch: Arch, root: Path) -> None:
    """The BLAS/LAPACK links that update-alternatives would make (OpenBLAS first if unpacked)."""
    libdir = root / "usr" / "lib" / arch.triplet
    for name in ("libblas.so.3", "liblapack.so.3", "libopenblas.so.0"):
        link = libdir / name
        if link.exists() or link.is_symlink():
            continue
        for provider in ("openblas-pthread", "blas", "lapack"):
            if (libdir / provider / name).is_file():
                link.symlink_to(Path(provider) / name)
                break


def ensure_sysroot(
    arch: Arch, cache: Path, packages: tuple[str, ...]
) -> tuple[Path, dict[str, Any]]:
    """The unpacked ``packages`` (and their dependencies) under ``cache/sysroot``."""
    sysroot = cache / "sysroot"
    stamp = cache / "sysroot.json"
    if stamp.is_file() and (sysroot / "usr" / "bin" / f"python{GUEST_PYTHON}").is_file():
        info: dict[str, Any] = json.loads(stamp.read_text())
        if info.get("requested", list(packages)) == list(packages):
            return sysroot, info
    apt = tool("apt-get")
    dpkg_deb = tool("dpkg-deb")
    apt_dir = cache / "apt"
    _write_apt_config(apt_dir)
    options = _apt_options(arch, apt_dir)
    log(arch, f"downloading {', '.join(packages)} for {arch.debian} from {DEBIAN_MIRROR} ({SUITE})")
    run([apt, *options, "update", "-q"], what=f"apt-get update ({arch.debian} lists)")
    run(
        [apt, *options, "install", "-y", "-q", "--download-only", "--no-install-recommends",
         *packages],
        what=f"apt-get download of the {arch.debian} packages",
    )  # fmt: skip
    debs = sorted((apt_dir / "cache" / "archives").glob("*.deb"))
    if not debs:
        raise SetupUnavailable(f"apt downloaded no {arch.debian} packages")
    staging = Path(tempfile.mkdtemp(prefix="sysroot.", dir=cache))
    for deb in debs:
        run([dpkg_deb, "-x", str(deb), str(staging)], what=f"dpkg-deb -x {deb.name}")
    if not (staging / "usr" / "bin" / f"python{GUEST_PYTHON}").is_file():
        raise SetupUnavailable(f"the {arch.debian} packages hold no usr/bin/python{GUEST_PYTHON}")
    _link_alternatives(arch, staging)
    libc = [d.name for d in debs if d.name.startswith("libc6_")]
    match = re.match(r"libc6_(\d+)\.(\d+)", libc[0]) if libc else None
    info = {
        "requested": list(packages),
        "packages": [d.name for d in debs],
        "glibc": [int(match.group(1)), int(match.group(2))] if match else [2, 36],
    }
    if sysroot.exists():
        shutil.rmtree(sysroot)
    staging.rename(sysroot)
    stamp.write_text(json.dumps(info, indent=1))
    # The .debs are unpacked; keep the lists (small) but not the archives.
    for deb in debs:
        deb.unlink()
    return sysroot, info


def isolated_env(pythonpath: list[Path], **extra: str) -> dict[str, str]:
    """The environment a scoring interpreter (host or guest) runs in: only ``pythonpath`` on
    its path, no user site, fixed hashing, one OpenMP thread; ``extra`` adds to it."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        **extra,
    }
