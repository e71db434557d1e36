"""Whatever is typed, edge-dan answers with a result or a clear error, never with exit 70.

Exit 70 means a bug (an exception nothing mapped); bad input must be mapped to its own error. The
commands run as real processes on a real store, with arguments and passphrases drawn from text
that breaks naive parsing: other scripts' digits, huge and negative numbers, separators, bytes
that are not UTF-8, empty strings. Commands that would load the value model or listen on the
network are left to their own tests (they check their numbers before either happens).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BUG = 70
FAST_INIT = ("init", "--unlock-time", "0.05")
KNOWN_CODES = {0, 1, 2, 3, 4}

# {t}: any text; {n}: something number-like.
TEMPLATES: list[tuple[str, ...]] = [
    ("profile", "set", "{t}={n}"),
    ("profile", "set", "power={n}", "--note", "{t}"),
    ("profile", "history", "--limit", "{n}"),
    ("profile", "history", "--limit={n}", "--home", "{t}"),
    ("feedback", "--undo", "{n}"),
    ("feedback", "--undo={n}", "--home", "{t}"),
    ("contest", "--withdraw", "{n}"),
    ("init", "--unlock-time={n}"),
    ("passwd", "--unlock-time={n}"),
    ("whoami", "--home", "{t}"),
    ("check", "--home={t}"),
    ("keyring", "{t}"),
    ("profile", "{t}"),
]

_NUMBERISH = st.one_of(
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２３_.+-eEnaifINF x", max_size=25),
    st.integers().map(str),
    st.floats().map(str),
)
# Any text a process can receive in argv or the environment (no NUL), including the lone
# surrogates that bytes which are not UTF-8 become.
_TEXT = st.one_of(
    st.text(st.characters(blacklist_characters="\x00"), max_size=30),
    st.binary(max_size=30).map(lambda b: b.replace(b"\0", b"").decode("utf-8", "surrogateescape")),
    _NUMBERISH,
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for every example (the examples may change it: that is allowed)."""
    base = tmp_path_factory.mktemp("fuzz")
    env = _env(base)
    done = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "--home", str(base / "home"), *FAST_INIT],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return base / "home"


def _env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    return {
        **env,
        "PYTHONPATH": str(REPO),
        "EDGE_DAN_PASSPHRASE": "correct horse battery",
        "PYTHONIOENCODING": "utf-8:strict",  # an ordinary UTF-8 locale, not the C locale's leniency
        "XDG_DATA_HOME": str(base / "default-home"),
    }


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    template=st.sampled_from(TEMPLATES),
    text=_TEXT,
    number=_NUMBERISH,
    passphrase=st.one_of(st.just("correct horse battery"), _TEXT),
)
def test_no_input_makes_edge_dan_report_a_bug(
    home: Path,
    tmp_path: Path,
    *,
    template: tuple[str, ...],
    text: str,
    number: str,
    passphrase: str,
) -> None:
    args = [word.replace("{t}", text).replace("{n}", number) for word in template]
    env = _env(home.parent)
    env["EDGE_DAN_PASSPHRASE"] = passphrase
    env["EDGE_DAN_NEW_PASSPHRASE"] = "correct horse battery"  # passwd keeps the store usable
    proc = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args],
        env=env,
        cwd=tmp_path,  # a relative --home lands here, never in the checkout
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    err = proc.stderr.decode("utf-8", "backslashreplace")
    assert proc.returncode != BUG, (args, err)
    assert proc.returncode in KNOWN_CODES, (args, proc.returncode, err)
    assert "Traceback" not in err, (args, err)
