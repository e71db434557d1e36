"""The demo's report in a real browser: Debian's headless Chromium renders it, its charts are
visible, its console stays silent, and it asks for nothing over the network.

``edge-dan demo --report`` runs once (a child process, as a person would). Chromium then opens
the report twice, inside a network namespace of its own (``unshare --net`` as root: nothing it
tries can leave the machine) with every host name unresolvable:

- as the page itself, for a screenshot (kept in the test's temporary folder; a blank page of the
  same size is the reference for "non-trivial");
- as a probed copy, dumped with ``--dump-dom``: a script and a Content-Security-Policy put first in
  its ``<head>`` collect errors and console output, the size and the drawn marks of every
  ``<svg>``, the resources loaded, and every request the page tried (each is a CSP violation:
  only inline styles, inline scripts and ``data:`` images are allowed).

Chromium's own console log (``--enable-logging=stderr``) must hold no line from the page either.
The same probe run on a tampered copy (a fetch, a remote image, a script error, a hidden chart)
must report each of them: the checks can fail.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
UNSHARE = shutil.which("unshare")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]

WINDOW = (1280, 2400)
# Only what a self-contained page needs; anything else it tries is a violation event.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline';"
    " img-src data:; font-src data:"
)
PROBE = """
<script>
const probe = {problems: [], blocked: []};
addEventListener('error', e => probe.problems.push('error: ' + (e.message ||
  (e.target && (e.target.src || e.target.href)) || e.type)), true);
addEventListener('unhandledrejection', e => probe.problems.push('rejection: ' + e.reason));
document.addEventListener('securitypolicyviolation', e => probe.blocked.push(e.blockedURI));
for (const level of ['error', 'warn', 'log', 'info']) {
  const original = console[level];
  console[level] = (...args) => {
    probe.problems.push(level + ': ' + args.join(' '));
    original.apply(console, args);
  };
}
addEventListener('load', () => setTimeout(() => {
  probe.charts = [...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect(), style = getComputedStyle(svg);
    const marks = [...svg.querySelectorAll('rect, circle, line, polyline, path, text')]
      .filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
    return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
            left: box.left, right: box.right, page: document.documentElement.scrollWidth,
            shown: style.display !== 'none' && style.visibility === 'visible' &&
                   Number(style.opacity) > 0, marks: marks.length};
  });
  probe.loaded = performance.getEntriesByType('resource').map(r => r.name);
  const out = document.createElement('pre');
  out.id = 'browser-probe';
  out.textContent = JSON.stringify(probe);
  document.body.append(out);
}, 0));
</script>
"""
TAMPERING = """
<img src="http://example.invalid/tracker.png" alt="">
<script>fetch('https://example.com/beacon').catch(() => {}); notDefinedAnywhere();</script>
<style>svg[aria-label="negotiation trace"] { display: none; }</style>
"""


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium (root needs --no-sandbox) with no network: a namespace of its own with
    only a loopback that is down (as root, through ``unshare``), and every host name
    unresolvable in any case."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    if UNSHARE is not None and os.geteuid() == 0:
        argv = [UNSHARE, "--net", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console, as Chromium logs it (``INFO:CONSOLE``)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def probed(report: Path, tmp: Path, extra: str = "") -> tuple[dict[str, Any], list[str]]:
    """Open a probed copy of ``report`` (plus ``extra`` at the start of its body): what the
    probe found, and the console lines Chromium logged."""
    page = report.read_text(encoding="utf-8")
    head = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">{PROBE}'
    assert page.count("<head>") == 1 and page.count("<body>") == 1
    page = page.replace("<head>", "<head>" + head).replace("<body>", "<body>" + extra)
    copy = tmp / f"probed-{len(list(tmp.glob('probed-*')))}.html"
    copy.write_text(page, encoding="utf-8")
    done = chromium("--dump-dom", copy.as_uri(), tmp=tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="browser-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the probe did not run: {done.stdout[:500]}"
    return json.loads(html.unescape(found.group(1))), console_lines(done.stderr)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("demo-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    env.update({"PYTHONPATH": str(REPO), "EDGE_DAN_HOME": str(base / "home")})
    path = base / "report.html"
    argv = [sys.executable, "-m", "edge_dan.cli.main", "demo", "--network", "loopback"]
    done = subprocess.run(
        [*argv, "--report", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return path


def test_the_report_renders_to_a_screenshot(report: Path, tmp_path: Path) -> None:
    shot, blank = tmp_path / "report.png", tmp_path / "blank.png"
    done = chromium(f"--screenshot={shot}", report.as_uri(), tmp=tmp_path)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    (tmp_path / "blank.html").write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    reference = chromium(f"--screenshot={blank}", (tmp_path / "blank.html").as_uri(), tmp=tmp_path)
    assert reference.returncode == 0 and blank.exists(), reference.stderr[-2000:]
    picture = shot.read_bytes()
    assert png_size(picture) == WINDOW
    # Text, charts and colours compress far worse than an empty page of the same size.
    assert len(picture) > 5 * blank.stat().st_size, (len(picture), blank.stat().st_size)
    assert console_lines(done.stderr) == []


def test_the_charts_are_visible_the_console_silent_and_nothing_fetched(
    report: Path, tmp_path: Path
) -> None:
    probe, console = probed(report, tmp_path)
    assert probe["problems"] == [] and console == []
    assert probe["blocked"] == [] and probe["loaded"] == []
    charts = probe["charts"]
    expected = report.read_text(encoding="utf-8").count("<svg")
    labels = {chart["label"] for chart in charts}
    assert len(charts) == expected and expected >= 5
    assert {"value profile", "negotiation trace", "outcome against best and reservation"} <= labels
    for chart in charts:
        assert chart["shown"] and chart["width"] > 50 and chart["height"] > 50, chart
        assert chart["left"] >= 0 and chart["right"] <= chart["page"], chart  # not cut off
        assert chart["marks"] >= 5, chart  # bars, lines, dots and labels, not an empty frame


def test_the_probe_catches_fetches_errors_and_hidden_charts(report: Path, tmp_path: Path) -> None:
    probe, console = probed(report, tmp_path, TAMPERING)
    assert sorted(probe["blocked"]) == [
        "http://example.invalid/tracker.png",
        "https://example.com/beacon",
    ]
    assert any("notDefinedAnywhere" in problem for problem in probe["problems"])
    assert any("notDefinedAnywhere" in line for line in console)
    hidden = {chart["label"] for chart in probe["charts"] if not chart["shown"]}
    assert hidden == {"negotiation trace"}  # the tampered style hides those, and only those
