"""Importing the negotiation package is light: an app that only reads accords loads no numpy.

(Its layer order is held by ``tests/test_layers.py`` with every other package's.)
"""

from __future__ import annotations

from conftest import modules_after


def test_importing_the_package_loads_no_numpy() -> None:
    assert "numpy" not in modules_after("import edge_dan.negotiation")
