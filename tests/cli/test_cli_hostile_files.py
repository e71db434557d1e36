"""``edge-dan import`` and the key file against files made to hurt (issue #14), in real processes.

Each run is measured: exit code, stderr and the child's peak RSS (``os.wait4``, so only that
child counts). The RSS bound, 200 MB, is about twice what the CLI needs for a whole import here
(about 95 MB; a refused file, about 40 MB) and far below what the attacks cost before the fix
(1.06 GB for a crafted Argon2id cost, 3.1 GB for a 3 GB file, 5 GB and counting for /dev/zero):
it separates bounded from unbounded without depending on the machine. A run that does not end in
60 s is killed and fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, Cli

from edge_dan.owner import Owner
from edge_dan.store import KdfParams, export_backup
from edge_dan.store.backup import MAGIC

FAST = ("--unlock-time", "0.05")
BACKUP_PASS = "backup words"
PEAK_MB = 200


@dataclass
class Run:
    code: int
    err: str
    peak_mb: float
    killed: bool


def run_measured(cli: Cli, *args: str, timeout: float = 60, **env: str) -> Run:
    """``edge-dan --home HOME ARGS`` in a child; its exit code, stderr and peak RSS. The backup
    passphrase is set, as for an owner who was told it: the file is read whatever the order."""
    env = {"EDGE_DAN_BACKUP_PASSPHRASE": BACKUP_PASS, **env}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_dan.cli.main", "--home", str(cli.home), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**cli.env, **env},
            cwd=REPO,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        return Run(
            proc.returncode,
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,
            not timer.is_alive() and proc.returncode < 0,
        )


def _one_line_error(run: Run, code: int, needle: str) -> None:
    assert not run.killed, "the command did not end"
    assert run.code == code, run.err
    assert run.err.count("\n") == 1 and run.err.startswith("edge-dan: error:"), run.err
    assert needle in run.err, run.err
    assert run.peak_mb < PEAK_MB, f"{run.peak_mb:.0f} MB"


@pytest.fixture
def made(tmp_path: Path, fast_kdf: KdfParams) -> Path:
    """An honest backup: a store with a profile, exported with the real code."""
    return _backup(tmp_path, fast_kdf)


def _backup(tmp_path: Path, kdf: KdfParams, *planted: str) -> Path:
    with Owner.create(tmp_path / "maker", "maker's passphrase", kdf=kdf) as owner:
        owner.identity.ensure()
        owner.profile.edit({"benevolence": 0.9}, note="mine")
        for statement in planted:
            owner.store.conn.execute(statement)
        owner.store.conn.commit()
        path = tmp_path / f"made-{len(list(tmp_path.glob('made-*')))}.backup"
        export_backup(owner.store, path, BACKUP_PASS, kdf=kdf)
    return path


def _with_header(backup: Path, change: object) -> Path:
    """``backup`` with its header rewritten by ``change`` (a function of the header dict)."""
    data = backup.read_bytes()
    hlen = int.from_bytes(data[16:20], "big")
    header = json.loads(data[20 : 20 + hlen])
    assert callable(change)
    head = change(header)
    raw = head if isinstance(head, bytes) else json.dumps(head).encode()
    out = backup.with_name("crafted.backup")
    out.write_bytes(MAGIC + len(raw).to_bytes(4, "big") + raw + data[20 + hlen :])
    return out


def _costly(header: dict[str, object]) -> dict[str, object]:
    key = header["key"]
    assert isinstance(key, dict)
    key["kdf"].update(opslimit=2**32 - 1, memlimit=1024**3)
    return header


def test_import_refuses_a_crafted_argon2_cost_before_running_it(cli: Cli, made: Path) -> None:
    run = run_measured(cli, "import", str(_with_header(made, _costly)), *FAST)
    _one_line_error(run, 1, "out of range")
    assert not cli.home.exists() or not any(cli.home.iterdir())


def test_import_refuses_dev_zero_at_once(cli: Cli) -> None:
    _one_line_error(run_measured(cli, "import", "/dev/zero", *FAST), 1, "not an edge_dan backup")


@pytest.mark.parametrize("start", [b"", b"header"], ids=["zeros", "valid-header"])
def test_import_refuses_a_3gb_file_without_reading_it(
    cli: Cli, made: Path, tmp_path: Path, start: bytes
) -> None:
    big = tmp_path / "big.backup"
    head = made.read_bytes()[: 20 + int.from_bytes(made.read_bytes()[16:20], "big")]
    with big.open("wb") as handle:
        handle.write(head if start else b"")
        handle.truncate(3 * 1024**3)  # sparse: no disk used
    needle = "at most 1024 MiB" if start else "not an edge_dan backup"
    _one_line_error(run_measured(cli, "import", str(big), *FAST), 1, needle)


def test_a_deeply_nested_backup_header_is_damaged_not_a_bug(cli: Cli, made: Path) -> None:
    crafted = _with_header(made, lambda header: b"[" * 60_000)
    _one_line_error(run_measured(cli, "import", str(crafted), *FAST), 1, "nested too deeply")


def test_a_deeply_nested_key_file_is_damaged_not_a_bug(cli: Cli) -> None:
    assert cli("init", *FAST).code == 0
    (cli.home / "keyfile.json").write_text("[" * 16_000)  # within the size a key file may have
    _one_line_error(run_measured(cli, "whoami"), 4, "nested too deeply")


def test_import_into_an_empty_home_takes_the_new_store_passphrase(cli: Cli, made: Path) -> None:
    env = {"EDGE_DAN_BACKUP_PASSPHRASE": BACKUP_PASS}
    missing = {k: v for k, v in cli.env.items() if k != "EDGE_DAN_PASSPHRASE"}
    refused = Cli(cli.home, missing)("import", str(made), *FAST, **env)
    assert refused.code == 1 and "EDGE_DAN_PASSPHRASE" in refused.err, refused.err
    assert not (cli.home / "keyfile.json").exists()
    done = cli("import", str(made), *FAST, **env)
    assert done.code == 0, done.err
    assert "opens with its own passphrase" in done.out
    assert cli("whoami").code == 0  # $EDGE_DAN_PASSPHRASE, as the message says
    assert cli("whoami", EDGE_DAN_PASSPHRASE=BACKUP_PASS).code == 3
    assert "not the backup's" in cli("import", "--help").out


def test_a_trigger_planted_in_a_backup_does_not_survive_the_import(
    cli: Cli, tmp_path: Path, fast_kdf: KdfParams
) -> None:
    planted = _backup(
        tmp_path,
        fast_kdf,
        "CREATE TRIGGER wipe AFTER INSERT ON profile_history BEGIN DELETE FROM profile; END",
    )
    # One passphrase for both, so this holds whichever passphrase the new store gets.
    same = {"EDGE_DAN_BACKUP_PASSPHRASE": BACKUP_PASS, "EDGE_DAN_PASSPHRASE": BACKUP_PASS}
    imported = cli("import", str(planted), *FAST, **same)
    assert imported.code == 0, imported.err
    assert cli("profile", "set", "power=0.2", **same).code == 0  # what fired the trigger
    weights = json.loads(cli("profile", "show", "--json", **same).out)["weights"]
    assert weights["benevolence"] == 0.9 and weights["power"] == 0.2


@pytest.mark.parametrize(
    ("planted", "needle"),
    [
        ("UPDATE profile SET weight = 7 WHERE value = 'power'", "profile"),
        ("UPDATE profile_history SET changes = '{not json'", "profile_history"),
    ],
)
def test_a_backup_with_rows_the_api_refuses_is_not_imported(
    cli: Cli, tmp_path: Path, fast_kdf: KdfParams, planted: str, needle: str
) -> None:
    crafted = _backup(tmp_path, fast_kdf, planted)
    run = run_measured(cli, "import", str(crafted), *FAST)
    _one_line_error(run, 1, needle)
    assert cli("whoami").code == 1  # no store was made


@pytest.mark.parametrize("name", ["x" * 300, "a-file/inside"])
def test_export_to_a_path_that_cannot_be_is_one_line_not_a_bug(
    cli: Cli, tmp_path: Path, name: str
) -> None:
    """A name over 255 bytes, or a path through a regular file: exit 1, not 70."""
    assert cli("init", *FAST).code == 0
    (tmp_path / "a-file").write_text("in the way")
    run = run_measured(cli, "export", str(tmp_path / name), *FAST)
    _one_line_error(run, 1, "cannot write")
    assert (tmp_path / "a-file").read_text() == "in the way"
