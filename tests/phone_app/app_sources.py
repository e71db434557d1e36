"""Imported first by the phone app's tests: its package (examples/phone_app/src) importable, as
Briefcase lays it out. Not a conftest.py: mypy sees one module per name, and tests/ has that one.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_SOURCES = Path(__file__).resolve().parents[2] / "examples" / "phone_app" / "src"
if str(APP_SOURCES) not in sys.path:
    sys.path.insert(0, str(APP_SOURCES))
