"""The home directory as the system sees it: paths it refuses, read-only media, an emptied store.

Each used to end in exit 70 ("a bug") or in the wrong behaviour: ``--home ""`` silently used the
default home, a read-only home refused even ``profile show`` (its lock file could not be
created), and a zero-byte ``store.db`` had a schema written into it before the error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Cli, CliResult

FAST = ("--unlock-time", "0.05")
READ_COMMANDS = [("profile", "show"), ("profile", "history"), ("whoami",), ("check",)]


def _one_line_error(result: CliResult, code: int, needle: str) -> None:
    assert result.code == code, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert needle in result.err, result.err


def _run(cli: Cli, *args: str, prefix: tuple[str, ...] = (), **env: str) -> CliResult:
    """``edge-dan ARGS`` with no ``--home`` added (the tests give their own, or none)."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "edge_dan.cli.main", *args],
        capture_output=True,
        text=True,
        env={**cli.env, **env},
        timeout=120,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", *FAST).code == 0
    return cli


# ----- paths the system refuses -----------------------------------------------------------------
@pytest.mark.parametrize("command", [("init", *FAST), ("profile", "show"), ("keyring", "disable")])
def test_an_empty_home_is_an_error_not_the_default_home(
    cli: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    data = tmp_path / "xdg"  # where the default home would be
    result = _run(cli, "--home", "", *command, XDG_DATA_HOME=str(data), HOME=str(tmp_path))
    _one_line_error(result, 2, "empty path")
    assert not data.exists()


@pytest.mark.parametrize(
    "command", [("init", *FAST), ("profile", "show"), ("whoami",), ("keyring", "disable")]
)
def test_a_home_name_over_255_bytes_is_one_line_not_a_bug(
    cli: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / ("a" * 300)
    _one_line_error(_run(cli, "--home", str(home), *command), 1, "File name too long")


def test_a_file_in_the_way_of_the_home_is_one_line_not_a_bug(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for home in (blocker, blocker / "home"):
        for command in (("profile", "show"), ("keyring", "disable")):
            _one_line_error(_run(cli, "--home", str(home), *command), 1, "cannot use")


@pytest.fixture
def unreachable() -> Iterator[Path]:
    """A home inside a directory only root may enter, for a CLI run as nobody (setpriv)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv(1) to run the CLI as another user")
    # Not under tmp_path: its parents admit root alone, so nobody could not even reach this.
    outer = Path(tempfile.mkdtemp(prefix="edge-dan-eacces-"))
    try:
        outer.chmod(0o755)
        (outer / "locked").mkdir(mode=0o700)
        yield outer / "locked" / "home"
    finally:
        shutil.rmtree(outer)


@pytest.mark.parametrize("command", [("init", *FAST), ("profile", "show"), ("keyring", "disable")])
def test_a_home_we_may_not_enter_is_one_line_not_a_bug(
    cli: Cli, unreachable: Path, command: tuple[str, ...]
) -> None:
    nobody = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
    result = _run(cli, "--home", str(unreachable), *command, prefix=nobody)
    _one_line_error(result, 1, "Permission denied")


def test_a_keyfile_that_is_a_directory_is_one_line_not_a_bug(ready: Cli) -> None:
    keyfile = ready.home / "keyfile.json"
    keyfile.unlink()
    keyfile.mkdir()
    _one_line_error(ready("profile", "show"), 1, "keyfile.json")


# ----- a read-only home -------------------------------------------------------------------------
def _read_only_mount(home: Path) -> tuple[str, ...]:
    """A command prefix running the CLI where ``home`` is a read-only mount (a private mount
    namespace: the mount is gone when the command ends). Skips where that cannot be made."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    prefix = ("unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(home))
    probe = subprocess.run(
        [*prefix, "touch", str(home / "probe")], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0 or "Read-only" not in probe.stderr:
        pytest.skip(f"cannot mount a read-only home here: {probe.stderr.strip()}")
    return prefix


def _chattr(flag: str, path: Path) -> None:
    # The immutable attribute refuses writes even to root (the tests run as root, for whom
    # permission bits refuse nothing).
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr {flag} is not possible here: {done.stderr.strip()}")


@pytest.fixture
def edited(ready: Cli) -> Cli:
    """``ready`` with one edit in its store (power 0.2)."""
    assert ready("profile", "set", "power=0.2").code == 0
    return ready


@pytest.fixture
def shown(edited: Cli) -> dict[tuple[str, ...], str]:
    """What each read command prints (--json) before the home is made read-only."""
    return {words: edited(*words, "--json").out for words in READ_COMMANDS}


@pytest.fixture(params=["mount", "mount, no lock files", "directory", "lock file"])
def read_only(edited: Cli, request: pytest.FixtureRequest) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``edited``'s home made read-only: a read-only file system (with or without its lock
    files), a directory nothing may be created in, a lock file that cannot be opened for
    writing. Yields the kind and the command prefix that runs the CLI there."""
    kind: str = request.param
    if kind.startswith("mount"):
        if kind.endswith("no lock files"):  # e.g. a copy made without them
            for name in ("lock", "swap.lock"):
                (edited.home / name).unlink()
        yield kind, _read_only_mount(edited.home)
        return
    if shutil.which("chattr") is None:
        pytest.skip("chattr(1) is not installed")
    target = edited.home if kind == "directory" else edited.home / "lock"
    _chattr("+i", target)
    try:
        yield kind, ()
    finally:
        _chattr("-i", target)


def test_read_only_commands_work_on_a_read_only_home(
    edited: Cli, shown: dict[tuple[str, ...], str], read_only: tuple[str, tuple[str, ...]]
) -> None:
    _, prefix = read_only
    for words in READ_COMMANDS:
        result = _run(edited, "--home", str(edited.home), *words, "--json", prefix=prefix)
        assert result.code == 0, (words, result.err)
        assert result.out == shown[words]


@pytest.mark.parametrize("command", [("profile", "set", "power=0.9"), ("rekey",)])
def test_write_commands_on_a_read_only_home_fail_in_one_line(
    edited: Cli, read_only: tuple[str, tuple[str, ...]], command: tuple[str, ...]
) -> None:
    kind, prefix = read_only
    result = _run(edited, "--home", str(edited.home), *command, prefix=prefix)
    if kind == "lock file":  # the directory is writable: a read-only lock file stops nothing
        assert result.code == 0, result.err
        return
    _one_line_error(result, 1, str(edited.home))
    weights = json.loads(_run(edited, "--home", str(edited.home), "profile", "show", "--json").out)
    assert weights["weights"]["power"] == pytest.approx(0.2)


# ----- an emptied database ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "command", [("profile", "show"), ("profile", "set", "power=0.9"), ("check",)]
)
def test_a_zero_byte_store_is_refused_and_left_untouched(
    ready: Cli, command: tuple[str, ...]
) -> None:
    db = ready.home / "store.db"
    db.write_bytes(b"")
    result = ready(*command)
    _one_line_error(result, 4, "store.db is empty")
    assert "edge-dan import" in result.err
    assert db.stat().st_size == 0
    assert sorted(os.listdir(ready.home)) == ["keyfile.json", "lock", "store.db", "swap.lock"]
