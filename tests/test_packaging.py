"""The package installs cleanly and stays light to import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import REPO, modules_after

HEAVY = [
    "onnxruntime",
    "zeroconf",
    "bleak",
    "bumble",
    "sqlcipher3",
    "nacl",
    "sqlite_utils",
    "torch",
]


def test_import_edge_dan_stays_light() -> None:
    loaded = modules_after("import edge_dan")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)


def test_cli_help_does_not_load_the_heavy_layers() -> None:
    loaded = modules_after("import edge_dan.cli.main")
    assert not {m.split(".")[0] for m in loaded} & {"onnxruntime", "zeroconf", "bleak", "bumble"}


@pytest.mark.slow
def test_pip_install_in_a_fresh_venv(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "*.egg-info", "build", "__pycache__", ".*_cache"
        ),
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", str(source)], check=True, timeout=900)
    out = subprocess.run(
        [str(env_dir / "bin" / "edge-dan"), "--help"], capture_output=True, text=True, check=True
    )
    for command in ("init", "whoami", "profile", "passwd", "rekey", "export", "import"):
        assert command in out.stdout
    typed = env_dir / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert list(typed.glob("site-packages/edge_dan/py.typed"))
    # The core is the mobile profile: no native accelerator and no network library comes with
    # it (they are extras: [sqlcipher], [onnx], [full]); a new store is made on stdlib sqlite3.
    installed = subprocess.run(
        [*pip, "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    names = {line.split("==")[0].replace("_", "-") for line in installed.split()}
    assert {"numpy", "pynacl"} <= names
    assert not names & {"sqlcipher3", "onnxruntime", "tokenizers", "huggingface-hub", "httpx"}
    home = tmp_path / "home"
    made = subprocess.run(
        [str(env_dir / "bin" / "edge-dan"), "--home", str(home), "init", "--unlock-time", "0.05"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "EDGE_DAN_PASSPHRASE": "correct horse battery"},
        check=False,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run(
        [str(env_dir / "bin" / "edge-dan"), "--home", str(home), "check", "--json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "EDGE_DAN_PASSPHRASE": "correct horse battery"},
        check=False,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stderr
    assert '"engine": "sqlite"' in checked.stdout
