"""The mobile profile on armv7: Debian armhf CPython under qemu-arm, numpy runtime, no natives.

Runs ``tools/foreign/armv7_check.py`` once for the module: Debian bookworm's armhf CPython 3.11
with Debian's armhf numpy (OpenBLAS), PyNaCl and cffi, the pure-Python dependencies, and neither
onnxruntime, tokenizers nor sqlcipher3, emulated as a Cortex-A7. It scores the texts of
``tools/aarch64/score_texts.py`` there and on this machine with both runtimes, and runs
``tools/foreign/guest_scenario.py`` in the guest. The first run sets up a cache (about a minute,
needs root and apt for qemu, plus network to Debian and PyPI); a run takes a few minutes of
emulation. Skipped when the guest cannot be set up, unless ``EDGE_DAN_ARMV7_REQUIRED=1`` (CI).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_dan.model import TIERS

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tools" / "foreign" / "armv7_check.py"
SKIP = 77
# Against the host's numpy runtime the arithmetic is the same float32 graph; only the BLAS
# kernels' summation order differs (OpenBLAS for ARMv7 VFP/NEON against x86 AVX), a few 1e-7
# on embeddings. Issue #16's 1e-3 holds with room, and no decision may differ.
SAME_RUNTIME_TOLERANCE = 1e-3
# Against onnxruntime on the host, the int8 tier differs by what onnxruntime's accuracy_level 4
# does and the numpy runtime does not: activations rounded to int8 before each weight product
# (bench/RESULTS.md, "The value model without onnxruntime or tokenizers": effects and harm up to
# 0.107 and 0.0995 over 2,454 options, 8 harm decisions of 2,454 on the threshold). That is a
# property of the runtimes, not of armv7: bounded here by those measured figures.
CROSS_RUNTIME_TOLERANCE = {"scores": 0.05, "judgements": 0.11}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("armv7") / "report.json"
    proc = subprocess.run(
        [sys.executable, str(CHECK), "--report", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode == SKIP:
        reason = proc.stderr.strip()[-800:] or "no reason given"
        pytest.skip(f"armhf CPython under qemu-arm cannot be set up here: {reason}")
    assert out.is_file(), f"armv7_check.py wrote no report (exit {proc.returncode}):\n{proc.stderr}"
    result: dict[str, Any] = json.loads(out.read_text())
    result["stdout"] = proc.stdout
    assert not result["errors"], "\n".join(result["errors"])
    return result


def test_guest_is_armv7_without_native_accelerators(report: dict[str, Any]) -> None:
    guest = report["guest"]
    assert guest["machine"] == "armv7l"
    assert guest["python"].startswith("3.11.")
    assert guest["versions"]["onnxruntime"] == "missing"
    assert guest["versions"]["tokenizers"] == "missing"
    assert report["scenario"]["native_importable"] == {
        "sqlcipher3": False,
        "onnxruntime": False,
        "tokenizers": False,
    }


def test_auto_picks_the_numpy_runtime_by_itself(report: dict[str, Any]) -> None:
    # The guest asked for runtime="auto"; the host's first run too, with onnxruntime installed.
    assert report["guest"]["runtimes"]["minilm-int8"] == "numpy"
    assert report["scenario"]["model"]["runtime"] == "numpy"
    assert report["host_numpy"]["runtimes"]["minilm-int8"] == "numpy"


@pytest.mark.parametrize("tier", TIERS)
def test_same_scores_and_decisions_as_the_host_numpy_runtime(
    report: dict[str, Any], tier: str
) -> None:
    result = report["vs_host_numpy"][tier]
    if "skipped" in result:
        pytest.skip(f"tier {tier} does not load on the host: {result['skipped']}")
    assert "error" not in result, result["error"]
    assert result["max_abs_diff"] <= SAME_RUNTIME_TOLERANCE, report["stdout"]
    for key in ("max_abs_diff_effects", "max_abs_diff_harm"):
        assert result.get(key, 0.0) <= SAME_RUNTIME_TOLERANCE, f"{tier}: {key}"
    assert result["detect_flips"] == 0, f"{tier}: category decisions differ"
    assert result.get("harm_flips", 0) == 0, f"{tier}: harm decisions (refusals) differ"


@pytest.mark.parametrize("tier", TIERS)
def test_close_to_the_host_onnxruntime(report: dict[str, Any], tier: str) -> None:
    result = report["vs_host_onnxruntime"][tier]
    if "skipped" in result:
        pytest.skip(f"tier {tier} does not load on the host: {result['skipped']}")
    assert "error" not in result, result["error"]
    runtime = report["host"]["runtimes"][tier]
    scores, judgements = (
        (SAME_RUNTIME_TOLERANCE, SAME_RUNTIME_TOLERANCE)
        if runtime == "numpy"  # the tiny tier, or a host without onnxruntime: the same runtime
        else (CROSS_RUNTIME_TOLERANCE["scores"], CROSS_RUNTIME_TOLERANCE["judgements"])
    )
    assert result["max_abs_diff"] <= scores, report["stdout"]
    for key in ("max_abs_diff_effects", "max_abs_diff_harm"):
        assert result.get(key, 0.0) <= judgements, f"{tier}: {key}\n{report['stdout']}"


def test_store_pairing_and_negotiation_in_the_guest(report: dict[str, Any]) -> None:
    scenario = report["scenario"]
    if not scenario["store"]["opened"]:
        pytest.skip(f"armv7 scenario stopped before the agents: {scenario['store']['reason']}")
    assert scenario["store"]["engine"] == "sqlite", scenario  # the sealed stdlib engine
    assert scenario["pairing"]["codes_match"], scenario
    negotiation = scenario["negotiation"]
    assert negotiation["agreed"] and negotiation["verified"], scenario
    assert negotiation["outcome"].startswith("agreed: accord"), scenario
