"""``edge-dan demo``: agents on this machine pair, decide twice and sign, with a report.

Run as a person would (a child process), on the loopback network (no namespace needed): the
``--json`` object and the report carry everything the trace shows, and both are checked. Bad
arguments stop before anything is created, with one line and exit 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from demo_checks import check_report, check_run

from edge_dan.cli.demo.report_html import render

DemoRun = tuple[dict[str, Any], Path, Path]  # the --json object, the report, the kept homes


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    import os

    from conftest import REPO

    base = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    env["PYTHONPATH"] = str(REPO)
    cli = Cli(base / "home", env)
    report, keep = base / "report.html", base / "kept"
    result = cli(
        "demo",
        "--agents",
        "3",
        "--network",
        "loopback",
        "--json",
        "--report",
        str(report),
        "--keep",
        str(keep),
    )
    assert result.code == 0, result.err
    assert result.err == ""
    return json.loads(result.out), report, keep


def test_three_agents_pair_decide_and_sign_verified_accords(run: DemoRun) -> None:
    data, _, _ = run
    check_run(data, agents=3)
    assert data["network"] == "loopback"
    everyday = data["decisions"][0]
    # The harmful plan is refused with its reason, as edge-dan score words it.
    assert everyday["refused"][0]["reason"].startswith("harms another person")
    # Each owner's Little Dan says why it signed, in value words, and how good it is for them.
    for outcome in everyday["outcomes"]:
        assert "serves " in outcome["why"] and "(" in outcome["why"]
        assert 0 < outcome["share_of_best"] <= 1
    # The trace shows the rounds: listings growing, and the proposal everyone signed.
    rounds = everyday["rounds"]
    assert [r["round"] for r in rounds] == list(range(1, len(rounds) + 1))
    assert rounds[-1]["proposal"] == everyday["accord"]["terms"]
    assert all(rounds[-1]["answers"].values())


def test_the_report_is_self_contained_and_shows_every_owner_and_accord(run: DemoRun) -> None:
    data, report, _ = run
    assert data["report"] == str(report)
    page = check_report(report, data)
    assert "verified" in page


def test_kept_homes_hold_each_owner_store(run: DemoRun) -> None:
    data, _, keep = run
    assert data["kept"] == str(keep)
    assert sorted(p.name for p in keep.iterdir()) == sorted(
        o["name"].lower() for o in data["owners"]
    )
    assert all((keep / o["name"].lower() / "store.db").exists() for o in data["owners"])


def test_the_report_escapes_every_text(run: DemoRun) -> None:
    data, _, _ = run
    hostile = json.loads(json.dumps(data))
    hostile["owners"][0]["name"] = "<script>alert(1)</script>"
    hostile["decisions"][0]["title"] = '"><img src=x onerror=alert(1)>'
    page = render(hostile)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_text_trace_names_steps_rounds_accord_and_reasons(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "demo", "--agents", "2", "--network", "loopback", "--report", str(tmp_path / "r.html")
    )
    assert result.code == 0, result.err
    out = result.out
    for step in ("1. ", "2. ", "3. ", "4. Everyday decision", "5. Multi-issue decision", "6. "):
        assert f"\n{step}" in out
    assert "screen shows" in out and "confirms (the demo says yes)" in out
    assert "round 1:" in out and "the mediator proposes" in out
    assert "Refused by every Little Dan" in out
    assert "signature valid" in out and "verified offline" in out
    for words, share in re.findall(r"; ([a-z ]+?): (\d\.\d\d) of her best", out):
        expected = "her best option" if float(share) >= 0.9995 else "acceptable to her"
        if 0.8 <= float(share) < 0.9995:
            expected = "good for her"
        assert words == expected, (words, share)
    assert re.search(r"; ([a-z ]+?): (\d\.\d\d) of her best", out)
    assert "Nash" not in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--agents", "1"], "--agents"),
        (["--agents", "9"], "--agents"),
        (["--agents", "three"], "--agents"),
        (["--network", "wifi"], "--network"),
        (["--report", "/nonexistent-dir/r.html"], "--report"),
    ],
)
def test_bad_arguments_stop_with_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, args: list[str], says: str
) -> None:
    result = cli("demo", *args)
    assert result.code == 2
    assert says in result.err and result.err.count("\n") == 1
    assert result.out == ""


def test_keep_refuses_a_directory_with_something_in_it(cli: Cli, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.txt").write_text("keep me")
    result = cli("demo", "--keep", str(full), "--report", str(tmp_path / "r.html"))
    assert result.code == 2 and "--keep" in result.err
    assert [p.name for p in full.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "r.html").exists()
