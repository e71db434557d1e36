"""The toga view: one window, phone-shaped, over ``Presenter`` (all the logic is there).

Run on the desktop (GTK, macOS, Windows) with ``python -m little_dan_phone``, or on a phone
through Briefcase (``pyproject.toml`` beside ``src/``). Settings come from the environment, as
Briefcase passes nothing on the command line:

- ``EDGE_DAN_PHONEAPP_HOME``: the owner's store (default: the app's data folder);
- ``EDGE_DAN_PHONEAPP_NETWORK``: ``lan`` (mDNS and TCP, the default) or ``loopback`` (only
  agents inside this process: nothing leaves the machine);
- ``EDGE_DAN_PHONEAPP_DEMO=1``: loopback, plus a second agent in this process ("Ben's phone",
  open to pairing, confirming any code) to pair and decide with on one screen;
  ``EDGE_DAN_PHONEAPP_DEMO=play``: the same, and the app plays the owner's part once unlocked
  (pairs with Ben, confirms the digits, decides Saturday), for a hands-off look;
- ``EDGE_DAN_PASSPHRASE``: the desktop's stand-in for the phone's keystore; set, the app
  unlocks without asking.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import textwrap
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

# Without toga installed (a developer who has not run ci-setup.sh), mypy still passes here:
# hence "unused-ignore" beside each code that only toga's own annotations make necessary.
import toga  # type: ignore[import-not-found, unused-ignore]
from toga.style import Pack  # type: ignore[import-not-found, unused-ignore]

from edge_dan import (
    Agent,
    LanNetwork,
    LittleDan,
    LoopbackHub,
    LoopbackNetwork,
    Network,
    OutcomeSpace,
    Owner,
    Peer,
    strategy_for,
)
from little_dan_phone import platform_hooks
from little_dan_phone.presenter import NearbyAgent, Presenter

PLANS = (
    "Visit grandma and cook lunch for her",
    "Go to an all-night techno party",
    "A quiet picnic and a long walk in the park",
)
WIDTH = 48  # characters on one line of a phone-width label
COLUMN = Pack(direction="column", margin=6)
ROW = Pack(direction="row", margin_top=2)
HEADING = Pack(font_weight="bold", margin_top=10)


class EnvironmentKeystore:
    """The desktop's stand-in for Android Keystore / the iOS Keychain: EDGE_DAN_PASSPHRASE."""

    def secret(self) -> str | None:
        return os.environ.get("EDGE_DAN_PASSPHRASE") or None

    def remember(self, secret: str) -> None:
        del secret  # an environment variable is not a place to write secrets to


def say(line: str) -> None:
    """What the app reached, on stdout: how a test (or a developer) follows it."""
    print(f"little-dan-phone: {line}", flush=True)


def wrapped(text: str) -> str:
    return "\n".join(textwrap.wrap(text, WIDTH)) or text


Handler = Callable[..., Coroutine[Any, Any, None]]


