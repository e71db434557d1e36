"""Host-side checks of the blevm pieces that need no VM (run in the default suite, in seconds)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "blevm"))
import vm


def test_initramfs_archive_reads_back_with_busybox_cpio(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed (the VM setup installs busybox-static)")
    archive = vm._cpio_newc(
        [
            ("bin", 0o40755, b""),
            ("bin/tool", 0o100755, b"#!/bin/sh\necho odd-length\n"),
            ("init", 0o100755, b"x"),
        ]
    )
    (tmp_path / "test.cpio").write_bytes(archive)
    done = subprocess.run(
        [busybox, "cpio", "-i", "-d", "-F", str(tmp_path / "test.cpio")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bin" / "tool").read_bytes() == b"#!/bin/sh\necho odd-length\n"
    assert (tmp_path / "init").read_bytes() == b"x"
    assert (tmp_path / "bin" / "tool").stat().st_mode & 0o777 == 0o755
