"""The store is the lowest layer that keeps anything: it imports nothing from edge_dan but errors.

Walks every module of ``edge_dan/store`` (with ``ast``, so nothing is imported to check it),
including imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import edge_dan.store

STORE = Path(edge_dan.store.__file__).parent
ALLOWED = {"edge_dan.errors"}


def _imported(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports (``from x import y`` counts ``x`` and
    ``x.y``, since ``y`` may be a module; ``from edge_dan import y`` counts ``edge_dan.y``)."""
    package = "edge_dan.store"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against edge_dan.store
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            if base != "edge_dan":  # ``from edge_dan import errors`` imports edge_dan.errors
                names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _outside_store(name: str) -> bool:
    inside = name == "edge_dan.store" or name.startswith("edge_dan.store.")
    return (name == "edge_dan" or name.startswith("edge_dan.")) and not inside


def test_the_store_imports_only_errors_from_edge_dan() -> None:
    modules = sorted(STORE.glob("*.py"))
    assert len(modules) > 5, "the store's modules were not found"
    wrong = {
        f"{path.name}: {name}"
        for path in modules
        for name in _imported(path)
        if _outside_store(name) and name not in ALLOWED and not name.startswith("edge_dan.errors.")
    }
    assert not wrong, "the store imports layers above it:\n" + "\n".join(sorted(wrong))


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import edge_dan.values\n"
        "from edge_dan.owner import Owner\n"
        "from edge_dan import negotiation, errors\n"
        "import edge_dan\n"
        "from . import schema\n"
        "from ..pairing import policy\n"
        "def lazy():\n"
        "    from edge_dan.agent import Agent\n"
    )
    found = {name for name in _imported(sample) if _outside_store(name)}
    assert {
        "edge_dan.values",
        "edge_dan.owner",
        "edge_dan.negotiation",
        "edge_dan.pairing",
        "edge_dan.agent",
    } <= found
    assert "edge_dan" in found and "edge_dan.errors" in found  # errors is allowed, not unseen
    assert "edge_dan.store.schema" in _imported(sample)
