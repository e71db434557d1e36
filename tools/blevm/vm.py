"""Boot a throwaway QEMU VM with a Bluetooth stack (BlueZ on a bumble controller) and run a job.

Why a VM: bleak (our central on Linux) and our BlueZ peripheral only talk to BlueZ over D-Bus, and
BlueZ needs a kernel with Bluetooth. The CI machine's kernel has none, so we boot Debian's stock
kernel (``linux-image-amd64``, which ships ``hci_vhci`` as a module) under ``qemu-system-x86_64``.

The VM is as cheap as it gets: no disk image and no second userland. The guest's root filesystem is
the host's own ``/``, shared read-only over virtio-9p, so the guest runs the very Python, venv,
repository, ``dbus-daemon`` and ``bluetoothd`` installed on the host. A tiny initramfs (busybox
plus the handful of kernel modules needed for virtio-9p and ``hci_vhci``) mounts that share and
hands over to ``guest_init.sh``, which mounts tmpfs where the guest must write, starts D-Bus and
``bluetoothd`` and runs the job. A second 9p share (read-write, a fresh temporary directory) carries
the job in and its results out. The VM has no network device at all; its serial console is the
log. KVM is used when ``/dev/kvm`` opens, software emulation otherwise.

Cached under ``~/.cache/edge-dan-blevm`` (or ``$EDGE_DAN_BLEVM_CACHE``): the kernel image and the
initramfs, rebuilt when missing or when the installed kernel changes. Setup installs the Debian
packages it needs (``qemu-system-x86 linux-image-amd64 bluez dbus busybox-static``) when run as
root with apt and they are missing.

Usage: ``python tools/blevm/vm.py [--setup-only] [--timeout S] [-- COMMAND...]``; with no command
the guest runs ``tools/blevm/scenario.py`` with this interpreter. Exit status: the job's exit
status; 1 if the VM could not run the job; 77 if the VM cannot be set up here.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GUEST_INIT = HERE / "guest_init.sh"
SCENARIO = HERE / "scenario.py"
DEBIAN_PACKAGES = ("qemu-system-x86", "linux-image-amd64", "bluez", "dbus", "busybox-static")
SKIP = 77
# Loaded by the initramfs, in this order after dependency expansion: virtio-9p for the root
# share, hci_vhci so bumble can attach a controller to the kernel's Bluetooth stack.
GUEST_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "hci_vhci")
# The repository's code the guest imports (compiled before each boot: ``compile_sources``).
SOURCES = ("edge_dan", "tools/blevm", "tests/firmware")
INITRAMFS_FORMAT = 5  # bump when the initramfs layout below changes, so caches are rebuilt

INIT_SCRIPT = """#!/bin/busybox sh
# Stage 1 (initramfs): load modules, mount the host's / (read-only 9p), hand over to stage 2.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
for module in $(/bin/busybox cat /modules/order); do
  /bin/busybox insmod "/modules/$module" || echo "blevm: insmod $module failed"
done
# cache=loose: the share is read-only and the host does not change it during a run, so the
# guest may cache pages and metadata (imports got twice as fast).
options=trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose
if ! /bin/busybox mount -t 9p -o "$options" hostroot /newroot
then
  echo "blevm: cannot mount the host root share"; /bin/busybox poweroff -f
