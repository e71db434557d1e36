"""The edge-dan command as a person or a script uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli

from edge_dan.values.questionnaire import ITEMS

FAST = ("--unlock-time", "0.05")


def _answers(tmp_path: Path, high: str = "be") -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({i.id: 6 if i.id.startswith(high) else 3 for i in ITEMS}))
    return path


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", *FAST).code == 0
    return cli


def test_init_creates_identity_and_neutral_profile(cli: Cli) -> None:
    result = cli("init", *FAST, "--json")
    assert result.code == 0, result.err
    created = json.loads(result.out)
    who = json.loads(cli("whoami", "--json").out)
    assert who["fingerprint"] == created["fingerprint"]
    shown = json.loads(cli("profile", "show", "--json").out)
    assert shown["weights"] == {v: 0.5 for v in shown["weights"]} and len(shown["weights"]) == 10


def test_global_options_work_before_and_after_the_command(ready: Cli) -> None:
    before = ready("--json", "profile", "show")
    after = ready("profile", "show", "--json")
    assert before.code == after.code == 0
    assert json.loads(before.out) == json.loads(after.out)


def test_profile_show_draws_ten_bars(ready: Cli) -> None:
    out = ready("profile", "show").out
    lines = [line for line in out.splitlines() if "│" in line]
    assert len(lines) == 10
    assert lines[0].startswith("self-direction")


def test_quiz_from_file_sets_the_profile(ready: Cli, tmp_path: Path) -> None:
    result = ready("profile", "quiz", "--answers", str(_answers(tmp_path)), "--json")
    assert result.code == 0, result.err
    weights = json.loads(ready("profile", "show", "--json").out)["weights"]
    assert max(weights, key=weights.__getitem__) == "benevolence"
    assert weights["benevolence"] > 0.9 and weights["power"] < 0.5


def test_set_and_history(ready: Cli) -> None:
    assert (
        ready("profile", "set", "benevolence=0.8", "Self_Direction=0.7", "--note", "why").code == 0
    )
    assert ready("profile", "set", "power=0.2").code == 0
    history = json.loads(ready("profile", "history", "--json").out)["history"]
    assert [h["source"] for h in history] == ["init", "edit", "edit"]
    assert history[1]["changes"] == {"self-direction": [0.5, 0.7], "benevolence": [0.5, 0.8]}
    assert history[1]["note"] == "why"
    assert (
        len(json.loads(ready("profile", "history", "--limit", "1", "--json").out)["history"]) == 1
    )
    text = ready("profile", "history").out
    assert "benevolence 0.50->0.80" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("profile", "set", "kindness=0.5"), "unknown value"),
        (("profile", "set", "power=1.5"), "[0, 1]"),
        (("profile", "set", "power=nan"), "power"),
        (("profile", "set", "power"), "VALUE=WEIGHT"),
        (("profile", "set", "power=high"), "not a number"),
    ],
)
def test_bad_edits_fail_cleanly_and_change_nothing(
    ready: Cli, args: tuple[str, ...], needle: str
) -> None:
    before = ready("profile", "history", "--json").out
    result = ready(*args)
    assert result.code == 2
    assert needle in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    assert ready("profile", "history", "--json").out == before


def test_bad_answers_file_needs_no_passphrase(ready: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"sd1": 9}')
    result = ready("profile", "quiz", "--answers", str(bad), EDGE_DAN_PASSPHRASE="wrong")
    assert result.code == 2 and "answers" in result.err.lower()


def test_wrong_passphrase_exit_code_and_message(ready: Cli) -> None:
    result = ready("whoami", EDGE_DAN_PASSPHRASE="nope")
    assert result.code == 3
    assert result.err.strip() == "edge-dan: error: wrong passphrase"


def test_debug_shows_the_traceback(ready: Cli) -> None:
    result = ready("--debug", "whoami", EDGE_DAN_PASSPHRASE="nope")
    assert result.code == 3 and "Traceback" in result.err and "WrongPassphrase" in result.err


def test_missing_store(cli: Cli) -> None:
    result = cli("profile", "show")
    assert result.code == 1 and "edge-dan init" in result.err


def test_a_damaged_store_says_how_to_restore_it(ready: Cli) -> None:
    db = ready.home / "store.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte inside an encrypted page
    db.write_bytes(bytes(data))
    result = ready("check")
    assert result.code == 4 and "failed its integrity check" in result.err
    assert result.err.rstrip().endswith("restore it from a backup with 'edge-dan import'")


def test_damaged_settings_say_how_to_reset_them_not_to_restore(ready: Cli) -> None:
    (ready.home / "settings.json").write_text("{not json")
    result = ready("keyring", "disable")
    assert result.code == 4 and "delete it to reset settings" in result.err
    assert "edge-dan import" not in result.err


def test_no_passphrase_source_is_an_error_not_a_hang(ready: Cli) -> None:
    result = ready("whoami", EDGE_DAN_PASSPHRASE="")
    assert result.code == 1 and "EDGE_DAN_PASSPHRASE" in result.err


def test_init_twice(ready: Cli) -> None:
    result = ready("init", *FAST)
    assert result.code == 1 and "already holds a store" in result.err


def test_passwd_rekey_export_import(ready: Cli, tmp_path: Path) -> None:
    ready("profile", "set", "tradition=0.9")
    fpr = json.loads(ready("whoami", "--json").out)["fingerprint"]
    assert ready("passwd", *FAST, EDGE_DAN_NEW_PASSPHRASE="second passphrase").code == 0
    assert ready("whoami").code == 3  # old passphrase
    new = {"EDGE_DAN_PASSPHRASE": "second passphrase"}
    assert ready("rekey", **new).code == 0
    backup = tmp_path / "me.backup"
    assert ready("export", str(backup), *FAST, EDGE_DAN_BACKUP_PASSPHRASE="bk", **new).code == 0
    refused = ready("export", str(backup), *FAST, EDGE_DAN_BACKUP_PASSPHRASE="bk", **new)
    assert refused.code == 1 and "--force" in refused.err
    other = Cli(tmp_path / "elsewhere", ready.env)
    restored = other("import", str(backup), *FAST, EDGE_DAN_BACKUP_PASSPHRASE="bk")
    assert restored.code == 0, restored.err
    # The new store opens with $EDGE_DAN_PASSPHRASE, not the backup's passphrase.
    assert json.loads(other("whoami", "--json").out)["fingerprint"] == fpr
    weights = json.loads(other("profile", "show", "--json").out)
    assert weights["weights"]["tradition"] == 0.9
    # Replacing needs --replace and the store's own passphrase.
    assert ready("import", str(backup), EDGE_DAN_BACKUP_PASSPHRASE="bk", **new).code == 1
    replaced = ready("import", str(backup), "--replace", EDGE_DAN_BACKUP_PASSPHRASE="bk", **new)
    assert replaced.code == 0, replaced.err
    assert ready("check", **new).code == 0


def test_keyring_opt_in(ready: Cli, tmp_path: Path) -> None:
    pytest.importorskip("keyrings.alt")
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    assert ready("keyring", "enable", **env).code == 0
    unlocked = ready("whoami", **env, EDGE_DAN_PASSPHRASE="")
    assert unlocked.code == 0, unlocked.err
    # passwd keeps the keyring copy current
    assert (
        ready("passwd", *FAST, **env, EDGE_DAN_PASSPHRASE="", EDGE_DAN_NEW_PASSPHRASE="p2").code
        == 0
    )
    assert ready("whoami", **env, EDGE_DAN_PASSPHRASE="").code == 0
    assert ready("keyring", "disable", **env).code == 0
    assert ready("whoami", **env, EDGE_DAN_PASSPHRASE="").code == 1


def test_keyring_enable_refuses_a_wrong_passphrase(ready: Cli, tmp_path: Path) -> None:
    pytest.importorskip("keyrings.alt")
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    assert ready("keyring", "enable", **env, EDGE_DAN_PASSPHRASE="wrong").code == 3
    assert not (tmp_path / "xdg").exists() or not any((tmp_path / "xdg").rglob("*.cfg"))


@pytest.mark.parametrize("engine", ["sqlite", "sqlcipher"])
def test_check_names_the_engine_that_keeps_the_store(cli: Cli, engine: str) -> None:
    if engine == "sqlcipher":
        pytest.importorskip("sqlcipher3", reason="the SQLCipher engine is not installed")
    assert cli("init", *FAST, EDGE_DAN_STORE_BACKEND=engine).code == 0
    result = cli("check", "--json")  # an existing store opens on its own engine, whatever is set
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"ok": True, "engine": engine}
    words = "SQLCipher" if engine == "sqlcipher" else "sealed snapshot"
    assert words in cli("check").out
