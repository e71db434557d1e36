"""The C library: strict builds under three compilers, cppcheck, the shared vectors on the host
(ASan + UBSan) and on Cortex-M0 and Cortex-M4 under QEMU, and the size and stack limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from firmware_helpers import BRIDGE, make, require

VECTOR_LINE = "0 failures"


def run_make(build_dir: Path, target: str) -> str:
    result = make(build_dir, target)
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_library_builds_strict_under_gcc_and_arm_gcc(c_build_dir: Path) -> None:
    require("make", "gcc", "arm-none-eabi-gcc")
    run_make(c_build_dir, "lib-gcc")
    assert (c_build_dir / "cortex-m0plus_edb_msg.o").exists()


def test_library_builds_strict_under_clang(c_build_dir: Path) -> None:
    require("make", "clang")
    run_make(c_build_dir, "lib-clang")


def test_cppcheck_is_clean(c_build_dir: Path) -> None:
    require("make", "cppcheck")
    run_make(c_build_dir, "cppcheck")


def test_vectors_pass_on_the_host_under_asan_and_ubsan(c_build_dir: Path) -> None:
    require("make", "gcc")
    out = run_make(c_build_dir, "test-host")
    assert VECTOR_LINE in out and "message vectors" in out


def test_vectors_pass_on_cortex_m0_under_qemu(c_build_dir: Path) -> None:
    require("make", "arm-none-eabi-gcc", "qemu-system-arm")
    out = run_make(c_build_dir, "test-qemu-m0")
    assert VECTOR_LINE in out


def test_vectors_pass_on_cortex_m4_under_qemu(c_build_dir: Path) -> None:
    require("make", "arm-none-eabi-gcc", "qemu-system-arm")
    out = run_make(c_build_dir, "test-qemu-m4")
    assert VECTOR_LINE in out


def test_a_failing_vector_fails_the_qemu_run(tmp_path: Path) -> None:
    """The exit status crosses semihosting: one corrupted vector makes the QEMU run fail."""
    require("make", "arm-none-eabi-gcc", "qemu-system-arm")
    vectors = tmp_path / "vectors"
    vectors.mkdir()
    document = json.loads((BRIDGE / "vectors" / "messages.json").read_text(encoding="utf-8"))
    document["invalid"][0]["error"] = "schema"  # the C decoder says malformed
    (vectors / "messages.json").write_text(json.dumps(document), encoding="utf-8")
    (vectors / "frames.json").write_text(
        (BRIDGE / "vectors" / "frames.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    build = tmp_path / "build"
    build.mkdir()
    generated = subprocess.run(
        [
            sys.executable,
            str(BRIDGE / "tools" / "gen_c_vectors.py"),
            str(vectors),
            str(build / "vectors.h"),
        ],
        check=False,
    )
    assert generated.returncode == 0
    result = make(build, "-o", str(build / "vectors.h"), "test-qemu-m4")
    assert result.returncode != 0
    assert "1 failures" in result.stdout


def test_measurements_meet_the_limits() -> None:
    """No heap, no .data/.bss, <= 3 KB of code on Cortex-M0+, <= 256 bytes of stack a function."""
    require("gcc", "arm-none-eabi-gcc")
    result = subprocess.run(
        [sys.executable, str(BRIDGE / "tools" / "measure.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    numbers = json.loads(result.stdout)
    for target in ("cortex-m0plus", "cortex-m4", "host"):
        assert numbers[target]["heap_symbols"] == []
        assert not {"malloc", "free"} & set(numbers[target]["undefined"])
        assert numbers[target]["data_bytes"] == 0 and numbers[target]["bss_bytes"] == 0
        assert numbers[target]["max_stack_bytes"] <= 256
    assert numbers["cortex-m0plus"]["code_bytes"] <= 3072
