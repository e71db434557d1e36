"""``bench/negotiation.py`` runs self-play on folders of GENIUS or GeniusWeb scenarios."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, DOMAINS, REPO

FORMS = DATA / "negotiation" / "forms"  # one small scenario per file form (GENIUS, GeniusWeb)


def test_bench_self_play_writes_one_record_per_negotiation(tmp_path: Path) -> None:
    folder = tmp_path / "domains"
    shutil.copytree(DOMAINS / "anac_y2011_Laptop", folder / "laptop")
    shutil.copytree(DOMAINS / "anac_y2010_ItexvsCypress", folder / "itex")
    out = tmp_path / "records.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "negotiation.py"),
            "--domains",
            str(folder),
            "--rounds",
            "20",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["domain"] for r in records} == {"laptop", "itex"}
    for record in records:
        assert record["agreement"] is True
        assert len(record["parties"]) == 2 and all(p.endswith(".xml") for p in record["parties"])
        assert record["np_ratio"] >= 0.9 and record["pareto_distance"] <= 0.02
        assert 0 < record["rounds"] <= 20 and record["messages"] > 0 and record["bytes"] > 0
        assert 0 < record["welfare"] <= 1
    laptop = next(r for r in records if r["domain"] == "laptop")
    assert set(laptop["outcome"]) == {"Laptop", "Harddisk", "External Monitor"}
    assert "little-dan" in done.stdout


def test_bench_takes_geniusweb_json_folders_beside_genius_xml_ones(tmp_path: Path) -> None:
    # Issue #14: the bench accepted only XML folders; a GeniusWeb folder (a domain JSON,
    # profileA.json, profileB.json, a reservation bid) was skipped as "no .xml files".
    folder = tmp_path / "domains"
    shutil.copytree(FORMS / "geniusweb_numbers", folder / "workshop")
    shutil.copytree(FORMS / "genius_real", folder / "energy")
    out = tmp_path / "records.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "negotiation.py"),
            "--domains",
            str(folder),
            "--protocol",
            "both",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "skipping" not in done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(r["domain"], r["protocol"]) for r in records} == {
        (domain, protocol)
        for domain in ("workshop", "energy")
        for protocol in ("little-dan", "little-dan-ao")
    }
    workshop = [r for r in records if r["domain"] == "workshop"]
    for record in workshop:
        assert record["parties"] == ["profileA.json", "profileB.json"]
        if record["agreement"]:
            assert set(record["outcome"]) == {"place", "budget", "hours", "rate"}
            # the organiser's reservation bid is worth 0.5333: no agreement leaves it below
            assert record["utilities"][0] >= 0.5333


def test_hardliner_bench_keeps_the_honest_party_above_its_reservation(tmp_path: Path) -> None:
    folder = tmp_path / "domains"
    shutil.copytree(DOMAINS / "anac_y2011_Laptop", folder / "laptop")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "hardliner.py"), "--domains", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert len(rows) == 4  # two protocols, the hard-liner in either seat
    for row in rows:
        assert row[-1] == "100.0%"  # never below the honest party's reservation value


@pytest.mark.slow
def test_bench_reads_the_vendored_domains_by_default(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    bench = REPO / "bench" / "negotiation.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--max-groups", "1", "--json", str(out)],  # no --domains
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "skipping" not in done.stderr  # every vendored scenario loads
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["domain"] for r in records} == {p.name for p in DOMAINS.iterdir() if p.is_dir()}
