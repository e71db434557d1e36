"""The negotiation package's layers import only the layers below them, and it imports light.

The order is the one ``edge_dan/negotiation/__init__.py`` writes down::

    domain  <-  formats, accords, strategy  <-  protocols
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import edge_dan.negotiation

PACKAGE = Path(edge_dan.negotiation.__file__).parent
PREFIX = "edge_dan.negotiation."

# What each layer may import of the package, besides itself.
BELOW = {
    "domain": set(),
    "formats": {"domain"},
    "accords": {"domain"},
    "strategy": {"domain"},
    "protocols": {"domain", "accords", "strategy"},
}


def layers_imported(path: Path) -> set[str]:
    """The layers of the package that the module at ``path`` imports."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.append(node.module or "")
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return {name[len(PREFIX) :].split(".")[0] for name in names if name.startswith(PREFIX)}


def test_every_layer_imports_only_the_layers_below_it() -> None:
    modules = [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"]
    assert len(modules) > 10
    for path in modules:
        layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert layer in BELOW, f"{path}: in no layer of the package's order"
        wrong = layers_imported(path) - BELOW[layer] - {layer}
        assert not wrong, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"


def test_the_package_holds_only_its_layers() -> None:
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert tops == {"__init__", *BELOW}


def test_importing_the_package_loads_no_numpy() -> None:
    code = "import sys, edge_dan.negotiation; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
