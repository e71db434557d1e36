"""The quick start's demo and the API-level household example run end to end.

The README's first command is ``bash examples/quickstart.sh``: it installs into ``.venv`` and
runs ``edge-dan demo``. Installing is not what is tested here (CI installs the same way); the
demo itself runs as the script runs it, on whatever network this machine allows (a private
network namespace with real mDNS where ``unshare`` works), and everything it must show is
checked on its ``--json`` object and its report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_checks import check_report, check_run

REPO = Path(__file__).resolve().parents[1]


def _private_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--net", "--map-root-user", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}


def test_the_quickstart_script_runs_the_demo() -> None:
    script = (REPO / "examples" / "quickstart.sh").read_text()
    commands = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert commands[-1] == '.venv/bin/edge-dan demo "$@"'
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.strip().splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("bash examples/quickstart.sh")


@pytest.mark.slow
def test_the_quickstart_demo_reaches_verified_accords_that_respect_everyone(
    tmp_path: Path,
) -> None:
    report = tmp_path / "edge-dan-demo.html"
    temporary = tmp_path / "tmp"  # where the demo's throwaway homes go
    temporary.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "demo", "--json", "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**_clean_env(), "PYTHONPATH": str(REPO), "TMPDIR": str(temporary)},
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    check_run(data, agents=3)
    assert data["network"] == ("namespace" if _private_network() else "loopback")
    check_report(report, data)
    assert list(temporary.iterdir()) == []  # the homes are removed at the end


@pytest.mark.slow
@pytest.mark.skipif(not _private_network(), reason="needs unshare --net for a private loopback")
def test_the_household_example_reaches_an_accord_that_respects_everyone() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "examples" / "household.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=_clean_env(),
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
