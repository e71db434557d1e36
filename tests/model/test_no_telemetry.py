"""Loading and running the value model leaves no trace of onnxruntime's usage telemetry.

onnxruntime's official Linux wheels (1.32) ship Microsoft 1DS telemetry that, on import, writes a
device id under ``~/.cache/Microsoft`` and a ``.ses`` file in the temporary directory and queues
events for upload. The model loader turns it off; this runs the loader in a fresh process (the
opt-out only works before the first import) with a private home and temporary directory and
looks for anything written there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from modelkit import REPO, need_runtime

SCRIPT = """
from edge_dan.model import ValueModel
model = ValueModel.load()
print(len(model.embed(["Help my neighbour carry the shopping"])[0]))
"""


def _run(tmp_path: Path, **extra: str) -> tuple[Path, Path]:
    home, temporary = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
    env.update(HOME=str(home), TMPDIR=str(temporary), PYTHONPATH=str(REPO), **extra)
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) > 0
    return home, temporary


def _written(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_the_model_runs_without_writing_telemetry_state(tmp_path: Path) -> None:
    need_runtime()
    home, temporary = _run(tmp_path)
    assert _written(temporary) == []
    assert _written(home) == []


def test_an_owner_who_opts_in_is_obeyed(tmp_path: Path) -> None:
    """The opposite case shows the check above can see telemetry state when there is some.

    Whether the 1DS library writes anything depends on the machine as well as the wheel: on the
    project's CI host the opted-in run wrote nothing, so there the control cannot be shown and is
    skipped (the check above still runs everywhere)."""
    need_runtime()
    home, temporary = _run(tmp_path, ORT_DISABLE_TELEMETRY="0")
    written = _written(temporary) + _written(home)
    if not written:
        pytest.skip("onnxruntime wrote no telemetry state here even when allowed to")
    assert any(".ses" in name or "Microsoft" in name for name in written), written
