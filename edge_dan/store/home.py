"""Where an owner's store lives, and the few settings that must be readable before unlocking.

The home is ``--home`` if given, else ``$EDGE_DAN_HOME``, else the platform's per-user data
directory. ``settings.json`` holds only what is needed before the passphrase is known (whether the
OS keyring holds it); nothing about the owner goes there.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from edge_dan.errors import StoreCorrupt, StoreError, UsageError
from edge_dan.store.files import atomic_write

HOME_ENV = "EDGE_DAN_HOME"
SETTINGS_FILE = "settings.json"


class SettingsCorrupt(StoreCorrupt):
    """``settings.json`` is unreadable; deleting it resets the settings (the store is intact)."""


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` if given, else ``$EDGE_DAN_HOME`` if set and not empty, else the default.

    An explicit empty path is refused rather than read as "not given": ``--home ""`` is
    usually an unset shell variable, and quietly using the default store would act on the
    wrong owner's data.
    """
    if explicit is not None:
        if not os.fspath(explicit):
            raise UsageError("the home directory is an empty path; give a directory")
        return Path(explicit).expanduser()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when no home was given: keeps the common path lean

    return Path(platformdirs.user_data_dir("edge-dan", appauthor=False))


def home_error(home: Path, exc: OSError) -> StoreError:
    """The error for a home the system will not let us use (name too long, no access...)."""
    return StoreError(f"cannot use {home} as the edge_dan home: {exc.strerror or exc}")


def check_home(home: Path) -> None:
    """Raise ``StoreError`` unless ``home`` is a directory or can become one.

    Run before anything else touches the home, so a path the system refuses (a name over 255
    bytes, a file in the way, no permission) is one clear error, whatever the command.
    """
    try:
        info = home.stat()
    except FileNotFoundError:
        return  # init makes it; other commands say there is no store
    except OSError as exc:
        raise home_error(home, exc) from None
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"cannot use {home} as the edge_dan home: it is not a directory")


def read_settings(home: Path) -> dict[str, Any]:
    path = home / SETTINGS_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise SettingsCorrupt(
            f"{path} is not valid JSON ({exc}); delete it to reset settings"
        ) from None
    except RecursionError:
        raise SettingsCorrupt(
            f"{path} is nested too deeply to be settings; delete it to reset settings"
        ) from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise SettingsCorrupt(f"{path} should hold a JSON object; delete it to reset settings")
    return data


def write_settings(home: Path, settings: dict[str, Any]) -> None:
    atomic_write(
        home / SETTINGS_FILE, (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
    )