class LittleDanPhone(toga.App):  # type: ignore[misc, unused-ignore]
    def startup(self) -> None:
        self.play = os.environ.get("EDGE_DAN_PHONEAPP_DEMO") == "play"
        demo = self.play or os.environ.get("EDGE_DAN_PHONEAPP_DEMO") == "1"
        network = "loopback" if demo else os.environ.get("EDGE_DAN_PHONEAPP_NETWORK", "lan")
        self.hub = LoopbackHub()
        self.demo_partner: tuple[Owner, Agent] | None = None
        self.want_demo = demo
        home = os.environ.get("EDGE_DAN_PHONEAPP_HOME") or str(self.paths.data / "owner")
        self.presenter = Presenter(
            Path(home),
            self._networks(network),
            keystore=platform_hooks.keystore() or EnvironmentKeystore(),
            on_change=self.refresh,
        )
        # toga's MainWindow.__init__ has no annotations (0.5.5).
        self.window = toga.MainWindow(title="Little Dan", size=(420, 1000))  # type: ignore[no-untyped-call, unused-ignore]
        self.main_window = self.window
        self.window.position = (0, 0)  # where a screenshot of the screen finds it
        self.passphrase = toga.PasswordInput(placeholder="passphrase", style=Pack(flex=1))
        self.message = toga.Label("", style=Pack(color="#a00000"))
        self.locked = toga.Box(
            style=COLUMN,
            children=[
                toga.Label("Little Dan keeps your values on this phone, encrypted."),
                toga.Box(
                    style=ROW,
                    children=[self.passphrase, toga.Button("Unlock", on_press=self.on_unlock)],
                ),
                self.message,
            ],
        )
        self.window.content = self.locked
        self.window.show()
        self.multicast_lock = platform_hooks.acquire_multicast_lock(self)

    def _networks(self, kind: str) -> Callable[[], Sequence[Network]]:
        if kind == "loopback":
            return lambda: [LoopbackNetwork(self.hub)]
        if kind != "lan":
            raise SystemExit(f"EDGE_DAN_PHONEAPP_NETWORK is lan or loopback, not {kind!r}")
        return lambda: [LanNetwork()]

    async def on_running(self) -> None:  # type: ignore[override, unused-ignore]  # toga awaits it
        if sys.platform not in ("android", "ios"):  # a desktop: SIGTERM ends it cleanly
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.request_exit)
        if self.want_demo:
            await self._start_demo_partner()
        if self.presenter.keystore.secret():
            await self.presenter.unlock()
            if self.play:
                await self._play()

    async def _play(self) -> None:
        """The demo owner's taps: Pair on Ben's phone, the digits confirmed, Saturday decided."""
        p = self.presenter
        async with asyncio.timeout(120):
            while not (stranger := next((n for n in p.nearby if n.open_to_pairing), None)):
                await asyncio.sleep(0.1)
            pairing = asyncio.ensure_future(p.pair_with(stranger.key))
            while p.pairing is None and not pairing.done():
                await asyncio.sleep(0.05)
            p.confirm_pairing("Ben")  # the owner saw the same digits on both screens
            peer = await pairing
            if peer is not None:
                while not any(n.identity_key == peer.identity_key for n in p.nearby):
                    await asyncio.sleep(0.05)  # Ben seen again, as a partner now
                await p.negotiate(peer.identity_key, "Saturday", self._option_lines())

    async def on_exit(self) -> bool:  # type: ignore[override, unused-ignore]  # toga awaits it
        await self.presenter.close()
        if self.demo_partner is not None:
            owner, agent = self.demo_partner
            await agent.stop()
            owner.close()
        platform_hooks.release(self.multicast_lock)
        return True

    async def _start_demo_partner(self) -> None:
        """Ben's phone, in this process: open to pairing, it confirms whatever code it sees."""

        async def confirm(code: str, fingerprint: str) -> str:
            del code, fingerprint  # a demo: Ben's owner always says yes
            return "Phone"

        home = Path(tempfile.mkdtemp(prefix="little-dan-demo-"))
        owner = await asyncio.to_thread(Owner.create, home / "ben", "demo")
        owner.profile.edit({"stimulation": 0.8, "benevolence": 0.7, "hedonism": 0.6})

        def answer(peer: Peer, title: str, space: OutcomeSpace) -> LittleDan:
            return strategy_for(owner, space, self.presenter.value_model)

        agent = Agent(
            owner, networks=[LoopbackNetwork(self.hub)], on_pairing=confirm, on_agenda=answer
        )
        await agent.start()
        await agent.open_to_pairing(3600)
        self.demo_partner = (owner, agent)

    # -- handlers ------------------------------------------------------------------------------

    async def on_unlock(self, widget: toga.Widget) -> None:
        await self.presenter.unlock(self.passphrase.value)
        self.passphrase.value = ""

    def refresh(self) -> None:
        """Show what the presenter holds (it calls this after every change)."""
        p = self.presenter
        self.message.text = p.error or p.status
        if p.screen != "main":
            self.window.content = self.locked
            return
        if self.window.content is self.locked:
            self.window.content = toga.ScrollContainer(content=self._main_box(), horizontal=False)
            say("main screen")
        self._fill()

    def _main_box(self) -> toga.Box:
        p = self.presenter
        self.bars = {
            bar.value: toga.ProgressBar(max=1.0, value=bar.weight, style=Pack(flex=1))
            for bar in p.bars
        }
        chart = [
            toga.Box(style=ROW, children=[toga.Label(name, style=Pack(width=120)), bar])
            for name, bar in self.bars.items()
        ]
        labels = [f"{k} {v}" for k, v in p.answer_labels.items()]
        self.questions = {}
        asked = []
        for item in p.items:
            choice = toga.Selection(items=labels, on_change=self._answerer(item.id))
            choice.value = labels[p.answers[item.id] - 1]
            self.questions[item.id] = choice
            asked += [toga.Label(wrapped(item.text)), choice]
        self.prefer = toga.TextInput(value=PLANS[2], style=Pack(flex=1))
        self.over = toga.TextInput(value=PLANS[0], style=Pack(flex=1))
        self.options = toga.MultilineTextInput(value="\n".join(PLANS), style=Pack(height=70))
        self.ranking = toga.Box(style=COLUMN)
        self.pair_name = toga.TextInput(placeholder="their name", style=Pack(flex=1))
        self.pairing = toga.Box(style=COLUMN)
        self.nearby = toga.Box(style=COLUMN)
        self.accords = toga.Box(style=COLUMN)
        return toga.Box(
            style=COLUMN,
            children=[
                toga.Label("Little Dan", style=Pack(font_size=16, font_weight="bold")),
                self.message,
                toga.Label("Your values", style=HEADING),
                *chart,
                toga.Label("Nearby", style=HEADING),
                toga.Button("Open to pairing", on_press=self.on_open_pairing),
                self.pairing,
                self.nearby,
                toga.Label("Accords", style=HEADING),
                self.accords,
                toga.Label("A few questions: how much is this person like you?", style=HEADING),
                *asked,
                toga.Button("Keep my answers", on_press=self.on_save_answers),
                toga.Label("Teach Little Dan", style=HEADING),
                toga.Box(style=ROW, children=[toga.Label("I prefer "), self.prefer]),
                toga.Box(style=ROW, children=[toga.Label("over       "), self.over]),
                toga.Button("Remember this", on_press=self.on_teach),
                toga.Label("Options (one a line)"),
                self.options,
                toga.Button("Rank them for me", on_press=self.on_rank),
                self.ranking,
            ],
        )

    def _fill(self) -> None:
        p = self.presenter
        for bar in p.bars:
            self.bars[bar.value].value = bar.weight
        self.ranking.clear()
        for ranked in p.ranked:
            self.ranking.add(toga.Label(wrapped(f"{ranked.rank}. {ranked.text}: {ranked.why}")))
        self.pairing.clear()
        if p.pairing is not None:
            code = f"{p.pairing.code[:3]} {p.pairing.code[3:]}"
            self.pairing.add(
                toga.Label(f"Does the other phone show {code}?", style=Pack(font_size=14)),
                toga.Box(style=ROW, children=[toga.Label("Keep them as "), self.pair_name]),
                toga.Box(
                    style=ROW,
                    children=[
                        toga.Button("Same digits: pair", on_press=self.on_confirm),
                        toga.Button("Different: refuse", on_press=self.on_deny),
                    ],
                ),
            )
        self.nearby.clear()
        shown = [agent for agent in p.nearby if agent.partner or agent.open_to_pairing]
        for agent in shown:
            self.nearby.add(self._nearby_row(agent))
        # Strangers' adverts are unlinkable by design: one phone open to pairing shows up as
        # two strangers (its usual advert and its pairing one), so the others are only counted.
        others = len(p.nearby) - len(shown)
        if others or not shown:
            self.nearby.add(toga.Label(f"{others} other agents nearby, not paired with you"))
        self.accords.clear()
        if not p.accords:
            self.accords.add(toga.Label("none yet: pair, then decide something together"))
        for accord in p.accords:
            signed = "verified" if accord.verified else f"NOT valid: {accord.problem}"
            self.accords.add(
                toga.Label(
                    f"{accord.topic or 'accord'} {accord.id}", style=Pack(font_weight="bold")
                ),
                toga.Label(f"signatures {signed} ({accord.signed} of {accord.parties})"),
            )
            for term in accord.terms:
                self.accords.add(toga.Label(wrapped(f"{term.issue} = {term.value}")))
                self.accords.add(toga.Label(wrapped(f"why: {term.why}")))
        say(f"nearby {len(p.nearby)}, accords {len(p.accords)}: {self.message.text}")

    def _nearby_row(self, agent: NearbyAgent) -> toga.Box:
        row = toga.Box(style=ROW, children=[toga.Label(agent.label, style=Pack(flex=1))])
        if agent.partner and agent.identity_key is not None:
            row.add(toga.Button("Decide Saturday", on_press=self._decider(agent.identity_key)))
        elif agent.open_to_pairing:
            row.add(toga.Button("Pair", on_press=self._pairer(agent.key)))
        return row

    def _answerer(self, item_id: str) -> Callable[[toga.Selection], None]:
        def chosen(widget: toga.Selection) -> None:
            self.presenter.answer(item_id, int(str(widget.value).split(" ", 1)[0]))

        return chosen

    def _pairer(self, key: str) -> Handler:
        async def pair(widget: toga.Widget) -> None:
            await self.presenter.pair_with(key)

        return pair

    def _decider(self, identity_key: bytes) -> Handler:
        async def decide(widget: toga.Widget) -> None:
            await self.presenter.negotiate(identity_key, "Saturday", self._option_lines())

        return decide

    def _option_lines(self) -> list[str]:
        return [line.strip() for line in self.options.value.splitlines() if line.strip()]

    def on_save_answers(self, widget: toga.Widget) -> None:
        self.presenter.save_answers()

    async def on_teach(self, widget: toga.Widget) -> None:
        await self.presenter.teach(self.prefer.value, self.over.value)

    async def on_rank(self, widget: toga.Widget) -> None:
        await self.presenter.rank(self._option_lines())

    async def on_open_pairing(self, widget: toga.Widget) -> None:
        await self.presenter.open_pairing()

    def on_confirm(self, widget: toga.Widget) -> None:
        self.presenter.confirm_pairing(self.pair_name.value)

    def on_deny(self, widget: toga.Widget) -> None:
        self.presenter.deny_pairing()


def main() -> LittleDanPhone:
    return LittleDanPhone("Little Dan", "org.edgedan.littledanphone")
