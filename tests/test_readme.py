"""The README's five-minute tutorial runs as written, uses only names from ``edge_dan``, and
stays within 30 lines of code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
STDLIB = {"asyncio", "tempfile", "pathlib"}


def tutorial() -> str:
    text = README.read_text()
    section = text.split("## Five-minute tutorial", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the tutorial has exactly one Python block"
    return str(blocks[0])


def test_the_tutorial_uses_only_edge_dan_names_in_at_most_30_lines() -> None:
    code = tutorial()
    lines = [line for line in code.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) <= 30, f"{len(lines)} lines of code"
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            assert node.module == "edge_dan" or node.module in STDLIB, node.module
        elif isinstance(node, ast.Import):
            assert {alias.name for alias in node.names} <= STDLIB


@pytest.mark.slow
def test_the_tutorial_pairs_negotiates_and_verifies(tmp_path: Path) -> None:
    script = tmp_path / "tutorial.py"
    script.write_text(tutorial())
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    codes = re.findall(r"pairing code (\d{6}) with", done.stdout)
    assert len(codes) == 2 and codes[0] == codes[1], done.stdout  # both owners saw the same
    assert re.search(r"agreed: accord \w+: plan = .+; signed by 2 of 2 parties", done.stdout)
