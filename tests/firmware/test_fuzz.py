"""Fuzzing in the test run: the C library against the Python side on seeded random inputs, and a
short smoke run of the libFuzzer targets (CI runs them longer: ``make -C firmware_bridge fuzz``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from edge_dan_bridge.differential import CLibrary, run
from firmware_helpers import BRIDGE, make, require


def test_c_and_python_agree_on_random_inputs(c_build_dir: Path) -> None:
    require("make", "gcc")
    built = make(c_build_dir, "diff-lib")
    assert built.returncode == 0, built.stdout + built.stderr
    library = CLibrary(c_build_dir / "libedb_diff.so")
    mismatches = run(library, seed=2026, cases=20000)
    assert mismatches == [], mismatches[:3]


def test_the_differential_fuzz_notices_a_difference(c_build_dir: Path) -> None:
    """If the C side used another frame limit, the comparison would say so."""
    require("make", "gcc")
    assert make(c_build_dir, "diff-lib").returncode == 0
    library = CLibrary(c_build_dir / "libedb_diff.so")
    honest = library.deframe
    library.deframe = lambda stream, max_payload: honest(stream, max_payload + 1)  # type: ignore[method-assign]
    assert any(m.kind == "frames" for m in run(library, seed=2026, cases=5000))


def test_libfuzzer_targets_run_clean_for_a_few_seconds(c_build_dir: Path) -> None:
    require("make", "clang")
    built = make(c_build_dir, "fuzz-build")
    if built.returncode != 0 and "fuzzer" in built.stderr:
        pytest.skip("clang's libFuzzer runtime is missing (apt-get install libclang-rt-14-dev)")
    assert built.returncode == 0, built.stdout + built.stderr
    result = subprocess.run(
        [
            sys.executable,
            str(BRIDGE / "tools" / "fuzz.py"),
            "--build",
            str(c_build_dir),
            "--seconds",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for target in json.loads(result.stdout):
        assert not target["crashed"] and target["runs"] > 1000, target
