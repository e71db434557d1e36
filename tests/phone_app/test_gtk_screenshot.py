"""The phone app for real on the desktop backend: toga-gtk in a window under Xvfb.

The app starts with a store made beforehand (a profile that is not neutral), unlocks from the
desktop's keystore stand-in (EDGE_DAN_PASSPHRASE), reaches its main screen, and in its demo's
"play" mode pairs with the demo partner and decides Saturday with it, on GTK's own main loop;
a screenshot of the main screen with the accord on it must not be blank, and is kept
(``$EDGE_DAN_ARTIFACTS/phone_app.png``, else ``.ci-artifacts/phone_app.png``). SIGTERM then
closes it cleanly. Skipped, with the reason, where Xvfb, ImageMagick or GTK with PyGObject are
missing (``examples/phone_app/ci-setup.sh`` installs them), unless EDGE_DAN_PHONEAPP_REQUIRED=1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_dan import KdfParams, Owner

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "examples" / "phone_app" / "src"
PASSPHRASE = "desktop phone secret"
SCREEN = "420x1000x24"
WAIT = 120.0  # seconds for the app to come up on a loaded machine (the value model loads)

pytestmark = pytest.mark.slow

GTK_PROBE = (
    "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk; "
    "import toga_gtk, PIL"
)


def missing() -> str | None:
    """Why this machine cannot run the test, or None."""
    for tool, package in (("Xvfb", "xvfb"), ("import", "imagemagick")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt package {package}; see ci-setup.sh)"
    probe = subprocess.run(
        [sys.executable, "-c", GTK_PROBE], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"toga-gtk with PyGObject and GTK 3 is not importable ({last}); see ci-setup.sh"
    return None


@pytest.fixture
def display() -> Iterator[str]:
    why = missing()
    if why is not None:
        if os.environ.get("EDGE_DAN_PHONEAPP_REQUIRED") == "1":
            pytest.fail(why)
        pytest.skip(why)
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as number:
            yield f":{number.readline().strip()}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=30)


class Lines:
    """The app's stdout lines as they come, waited for."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, text: str, *, unless: str = "") -> None:
        """Until a line holds ``text``; ``AssertionError`` when one holds ``unless`` first."""

        def said(what: str) -> bool:
            return bool(what) and any(what in line for line in self.lines)

        with self.changed:
            if not self.changed.wait_for(lambda: said(text) or said(unless), timeout=WAIT):
                raise AssertionError(f"no {text!r} from the app; it said {self.lines}")
            assert said(text), f"{unless!r} before {text!r}: {self.lines}"


def screenshot(display: str, path: Path) -> np.ndarray:
    from PIL import Image  # type: ignore[import-not-found,unused-ignore]

    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True)
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def artifacts() -> Path:
    folder = Path(os.environ.get("EDGE_DAN_ARTIFACTS") or REPO / ".ci-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_app_unlocks_shows_its_main_screen_under_xvfb_and_the_screenshot_is_kept(
    display: str, tmp_path: Path, fast_kdf: KdfParams
) -> None:
    home = tmp_path / "owner"
    with Owner.create(home, PASSPHRASE, kdf=fast_kdf) as owner:
        owner.profile.edit({"benevolence": 0.9, "universalism": 0.8, "power": 0.1})
    env = {
        **os.environ,
        "DISPLAY": display,
        "PYTHONPATH": str(SOURCES),
        "EDGE_DAN_PHONEAPP_HOME": str(home),
        # Loopback only, with the demo partner in the room, and the app playing its owner's
        # taps: Pair, the digits confirmed, Saturday decided.
        "EDGE_DAN_PHONEAPP_DEMO": "play",
        "EDGE_DAN_PASSPHRASE": PASSPHRASE,
        "NO_AT_BRIDGE": "1",  # no accessibility bus in a bare X server: GTK would warn
    }
    stderr = (tmp_path / "stderr").open("w+")  # a file: GTK's warnings never fill a pipe
    app = subprocess.Popen(
        [sys.executable, "-m", "little_dan_phone"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )
    lines = Lines(app.stdout)
    try:
        lines.wait_for("little-dan-phone: main screen")
        # Paired, decided: the accord is on screen.
        lines.wait_for(", accords 1", unless="no agreement")
        shot = artifacts() / "phone_app.png"
        pixels = screenshot(display, shot)
        # GTK draws asynchronously: take another until the window's content is there.
        tries = 1
        while pixels.std() < 20 and tries < 50:
            pixels, tries = screenshot(display, shot), tries + 1
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=60)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        stderr.seek(0)
        errors = stderr.read()
        stderr.close()
    assert pixels.shape == (1000, 420)
    assert pixels.std() >= 20, f"the screenshot is blank (pixel std {pixels.std():.1f})"
    assert len(np.unique(pixels)) > 16  # text and bars, not two flat colours
    assert app.returncode == 0, errors
    assert "Traceback" not in errors, errors
