"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netns import Lab, NetnsUnavailable

# Tests that import onnxruntime themselves (as the reference) would otherwise switch on its usage
# telemetry before edge_dan can (edge_dan/model/encoder.py); tests/model/test_no_telemetry.py
# clears this for the process it checks.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from edge_dan.owner import Owner
from edge_dan.store import KdfParams, Store
from edge_dan.store.engines import BACKEND_ENV, BACKENDS, SQLCIPHER, sqlcipher_available

REPO = Path(__file__).resolve().parents[1]
# Vendored data, each folder with its PROVENANCE.md: the tests read nothing outside the checkout.
DATA = REPO / "tests" / "data"
DOMAINS = DATA / "negotiation" / "domains"  # GENIUS XML domains (tests/data/negotiation/)
NOISE_VECTORS = DATA / "noise"  # cacophony and snow Noise test vectors
TOUCHE = REPO / "models" / "data" / "touche23"  # Touché23-ValueEval training and validation
# Cheap Argon2id for tests that are not about the cost itself (calibrated cost is tested apart).
FAST_KDF = KdfParams(1, 8 * 1024 * 1024, b"\0" * 16)


def modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement`` (an import, usually):
    how a test holds an import to staying light."""
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(json.loads(out.stdout))


@pytest.fixture
def fast_kdf() -> KdfParams:
    return FAST_KDF.with_new_salt()


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """Hosts in network namespaces on one bridge (``tests/discovery/netns.py``): two, or as many
    as ``@pytest.mark.parametrize("lab", [3], indirect=True)`` asks; skipped where namespaces
    cannot be made (not root, no iproute2)."""
    try:
        with Lab(getattr(request, "param", 2)) as built:
            yield built
    except NetnsUnavailable as why:
        pytest.skip(str(why))


@pytest.fixture
def store(tmp_path: Path, fast_kdf: KdfParams) -> Iterator[Store]:
    """A bare store (the engine alone: no tables but its own)."""
    with Store.create(tmp_path / "home", "correct horse", kdf=fast_kdf) as opened:
        yield opened


@pytest.fixture
def owner(store: Store) -> Owner:
    """The owner's data on ``store`` (closed with it)."""
    return Owner(store)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs ``edge-dan`` in a child process, as a person would."""

    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, input: str | None = None, **env: str) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "edge_dan.cli.main", "--home", str(self.home), *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=120,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    env["EDGE_DAN_PASSPHRASE"] = "correct horse battery"
    env["PYTHONPATH"] = str(REPO)
    return Cli(tmp_path / "home", env)


@pytest.fixture(scope="session")
def c_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build directory for the whole session, so each firmware artifact is built once."""
    return tmp_path_factory.mktemp("firmware_build")


# ----- the store's two engines (issue #16) -------------------------------------------------------
# Every test under tests/store runs on both engines (edge_dan.store.engines) where both are
# installed, chosen through $EDGE_DAN_STORE_BACKEND so that the child processes of the crash and
# concurrency tests (crash_writer.py) make and open their stores on the same one. Tests of parts
# that hold no database run once.
_ENGINE_FREE = {"test_keyfile", "test_files", "test_sealed_store"}  # the last names its engine


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = metafunc.definition.path
    if path.parent.name != "store" or path.stem in _ENGINE_FREE:
        return
    present = [b for b in BACKENDS if b != SQLCIPHER or sqlcipher_available()]
    metafunc.parametrize("store_backend", present, indirect=True)


@pytest.fixture(autouse=True)
def store_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The engine this test's stores are made on (``None``: the default one)."""
    name: str | None = getattr(request, "param", None)
    if name is not None:
        monkeypatch.setenv(BACKEND_ENV, name)
    return name
