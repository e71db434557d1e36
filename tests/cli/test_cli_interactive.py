"""The terminal dialogue: passphrase prompts and the questionnaire, driven through a real pty."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from conftest import Cli

from edge_dan.values.questionnaire import ITEMS

pexpect = pytest.importorskip("pexpect")


def _spawn(cli: Cli, *args: str, env: dict[str, str] | None = None) -> Any:
    full_env = {k: v for k, v in cli.env.items() if k != "EDGE_DAN_PASSPHRASE"}
    full_env.update(env or {})
    return pexpect.spawn(
        sys.executable,
        ["-m", "edge_dan.cli.main", "--home", str(cli.home), *args],
        env=full_env,
        encoding="utf-8",
        timeout=60,
    )


def _answer(child: Any, *dialogue: tuple[str, str]) -> None:
    """Wait for each prompt in turn and type its answer."""
    for prompt, answer in dialogue:
        child.expect(prompt)
        child.sendline(answer)


def _ended(child: Any) -> Any:
    """``child`` once it has exited (its output before the end in ``child.before``)."""
    child.expect(pexpect.EOF)
    child.close()
    return child


def _init(cli: Cli, passphrase: str, repeated: str) -> Any:
    """``init`` with its two passphrase prompts answered."""
    child = _spawn(cli, "init", "--unlock-time", "0.05")
    _answer(child, ("New passphrase: ", passphrase), ("Repeat the new passphrase: ", repeated))
    return child


def test_init_prompts_twice_and_refuses_a_mismatch(cli: Cli) -> None:
    child = _ended(_init(cli, "first secret", "other secret"))
    assert child.exitstatus == 1 and "differ" in child.before
    assert not (cli.home / "keyfile.json").exists()

    child = _init(cli, "first secret", "first secret")
    child.expect("Fingerprint: ")
    assert _ended(child).exitstatus == 0


def test_interactive_quiz(cli: Cli) -> None:
    assert cli("init", "--unlock-time", "0.05").code == 0
    child = _spawn(cli, "profile", "quiz")
    for number, item in enumerate(ITEMS, 1):
        child.expect(f"{number}/{len(ITEMS)}")
        child.expect("> ")
        if number == 1:
            child.sendline("7")  # out of range: asked again, not accepted
            child.expect("number from 1 to 6")
            child.expect("> ")
        child.sendline("6" if item.value == "universalism" else "2")
    _answer(child, ("Passphrase: ", cli.env["EDGE_DAN_PASSPHRASE"]))
    assert _ended(child).exitstatus == 0
    weights = json.loads(cli("profile", "show", "--json").out)["weights"]
    assert max(weights, key=weights.__getitem__) == "universalism"


def test_quitting_the_quiz_saves_nothing(cli: Cli) -> None:
    assert cli("init", "--unlock-time", "0.05").code == 0
    before = cli("profile", "history", "--json").out
    child = _spawn(cli, "profile", "quiz")
    _answer(child, ("> ", "5"), ("> ", "q"))
    assert _ended(child).exitstatus == 2 and "nothing was saved" in child.before
    assert cli("profile", "history", "--json").out == before
