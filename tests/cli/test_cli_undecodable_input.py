"""Bytes that are not UTF-8, wherever a person can type or pass them: the environment, the
terminal, a pipe. Each once crashed with exit 70; now a passphrase that is not text is refused by
name (exit 2) before anything is created or changed, and an answer that is not text is asked again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

pexpect = pytest.importorskip("pexpect")

FAST = ("--unlock-time", "0.05")
NOT_UTF8 = "\udcff\udcfe"  # what os.environ holds for the bytes ff fe (surrogateescape)
# Python reads stdin and the terminal strictly under an ordinary UTF-8 locale (en_US.UTF-8);
# the test machine's C locale would hide the problem by decoding with surrogateescape.
STRICT = {"PYTHONIOENCODING": "utf-8:strict"}


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", *FAST).code == 0
    return cli


def _one_line(err: str, needle: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_a_non_utf8_passphrase_for_init_creates_nothing(cli: Cli) -> None:
    result = cli("init", *FAST, EDGE_DAN_PASSPHRASE=NOT_UTF8)
    assert result.code == 2
    _one_line(result.err, "$EDGE_DAN_PASSPHRASE is not valid UTF-8")
    assert not (cli.home / "keyfile.json").exists()


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (("profile", "show"), "EDGE_DAN_PASSPHRASE"),
        (("passwd", *FAST), "EDGE_DAN_NEW_PASSPHRASE"),
        (("export", "BACKUP", *FAST), "EDGE_DAN_BACKUP_PASSPHRASE"),
    ],
)
def test_a_non_utf8_passphrase_in_the_environment_is_refused_by_name(
    ready: Cli, tmp_path: Path, command: tuple[str, ...], variable: str
) -> None:
    backup = tmp_path / "backup.edb"
    args = [str(backup) if word == "BACKUP" else word for word in command]
    keyfile = (ready.home / "keyfile.json").read_bytes()
    result = ready(*args, **{variable: NOT_UTF8})
    assert result.code == 2
    _one_line(result.err, f"${variable} is not valid UTF-8")
    assert (ready.home / "keyfile.json").read_bytes() == keyfile  # passwd changed nothing
    assert not backup.exists()
    assert ready("whoami").code == 0  # the old passphrase still opens the store


def _spawn(cli: Cli, *args: str) -> Any:
    """The CLI on a real terminal, in bytes (to type what is not UTF-8), with no passphrase in
    its environment so it asks."""
    env = {k: v for k, v in cli.env.items() if k != "EDGE_DAN_PASSPHRASE"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "edge_dan.cli.main", "--home", str(cli.home), *args],
        env={**env, **STRICT},
        timeout=60,
    )


def _ended(child: Any) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before.decode("utf-8", "replace")


def test_a_non_utf8_passphrase_typed_at_the_terminal_is_refused(ready: Cli) -> None:
    child = _spawn(ready, "profile", "show")
    child.expect(b"Passphrase: ")
    child.send(b"\xff\xfe\r")
    code, out = _ended(child)
    assert code == 2, out
    _one_line(out.strip(), "not valid text")


def test_a_non_utf8_new_passphrase_typed_for_init_creates_nothing(cli: Cli) -> None:
    child = _spawn(cli, "init", *FAST)
    child.expect(b"New passphrase: ")
    child.send(b"caf\xe9 au lait\r")  # Latin-1, not UTF-8
    code, out = _ended(child)
    assert code == 2 and "not valid text" in out, out
    assert not (cli.home / "keyfile.json").exists()


def test_end_of_input_at_the_passphrase_prompt_is_no_passphrase(ready: Cli) -> None:
    child = _spawn(ready, "profile", "show")
    child.expect(b"Passphrase: ")
    child.sendeof()
    code, out = _ended(child)
    assert code == 1 and "no passphrase was typed" in out, out


def test_quiz_asks_again_after_an_answer_that_is_not_an_ascii_digit(ready: Cli) -> None:
    before = ready("profile", "history", "--json").out
    child = _spawn(ready, "profile", "quiz")
    child.expect(b"> ")
    for wrong in ("٣".encode(), "３".encode(), b"\xff"):
        child.send(wrong + b"\r")
        child.expect(b"number from 1 to 6")
        child.expect(b"> ")
    child.sendeof()  # Ctrl-D: stop, like q
    code, out = _ended(child)
    assert code == 2 and "nothing was saved" in out, out
    assert ready("profile", "history", "--json").out == before


def test_feedback_ask_takes_a_non_utf8_reply_as_no_answer(ready: Cli) -> None:
    command = ["feedback", "--ask", "walk the dog", "read a book", "--rounds", "1"]
    proc = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "--home", str(ready.home), *command],
        input=b"\xff\n1\n",
        capture_output=True,
        env={**ready.env, **STRICT},
        timeout=120,
        check=False,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "please answer 1, 2, s or q" in out and "Kept 1 answer" in out


def _run_bytes(cli: Cli, *args: str, **env: str) -> tuple[int, bytes, str]:
    """The CLI with its output kept as bytes (it may hold a path that is not UTF-8)."""
    proc = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", *args],
        capture_output=True,
        env={**cli.env, **STRICT, **env},
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize(
    "command",
    [
        ("contest", "X"),
        ("profile", "set", "X=0.5"),
        ("profile", "set", "power=0.9", "--note", "X"),
        ("feedback", "--prefer", "X", "--over", "walk the dog"),
        ("score", "X", "walk the dog"),
        ("model", "info", "--tier", "X"),
    ],
)
def test_text_arguments_that_are_not_utf8_are_refused_without_repeating_them(
    ready: Cli, command: tuple[str, ...]
) -> None:
    before = ready("profile", "history", "--json").out
    args = [word.replace("X", "caf\udce9") for word in command]
    code, _, err = _run_bytes(ready, "--home", str(ready.home), *args)
    assert code == 2, err
    _one_line(err, "not valid UTF-8 text")
    assert "caf" not in err  # option texts and notes stay off stderr
    assert ready("profile", "history", "--json").out == before


def test_a_home_path_that_is_not_utf8_is_used_as_given(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "caf\udce9"  # a file name in Latin-1: any bytes are a valid path
    code, out, err = _run_bytes(cli, "--home", str(home), "init", *FAST)
    assert code == 0, err
    assert b"caf\xe9" in out  # written back as the bytes it was
    code, out, err = _run_bytes(cli, "--home", str(home), "whoami", "--json")
    assert code == 0, err
    assert (home / "keyfile.json").exists()
