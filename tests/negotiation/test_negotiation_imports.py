"""Importing the negotiation package is light: an app that only reads accords loads no numpy.

(Its layer order is held by ``tests/test_layers.py`` with every other package's.)
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_loads_no_numpy() -> None:
    code = "import sys, edge_dan.negotiation; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
