"""The toga view's wiring, on toga's dummy backend (no display): its own buttons pressed.

The app is built as on a phone, in demo mode (its agents on loopback only, with "Ben's phone"
in the room, open to pairing and confirming any code). The test types the passphrase and
presses Unlock, sees the chart, answers a question and keeps it (the bar moves), presses Pair
on the stranger, reads the six digits the pairing box shows, names the partner and presses
"Same digits: pair", presses "Decide Saturday" on the partner's row, and reads the accord the
Accords box shows: its terms, the why, and "signatures verified (2 of 2)". Then the app exits
through its own on_exit (agents stopped, stores closed).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import app_sources  # noqa: F401  # first: the app's package on sys.path
import pytest

if os.environ.get("EDGE_DAN_PHONEAPP_REQUIRED") == "1":  # CI: missing toga fails, not skips
    import toga  # type: ignore[import-not-found, unused-ignore]
    import toga_dummy  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: F401
else:
    toga = pytest.importorskip("toga", reason="examples/phone_app/ci-setup.sh installs toga")
    pytest.importorskip("toga_dummy", reason="examples/phone_app/ci-setup.sh installs it")

WAIT = 60.0
pytestmark = pytest.mark.slow  # the value model loads, two agents pair and negotiate


@pytest.fixture
def dummy_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOGA_BACKEND", "toga_dummy")
    monkeypatch.setenv("EDGE_DAN_PHONEAPP_DEMO", "1")
    monkeypatch.setenv("EDGE_DAN_PHONEAPP_HOME", str(tmp_path / "owner"))
    monkeypatch.delenv("EDGE_DAN_PASSPHRASE", raising=False)  # the owner types it
    return tmp_path / "owner"


def texts(box: Any) -> list[str]:
    """Every label's text in ``box``, depth first."""
    found = []
    for child in box.children:
        if isinstance(child, toga.Label):
            found.append(child.text)
        found += texts(child)
    return found


def button(box: Any, text: str) -> Any:
    """The first button in ``box`` showing ``text``."""
    for child in box.children:
        if isinstance(child, toga.Button) and child.text == text:
            return child
        inner = button(child, text) if child.children is not None else None
        if inner is not None:
            return inner
    return None


async def until(condition: Callable[[], object], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"the app never showed {what}") from None


async def press(box: Any, text: str) -> None:
    found = button(box, text)
    assert found is not None, f"no {text!r} button in {texts(box)}"
    pressed = found.on_press()  # toga's own handler wrapper: what a tap runs
    if isinstance(pressed, asyncio.Future):
        await pressed


def test_the_view_unlocks_pairs_decides_and_shows_the_verified_accord(
    dummy_backend: Path,
) -> None:
    from little_dan_phone.app import LittleDanPhone

    async def run() -> None:
        app = LittleDanPhone("Little Dan", "org.edgedan.test")
        try:
            await until(lambda: app.demo_partner is not None, "the demo partner")
            await press(app.locked, "Unlock")
            assert app.message.text == "type your passphrase"
            app.passphrase.value = "my phone secret"
            await press(app.locked, "Unlock")
            assert app.presenter.screen == "main" and app.window.content is not app.locked
            assert app.passphrase.value == ""  # not left in the widget
            scrolled = app.window.content
            assert isinstance(scrolled, toga.ScrollContainer)
            main = scrolled.content
            assert [bar.value for bar in app.bars.values()] == [0.5] * 10

            item = app.presenter.items[0]  # self-direction's first question
            choice = app.questions[item.id]
            choice.value = f"6 {app.presenter.answer_labels[6]}"  # as the owner picks it
            assert app.presenter.answers[item.id] == 6  # the Selection's on_change ran
            await press(main, "Keep my answers")
            assert app.bars["self-direction"].value > 0.5 > app.bars["power"].value

            await until(lambda: button(app.nearby, "Pair"), "a stranger to pair with")
            pairing = asyncio.ensure_future(press(app.nearby, "Pair"))
            await until(lambda: button(app.pairing, "Same digits: pair"), "the pairing code")
            (question,) = [t for t in texts(app.pairing) if t.startswith("Does the other")]
            digits = question.removeprefix("Does the other phone show ").removesuffix("?")
            assert len(digits) == 7 and digits[3] == " " and digits.replace(" ", "").isdigit()
            app.pair_name.value = "Ben"
            await press(app.pairing, "Same digits: pair")
            await pairing
            assert app.message.text == "paired with Ben" and texts(app.pairing) == []

            await until(lambda: button(app.nearby, "Decide Saturday"), "Ben as a partner")
            assert "Ben" in texts(app.nearby)
            await press(app.nearby, "Decide Saturday")
            shown = texts(app.accords)
            assert shown[0].startswith("Saturday ")
            assert shown[1] == "signatures verified (2 of 2)"
            assert shown[2].startswith("plan = ") and shown[3].startswith("why: your choice ")
        finally:
            # what closing the window runs: the app's on_exit, then exit
            app.request_exit()  # type: ignore[no-untyped-call, unused-ignore]
            await until(lambda: app.presenter.owner is None, "its store closed")
        assert app.presenter.agent is None

    asyncio.run(run())
