"""The public API on one page: everything in ``edge_dan.__all__`` is there, documented with an
example, and importing ``edge_dan`` stays cheap (no numpy, onnxruntime, zeroconf or BLE stack
until a name that needs them is used)."""

from __future__ import annotations

import inspect

from conftest import modules_after

import edge_dan


def test_every_public_name_resolves_and_says_what_it_is_with_an_example() -> None:
    missing = []
    for name in edge_dan.__all__:
        if name == "__version__":
            continue
        value = getattr(edge_dan, name)
        doc = inspect.getdoc(value) or ""
        if isinstance(value, type) and issubclass(value, BaseException):
            ok = bool(doc)  # an error says when it is raised; no example needed
        else:
            ok = bool(doc) and ("::" in doc or ">>>" in doc)
        if not ok:
            missing.append(name)
    assert missing == [], f"public names without a docstring and an example: {missing}"


def test_unknown_names_are_an_attribute_error() -> None:
    assert not hasattr(edge_dan, "Store")  # importable from edge_dan.store, not part of the page
    assert set(dir(edge_dan)) == set(edge_dan.__all__)


def test_importing_edge_dan_loads_nothing_heavy() -> None:
    heavy = {"numpy", "onnxruntime", "tokenizers", "zeroconf", "bleak", "bumble", "nacl"}
    assert not modules_after("import edge_dan") & heavy
