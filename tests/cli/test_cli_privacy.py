"""Nothing the owner says is ever on disk in plaintext, in any file the store writes."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from conftest import Cli

from edge_dan.store import Store
from edge_dan.values import ITEMS, ORIGINAL_VALUES


def _all_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def test_scripted_run_leaves_no_plaintext(cli: Cli, tmp_path: Path) -> None:
    marker = f"MARKER-{secrets.token_hex(6)}"
    answers = {item.id: (i % 6) + 1 for i, item in enumerate(ITEMS)}
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers))
    backup = tmp_path / "backups" / "me.backup"
    backup.parent.mkdir()

    assert cli("init", "--unlock-time", "0.05").code == 0
    # Hold the store open in this process for the rest of the run, so SQLite keeps its -wal and
    # -shm files on disk for the scan instead of folding them away on the last close.
    with Store.open(cli.home, cli.env["EDGE_DAN_PASSPHRASE"]) as held:
        held.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep every page in the WAL
        steps = [
            ("profile", "quiz", "--answers", str(answers_file)),
            ("profile", "set", "benevolence=0.91", "universalism=0.83", "--note", marker),
            ("profile", "set", "power=0.12", "--note", f"{marker} again"),
            ("profile", "history"),
        ]
        for step in steps:
            result = cli(*step)
            assert result.code == 0, (step, result.err)
        exported = cli(
            "export",
            str(backup),
            "--unlock-time",
            "0.05",
            EDGE_DAN_BACKUP_PASSPHRASE=f"backup-{marker}",
        )
        assert exported.code == 0, exported.err
        files = _all_files(cli.home, backup.parent)
        names = {p.name for p in files}
        assert {"store.db", "store.db-wal", "store.db-shm", "keyfile.json", "me.backup"} <= names
        assert (cli.home / "store.db-wal").stat().st_size > 0

        forbidden = [marker, cli.env["EDGE_DAN_PASSPHRASE"], *ORIGINAL_VALUES, "questionnaire"]
        # Item ids are searched with their JSON quotes: a bare three-letter id turns up by chance
        # in a few hundred kilobytes of ciphertext; five bytes do not (odds about 1e-6).
        forbidden += [f'"{item.id}"' for item in ITEMS] + [json.dumps(answers)[:40]]
        for path in files:
            data = path.read_bytes()
            for secret in forbidden:
                for encoded in {secret.encode("utf-8"), secret.encode("utf-16-le")}:
                    assert encoded not in data, f"{secret!r} found in {path.name}"

    # ... and the run did what it said: everything is there once decrypted.
    weights = json.loads(cli("profile", "show", "--json").out)["weights"]
    assert weights["benevolence"] == 0.91 and weights["power"] == 0.12
    history = json.loads(cli("profile", "history", "--json").out)["history"]
    assert [h["note"] for h in history][-2:] == [marker, f"{marker} again"]
