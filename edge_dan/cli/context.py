"""What every command gets: where the home is, how to print, how to open the owner's data."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_dan.cli.numbers import seconds_option
from edge_dan.errors import StoreNotFound
from edge_dan.owner import Owner
from edge_dan.store.keyfile import DEFAULT_UNLOCK_SECONDS
from edge_dan.store.store import Store
from edge_dan.unlock import unlock_passphrase


@dataclass
class Context:
    home: Path
    json: bool
    debug: bool

    def open_owner(self) -> Owner:
        if not Store.exists(self.home):
            # Say so before asking for a passphrase that could not help.
            raise StoreNotFound(f"no store in {self.home}")
        return Owner.open(self.home, unlock_passphrase(self.home))

    def emit(self, data: dict[str, Any], text: str) -> None:
        """Print ``data`` as JSON under ``--json``, else the human-readable ``text``."""
        if self.json:
            print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        elif text:
            print(text)

    def note(self, message: str) -> None:
        """Progress and warnings go to stderr, so stdout stays clean for --json consumers."""
        print(message, file=sys.stderr)


MAX_UNLOCK_SECONDS = 30.0
# argparse type for --unlock-time: seconds one unlock should cost on this machine.
unlock_time = seconds_option(0, MAX_UNLOCK_SECONDS)


DEFAULT_UNLOCK = DEFAULT_UNLOCK_SECONDS
