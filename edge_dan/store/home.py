"""Where an owner's store lives, and the few settings that must be readable before unlocking.

The home is ``--home`` if given, else ``$EDGE_DAN_HOME``, else the platform's per-user data
directory. ``settings.json`` holds only what is needed before the passphrase is known (whether the
OS keyring holds it); nothing about the owner goes there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edge_dan.errors import StoreCorrupt
from edge_dan.store.files import atomic_write

HOME_ENV = "EDGE_DAN_HOME"
SETTINGS_FILE = "settings.json"


class SettingsCorrupt(StoreCorrupt):
    """``settings.json`` is unreadable; deleting it resets the settings (the store is intact)."""


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when no home was given: keeps the common path lean

    return Path(platformdirs.user_data_dir("edge-dan", appauthor=False))


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
    if not isinstance(data, dict):
        raise SettingsCorrupt(f"{path} should hold a JSON object; delete it to reset settings")
    return data


def write_settings(home: Path, settings: dict[str, Any]) -> None:
    atomic_write(
        home / SETTINGS_FILE, (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
    )
