"""Where the passphrase comes from: the environment, the OS keyring (opt-in), or the terminal.

Order: ``$EDGE_DAN_PASSPHRASE`` (scripts, services), then the OS keyring if the owner enabled it for
this home, then a prompt when a terminal is attached. With none of them, a clear error instead of a
hang. The keyring is imported only when used; it is an optional extra (``edge-dan[keyring]``).

This sits above the store (which only takes a passphrase) and is shared by the CLI and by apps that
unlock a store the same way; whether the keyring is enabled is a pre-unlock setting of the home
(``edge_dan.store.home``).
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_dan.errors import KeyringUnavailable, PassphraseUnavailable, UsageError
from edge_dan.store.home import read_settings, write_settings

PASSPHRASE_ENV = "EDGE_DAN_PASSPHRASE"
NEW_PASSPHRASE_ENV = "EDGE_DAN_NEW_PASSPHRASE"
BACKUP_PASSPHRASE_ENV = "EDGE_DAN_BACKUP_PASSPHRASE"
KEYRING_SERVICE = "edge-dan"

Prompt = Callable[[str], str]


def _keyring() -> Any:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise KeyringUnavailable(
            "the OS keyring needs the 'keyring' package: pip install 'edge-dan[keyring]'"
        ) from None
    return keyring


def _account(home: Path) -> str:
    # The resolved home path names the store: one owner may keep several homes.
    return str(home.resolve())


def keyring_enabled(home: Path) -> bool:
    return bool(read_settings(home).get("keyring"))


def enable_keyring(home: Path, passphrase: str) -> None:
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, _account(home), passphrase)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring refused to store the passphrase: {exc}") from None
    write_settings(home, {**read_settings(home), "keyring": True})


def update_keyring(home: Path, passphrase: str) -> None:
    """After a passphrase change, keep the keyring copy current (if the owner uses it)."""
    if keyring_enabled(home):
        enable_keyring(home, passphrase)


def disable_keyring(home: Path) -> None:
    settings = read_settings(home)
    if settings.pop("keyring", None):
        keyring = _keyring()
        try:
            keyring.delete_password(KEYRING_SERVICE, _account(home))
        except keyring.errors.PasswordDeleteError:
            pass  # already gone: the goal is reached
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(
                f"the OS keyring could not forget the passphrase: {exc}"
            ) from None
    write_settings(home, settings)


def _from_keyring(home: Path) -> str | None:
    if not keyring_enabled(home):
        return None
    keyring = _keyring()
    try:
        value = keyring.get_password(KEYRING_SERVICE, _account(home))
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring is not available: {exc}") from None
    return value if isinstance(value, str) and value else None


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _text(value: str, source: str) -> str:
    """``value``, if it is text (encodable as UTF-8, as the key derivation needs).

    Bytes that are not UTF-8 reach Python as lone surrogates (in the environment, or from a
    terminal decoding with ``surrogateescape``); refused here with the source named, rather
    than failing later inside the key derivation.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the passphrase {source} is not valid UTF-8 text") from None
    return value


def _typed(prompt: Prompt, text: str, label: str) -> str:
    try:
        return _text(prompt(text), "typed")
    except UnicodeDecodeError:  # the terminal's bytes are not text in its encoding
        raise UsageError(
            f"the {label} typed is not valid text for this terminal's encoding"
        ) from None
    except EOFError:  # Ctrl-D at the prompt
        raise PassphraseUnavailable(f"no {label} was typed; nothing was changed") from None


def ask(label: str, env: str, *, confirm: bool = False, prompt: Prompt = getpass.getpass) -> str:
    """A passphrase from ``env`` or the terminal (asked twice when ``confirm``)."""
    value = os.environ.get(env)
    if value:
        return _text(value, f"in ${env}")
    if not _interactive():
        raise PassphraseUnavailable(f"no terminal to ask for the {label}: set ${env}")
    first = _typed(prompt, f"{label.capitalize()}: ", label)
    if confirm and _typed(prompt, f"Repeat the {label}: ", label) != first:
        raise PassphraseUnavailable(f"the two {label}s differ; nothing was changed")
    if not first:
        raise PassphraseUnavailable(f"the {label} must not be empty")
    return first


def unlock_passphrase(home: Path, *, prompt: Prompt = getpass.getpass) -> str:
    """The passphrase to unlock the store in ``home``."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return _text(value, f"in ${PASSPHRASE_ENV}")
    value = _from_keyring(home)
    if value:
        return _text(value, "in the OS keyring")
    return ask("passphrase", PASSPHRASE_ENV, prompt=prompt)


MAX_PASSPHRASE_FILE = 4096  # bytes: a passphrase, not a document


def passphrase_from_file(path: Path) -> str:
    """The passphrase in ``path``: a regular file only its owner can read, one line of UTF-8
    (a systemd credential is exactly that); ``PassphraseUnavailable`` says what is wrong."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise PassphraseUnavailable(f"cannot read the passphrase file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PassphraseUnavailable("the passphrase file is not a regular file")
        if info.st_mode & 0o077:
            raise PassphraseUnavailable(
                f"the passphrase file can be read by others (mode {stat.S_IMODE(info.st_mode):04o})"
                "; make it private: chmod 600 (a systemd credential already is)"
            )
        data = file.read(MAX_PASSPHRASE_FILE + 1)
    if len(data) > MAX_PASSPHRASE_FILE:
        raise PassphraseUnavailable("the passphrase file is too large to hold one passphrase")
    text = data.removesuffix(b"\n").removesuffix(b"\r")
    if b"\n" in text or b"\r" in text:
        raise PassphraseUnavailable("the passphrase file must hold one line")
    if not text:
        raise PassphraseUnavailable("the passphrase file is empty")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise PassphraseUnavailable("the passphrase file is not UTF-8 text") from None