fi
/bin/busybox umount /proc
/bin/busybox umount /dev
exec /bin/busybox switch_root /newroot /bin/sh "$blevm_stage2"
"""


class VmUnavailable(Exception):
    """The VM cannot be set up on this machine (no root/apt, no kernel package...)."""


@dataclasses.dataclass(frozen=True)
class VmRun:
    """What came back from one boot."""

    exit_code: int  # the job's; -1 if the guest never reported one (crash, timeout)
    results: dict[str, Any]  # the job's ``result.json``, empty if it wrote none
    console: str  # the serial console: kernel messages, stage-2 and job output
    boot_seconds: float  # from starting QEMU to stage 2 saying it runs
    total_seconds: float
    accelerator: str


def cache_dir() -> Path:
    configured = os.environ.get("EDGE_DAN_BLEVM_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "edge-dan-blevm"


def _missing_packages() -> list[str]:
    missing = []
    for package in DEBIAN_PACKAGES:
        probe = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],  # noqa: S607 (system tool, by PATH)
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in probe.stdout:
            missing.append(package)
    return missing


def install_packages() -> None:
    """apt-get install what is missing (root only); raises ``VmUnavailable`` if it cannot."""
    if shutil.which("dpkg-query") is None:
        raise VmUnavailable("not a Debian system: dpkg-query is missing")
    missing = _missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise VmUnavailable(f"missing Debian packages {missing}; install them as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise VmUnavailable(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def installed_kernel() -> tuple[str, Path]:
    """The newest Debian amd64 kernel with modules installed: (release, vmlinuz path)."""
    candidates = []
    for modules in Path("/lib/modules").glob("*-amd64"):
        vmlinuz = Path("/boot") / f"vmlinuz-{modules.name}"
        if vmlinuz.is_file() and (modules / "modules.dep").is_file():
            candidates.append((modules.stat().st_mtime, modules.name, vmlinuz))
    if not candidates:
        raise VmUnavailable("no Debian amd64 kernel installed (apt-get install linux-image-amd64)")
    _, release, vmlinuz = max(candidates)
    return release, vmlinuz


def _module_files(release: str) -> list[Path]:
    """The .ko files for ``GUEST_MODULES`` and their dependencies, in load order, no repeats."""
    ordered: list[Path] = []
    for module in GUEST_MODULES:
        shown = subprocess.run(
            ["modprobe", "-S", release, "--show-depends", module],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            raise VmUnavailable(f"kernel {release} has no module {module}: {shown.stderr.strip()}")
        for line in shown.stdout.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "insmod" and Path(words[1]) not in ordered:
                ordered.append(Path(words[1]))
    return ordered


def _cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (name, mode, data) entries; directories have empty data."""
    out = bytearray()
    for inode, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += b"070701" + b"".join(b"%08X" % field for field in fields) + encoded
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def build_initramfs(release: str, target: Path) -> None:
    """Write the stage-1 initramfs: busybox, the modules and ``/init``."""
    busybox = Path("/bin/busybox")
    if not busybox.is_file():
        raise VmUnavailable("busybox is missing (apt-get install busybox-static)")
    modules = _module_files(release)
    entries: list[tuple[str, int, bytes]] = [
        ("bin", 0o40755, b""),
        ("modules", 0o40755, b""),
        ("bin/busybox", 0o100755, busybox.read_bytes()),
        ("init", 0o100755, INIT_SCRIPT.encode()),
        ("modules/order", 0o100644, "".join(f"{m.name}\n" for m in modules).encode()),
    ]
    entries += [(f"modules/{m.name}", 0o100644, m.read_bytes()) for m in modules]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(gzip.compress(_cpio_newc(entries), compresslevel=6))
    partial.replace(target)


def setup(install: bool = True) -> tuple[Path, Path]:
    """Make sure packages, kernel and initramfs are there; returns (kernel, initramfs)."""
    if install:
        install_packages()
    if shutil.which("qemu-system-x86_64") is None:
        raise VmUnavailable("qemu-system-x86_64 is missing (apt-get install qemu-system-x86)")
    release, vmlinuz = installed_kernel()
    cache = cache_dir() / release
    kernel = cache / "vmlinuz"
    initramfs = cache / f"initramfs-v{INITRAMFS_FORMAT}.cpio.gz"
    if not kernel.is_file() or kernel.stat().st_size != vmlinuz.stat().st_size:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(vmlinuz, kernel)
    if not initramfs.is_file():
        build_initramfs(release, initramfs)
    return kernel, initramfs


def compile_sources() -> None:
    """Byte-compile the repository's code the guest imports, here, before the boot.

    The guest sees the repository read-only, so whatever has no ``__pycache__`` on the host
    (e.g. a checkout used with ``PYTHONDONTWRITEBYTECODE``) is compiled again by every process
    in the guest, at emulation speed: each ``edge-dan`` command there started twice as slowly.
    Up-to-date files are skipped; ``__pycache__`` is ignored by git.
    """
    for folder in SOURCES:
        compileall.compile_dir(REPO / folder, quiet=1)


