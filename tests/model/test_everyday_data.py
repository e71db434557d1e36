"""The everyday corpus and the independent writer's shift set are well formed and kept apart.

The shift set (models/data/everyday-shift/) measures how the judgement carries over to a writer
who never saw the corpus; it is worth something only while no text of it is in the corpus (the
build trains on the corpus's train split and calibrates on its dev split).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
EVERYDAY = REPO / "models" / "data" / "everyday"
SHIFT = REPO / "models" / "data" / "everyday-shift" / "shift.jsonl"


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("everyday_check", EVERYDAY / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _key(text: object) -> str:
    return " ".join(str(text).casefold().split())


@pytest.mark.parametrize("name", ["corpus", "shift"])
def test_items_follow_the_guidelines(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    check = _checker()
    paths = sorted((EVERYDAY / "raw").glob("*.jsonl")) if name == "corpus" else [SHIFT]
    items = check.load(paths)  # exits with file:line and the problem on a malformed item
    problems = check.report(items)
    if name == "shift":  # the corpus keeps its 7 texts written twice; the loader drops repeats
        assert problems == []
    assert sum(1 for i in items if i["harm"] is not None) >= 300
    assert "harmful" in capsys.readouterr().out


def test_no_shift_text_is_in_the_corpus() -> None:
    check = _checker()
    corpus = {_key(i["text"]) for i in check.load(sorted((EVERYDAY / "raw").glob("*.jsonl")))}
    shift = [_key(i["text"]) for i in check.load([SHIFT])]
    assert len(shift) >= 800
    assert [t for t in shift if t in corpus] == []


def test_a_malformed_item_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    line = (
        '{"id": "x-0001", "text": "kill time at the library", "domain": "leisure", '
        '"effects": {"hedonism": 1}, "primary": "hedonism", '
        '"harm": {"target": "other", "kind": "violence"}, "tags": ["idiom"], "pair": null}'
    )
    bad.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad.jsonl:1: an idiom item is harmless"):
        _checker().load([bad])
