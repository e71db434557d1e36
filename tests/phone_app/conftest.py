"""The phone app's package (examples/phone_app/src) importable by its tests, as Briefcase lays it
out (the top pyproject's pythonpath is shared by every test folder; this one needs it alone)."""

from __future__ import annotations

import sys
from pathlib import Path

APP_SOURCES = Path(__file__).resolve().parents[2] / "examples" / "phone_app" / "src"
if str(APP_SOURCES) not in sys.path:
    sys.path.insert(0, str(APP_SOURCES))