def kvm_usable() -> bool:
    """KVM only on request (``EDGE_DAN_BLEVM_ACCEL=kvm``): on the CI machine /dev/kvm opens, yet
    a guest under it hangs before its first console line (nested virtualisation), so the
    default is software emulation, which boots this kernel in seconds anyway."""
    if os.environ.get("EDGE_DAN_BLEVM_ACCEL", "tcg") != "kvm":
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def run_job(
    command: list[str],
    *,
    timeout: float = 300.0,
    env: dict[str, str] | None = None,
    console_log: Path | None = None,
    install: bool = True,
    bluetoothd_debug: bool = False,
) -> VmRun:
    """Boot the VM, run ``command`` inside (cwd: the repository), power off, collect results.

    The job finds a writable directory in ``$BLEVM_OUT`` (also the place for ``result.json``;
    ``bluetoothd.log`` is there too). ``env`` adds environment variables for the job;
    ``bluetoothd_debug`` starts bluetoothd with ``--debug``.
    """
    kernel, initramfs = setup(install=install)
    compile_sources()
    accelerator = "kvm" if kvm_usable() else "tcg"
    with tempfile.TemporaryDirectory(prefix="blevm-") as shared_text:
        shared = Path(shared_text)
        exports = "".join(
            f"export {name}={shlex.quote(value)}\n" for name, value in (env or {}).items()
        )
        if bluetoothd_debug:
            (shared / "bluetoothd-debug").touch()
        (shared / "job.sh").write_text(
            f"cd {shlex.quote(str(REPO))}\nexport BLEVM_OUT=/run/blevm\n{exports}"
            f"exec {shlex.join(command)}\n"
        )
        qemu = [
            "qemu-system-x86_64",
            "-machine",
            f"q35,accel={accelerator}",
            "-cpu",
            "host" if accelerator == "kvm" else "max",
            "-m",
            "1024",
            "-smp",
            "2",
            "-nodefaults",
            "-no-reboot",
            "-display",
            "none",
            "-nic",
            "none",  # no network device at all: nothing in the guest can send a packet out
            "-serial",
            "stdio",
            "-kernel",
            str(kernel),
            "-initrd",
            str(initramfs),
            "-append",
            f"console=ttyS0 panic=-1 edd=off loglevel=4 blevm_stage2={GUEST_INIT}",
            "-virtfs",
            "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs",
            f"local,path={shared},mount_tag=out,security_model=none",
        ]
        started = time.monotonic()
        boot_seconds = -1.0
        lines: list[str] = []
        with subprocess.Popen(
            qemu,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            watchdog = _start_watchdog(process, started + timeout)
            try:
                for line in process.stdout:
                    lines.append(line)
                    if boot_seconds < 0 and "blevm: stage 2 running" in line:
                        boot_seconds = time.monotonic() - started
                    if console_log is not None:
                        with console_log.open("a") as log:
                            log.write(line)
                process.wait()
            finally:
                if process.poll() is None:
                    process.kill()
            if watchdog.is_set():
                lines.append(f"blevm: VM killed after the {timeout:.0f} s timeout\n")
        rc_file = shared / "rc"
        rc_text = rc_file.read_text().strip() if rc_file.is_file() else ""
        result_file = shared / "result.json"
        results: dict[str, Any] = {}
        if result_file.is_file():
            try:
                results = json.loads(result_file.read_text())
            except ValueError:
                results = {"error": "result.json is not valid JSON"}
        return VmRun(
            exit_code=int(rc_text) if rc_text.lstrip("-").isdigit() else -1,
            results=results,
            console="".join(lines),
            boot_seconds=boot_seconds,
            total_seconds=time.monotonic() - started,
            accelerator=accelerator,
        )


def _start_watchdog(process: subprocess.Popen[str], deadline: float) -> threading.Event:
    """Kill QEMU at the deadline (a hung guest must not hang CI); the event says it did."""
    fired = threading.Event()

    def watch() -> None:
        while process.poll() is None:
            if time.monotonic() > deadline:
                fired.set()
                process.kill()
                return
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    return fired


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--setup-only", action="store_true", help="install and build, no boot")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole boot")
    parser.add_argument("--console-log", type=Path, help="append the serial console here")
    parser.add_argument("--bluetoothd-debug", action="store_true", help="bluetoothd --debug")
    parser.add_argument("command", nargs="*", help="the job (default: the BLE scenario)")
    args = parser.parse_args(argv)
    try:
        if args.setup_only:
            setup()
            return 0
        command = args.command or [sys.executable, str(SCENARIO)]
        run = run_job(
            command,
            timeout=args.timeout,
            console_log=args.console_log,
            bluetoothd_debug=args.bluetoothd_debug,
        )
    except VmUnavailable as error:
        print(f"blevm: cannot set up the VM: {error}", file=sys.stderr)
        return SKIP
    if args.console_log is None:
        sys.stdout.write(run.console)
    print(
        f"blevm: accelerator {run.accelerator}, boot {run.boot_seconds:.1f} s, "
        f"total {run.total_seconds:.1f} s, job exit code {run.exit_code}"
    )
    print("blevm: results " + json.dumps(run.results, indent=2, sort_keys=True))
    return run.exit_code if run.exit_code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
