"""The household demo (quick start step 1) runs end to end: three agents, one signed accord."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _private_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--net", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _private_network(), reason="needs unshare --net for a private loopback")
def test_the_household_demo_reaches_an_accord_that_respects_everyone() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    run = subprocess.run(
        [sys.executable, str(REPO / "examples" / "household.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["agreement"] is True
    assert set(result["outcome"]) == {"activity", "budget", "start"}
    assert all(u >= 0.35 for u in result["utilities"].values()), result["utilities"]
    assert result["outcome"]["budget"] != "50 EUR"  # Ana's red line
    assert result["outcome"]["start"] != "10:00"  # Ben's
    assert "pub" not in result["outcome"]["activity"]  # Caro's
    assert result["stored"] == {"Ana": 1, "Ben": 1, "Caro": 1}
    assert result["np_ratio"] >= 0.85
