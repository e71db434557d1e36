"""The repository is self-contained: vendored data is whole and unmodified, and nothing reads
outside the checkout (a user's clone has no folder beside it)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from conftest import DATA, DOMAINS, REPO

# Every vendored data folder says where it came from and under which licence.
PROVENANCE = [
    DATA / "noise",
    DATA / "negotiation",
    REPO / "models" / "data" / "touche23",
    REPO / "models" / "data" / "fulcra",
    REPO / "models" / "data" / "valuebench",
]

# A path out of the checkout into a sibling data folder, as code, scripts or docs would write it.
SIBLING = "sha" + "red"
OUTSIDE = re.compile(
    rf"\.\./{SIBLING}\b"  # ../<folder>
    rf"|parents\[\d\]\s*/\s*[\"']{SIBLING}"  # Path(...).parents[3] / "<folder>"
    rf"|\.parent\s*/\s*[\"']{SIBLING}[\"/']"  # REPO.parent / "<folder>"
)
SCANNED = {".py", ".sh", ".toml", ".md", ".cfg", ".ini", ".yml", ".yaml", ".txt", ".c", ".h", ".js"}
SKIPPED_DIRS = {".git", ".venv", "venv", "build", "dist", "node_modules", "__pycache__"}


@pytest.mark.parametrize("folder", PROVENANCE, ids=lambda p: str(p.relative_to(REPO)))
def test_every_vendored_folder_has_its_provenance(folder: Path) -> None:
    assert (folder / "PROVENANCE.md").is_file(), f"{folder} has no PROVENANCE.md"


def test_the_vendored_domains_are_unmodified() -> None:
    sums = DATA / "negotiation" / "SHA256SUMS"
    expected = {}
    for line in sums.read_text(encoding="ascii").splitlines():
        digest, name = line.split(maxsplit=1)
        expected[name] = digest
    found = {p.relative_to(DOMAINS).as_posix(): p for p in DOMAINS.rglob("*") if p.is_file()}
    assert set(found) == set(expected), "files added to or missing from the vendored domains"
    for name, path in found.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[name], name


def _text_files() -> list[Path]:
    files = []
    for root, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        for name in names:
            path = Path(root) / name
            if path.suffix in SCANNED or name in {"Makefile", "run"}:
                files.append(path)
    return files


def test_nothing_reads_outside_the_checkout() -> None:
    files = _text_files()
    assert len(files) > 100  # the walk found the sources
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if OUTSIDE.search(line)
    ]
    assert not offenders, "\n".join(offenders)
