"""The layers of ``edge_dan`` hold: every import goes downward, and no packages import each other.

``LAYERS`` is the one place the order is written down, lowest first. A package may import any
package in a lower layer and nothing in its own layer or above (the packages of one layer are
independent of each other). Inside a package, its sub-packages follow the order its
``__init__`` docstring gives; ``SUBLAYERS`` holds those that have one. The test reads the source
with ``ast`` (imports under ``TYPE_CHECKING`` and inside functions count too: a lazy import is
still a dependency).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edge_dan"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "lifecycle"),  # lifecycle: the start/stop base behind ``async with``
    ("identity", "store"),  # store: the encrypted database engine only
    ("wire",),  # framing, strict CBOR messages, Noise, the session core
    ("values", "negotiation"),  # the domain: values and judgements, negotiation
    ("model", "pairing", "ble"),  # the value model, pairing methods, the BLE GATT layer
    ("transports", "discovery", "bridge"),  # carrying sessions, finding peers, microcontrollers
    ("owner", "unlock"),  # the owner's data above the store; where a passphrase comes from
    ("agent",),
    ("cli",),
)
TOP = "__init__"  # edge_dan/__init__.py: the public API, may import anything

SUBLAYERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "negotiation": (("domain",), ("formats", "accords", "strategy"), ("protocols",)),
}


def unit_of(path: Path) -> tuple[str, ...]:
    """``edge_dan/negotiation/domain/outcomes.py`` -> ("negotiation", "domain", "outcomes")."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, root: Path = PACKAGE) -> set[tuple[str, ...]]:
    """Every ``edge_dan`` module ``path`` imports, as a tuple of names below ``edge_dan``."""
    tree = ast.parse(path.read_text(), str(path))
    here = ("edge_dan", *path.relative_to(root).with_suffix("").parts)
    package = here[:-1]  # the package a relative import starts from
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [tuple(alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base: tuple[str, ...]
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = base + (tuple(node.module.split(".")) if node.module else ())
            # ``from package import name``: the name may be a submodule; callers keep only
            # the names that are files.
            names = [module, *((*module, alias.name) for alias in node.names)]
        else:
            continue
        found.update(name[1:] for name in names if name[:1] == ("edge_dan",) and len(name) > 1)
    return found


def rank_of(name: str, layers: tuple[tuple[str, ...], ...]) -> int | None:
    for rank, layer in enumerate(layers):
        if name in layer:
            return rank
    return None


def package_edges() -> dict[str, dict[str, set[str]]]:
    """Package -> imported package -> the files that import it.

    A name imported from ``edge_dan`` itself that is no package (``__version__``) is a plain
    value of the top module, which imports nothing of the package at import time for it.
    """
    units = {unit_of(p)[0] for p in PACKAGE.rglob("*.py") if unit_of(p)}
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        source = unit[0] if unit else TOP
        for module in imported_modules(path):
            if module[0] != source and module[0] in units:
                edges[source][module[0]].add(str(path.relative_to(PACKAGE.parent)))
    return edges


def test_every_package_has_a_layer() -> None:
    placed = {name for layer in LAYERS for name in layer}
    present = {unit_of(p)[0] for p in PACKAGE.rglob("*.py") if unit_of(p)}
    assert present - placed == set(), "add the new package to LAYERS"
    assert placed - present == set(), "LAYERS names a package that does not exist"


def test_imports_only_go_downward() -> None:
    print("layers, lowest first:", " < ".join(" ".join(layer) for layer in LAYERS))
    upward = []
    for source, targets in package_edges().items():
        if source == TOP:
            continue
        source_rank = rank_of(source, LAYERS)
        for target, files in targets.items():
            target_rank = rank_of(target, LAYERS)
            assert source_rank is not None and target_rank is not None
            if target_rank >= source_rank:
                upward.append(f"{source} -> {target} ({', '.join(sorted(files))})")
    assert upward == [], "imports that do not go down:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize("package", sorted(SUBLAYERS))
def test_sub_packages_import_only_downward(package: str) -> None:
    layers = SUBLAYERS[package]
    upward = []
    for path in sorted((PACKAGE / package).rglob("*.py")):
        unit = unit_of(path)
        if len(unit) < 2:
            continue  # the package's own __init__ re-exports from every sub-package
        source_rank = rank_of(unit[1], layers)
        assert source_rank is not None, f"{package}.{unit[1]} has no place in SUBLAYERS"
        for module in imported_modules(path):
            if module[0] != package or len(module) < 2 or module[1] == unit[1]:
                continue
            target_rank = rank_of(module[1], layers)
            if target_rank is None or target_rank >= source_rank:
                upward.append(f"{'.'.join(unit)} -> {'.'.join(module)}")
    assert upward == [], "imports that do not go down:\n" + "\n".join(sorted(upward))


def test_no_cycles_between_modules() -> None:
    """No two modules import each other, directly or around a loop (a lazy import included)."""
    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    files = {unit_of(p): p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    for unit, path in files.items():
        graph[unit] = {m for m in imported_modules(path) if m in files and m != unit}
    cycles = []
    state: dict[tuple[str, ...], int] = {}  # 1: on the stack, 2: done

    def visit(node: tuple[str, ...], stack: list[tuple[str, ...]]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                cycles.append(" -> ".join(".".join(n) for n in cycle))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == [], "module cycles:\n" + "\n".join(cycles)


def test_the_walker_finds_relative_lazy_and_guarded_imports(tmp_path: Path) -> None:
    """The walker itself, on a made-up module: what Python would import is what it reports."""
    module = tmp_path / "edge_dan" / "store" / "engine.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import keyfile\n"
        "from ..agent import core\n"
        "if TYPE_CHECKING:\n"
        "    from edge_dan.cli.main import main\n"
        "def later():\n"
        "    import edge_dan.owner.peers\n"
    )
    found = imported_modules(module, root=tmp_path / "edge_dan")
    assert {("store", "keyfile"), ("agent", "core"), ("cli", "main"), ("owner", "peers")} <= found
    assert {module[0] for module in found} == {"store", "agent", "cli", "owner"}
