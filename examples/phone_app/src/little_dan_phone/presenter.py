"""The phone app's logic, with no GUI toolkit: plain state and actions over an ``edge_dan.Agent``.

A view (``little_dan_phone.app``, toga) shows ``Presenter``'s fields and calls its actions; the
presenter calls ``on_change`` whenever something on screen should change. Every action runs on
the app's asyncio loop (toga's), as the agent does; the slow parts (unlocking the store with its
memory-hard KDF, the value model) run in a worker thread so the screen stays live.

Errors an owner can cause (a wrong passphrase, an empty option) become one line in ``error``
and change nothing; the store is only ever touched through ``edge_dan``'s public objects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edge_dan import (
    QUESTIONNAIRE,
    Accord,
    Agent,
    EdgeDanError,
    KdfParams,
    LittleDan,
    Network,
    OutcomeSpace,
    Owner,
    Peer,
    StoreNotFound,
    TextIssue,
    ValueModel,
    strategy_for,
)
from little_dan_phone.explain import AccordCard, Bar, Ranked, Topic, card, chart, ranking

# Items left unanswered count as this, the same for every value, so they do not tilt the chart
# (the questionnaire scores each value against the owner's own mean answer).
UNANSWERED = 4
SHOWN_ITEMS = 5  # a phone screen asks a few; the CLI's `edge-dan profile quiz` asks all 30
PAIRING_SECONDS = 120.0


class Keystore(Protocol):
    """Where a phone keeps the store's secret: Android Keystore, the iOS Keychain.

    ``secret()`` gives it, or ``None`` when there is none yet (the owner types a passphrase, and
    ``remember`` may then keep it there). The desktop app uses ``NoKeystore``.
    """

    def secret(self) -> str | None: ...

    def remember(self, secret: str) -> None: ...


class NoKeystore:
    """No OS keystore: the owner types the passphrase every time."""

    def secret(self) -> str | None:
        return None

    def remember(self, secret: str) -> None:
        del secret  # nowhere safe to keep it


@dataclass(frozen=True)
class NearbyAgent:
    """An agent seen nearby: a partner (by the name its owner gave) or a stranger."""

    key: str  # what ``pair_with`` takes
    label: str
    partner: bool
    open_to_pairing: bool
    identity_key: bytes | None


@dataclass(frozen=True)
class PairingPrompt:
    """Numeric comparison: the owner checks the other screen shows the same six digits."""

    code: str
    fingerprint: str


NetworksFactory = Callable[[], Sequence[Network]]


class Presenter:
    """The app's state and actions (see the module doc); one per owner and device."""

    def __init__(
        self,
        home: Path,
        networks: NetworksFactory,
        *,
        model: ValueModel | None = None,
        keystore: Keystore | None = None,
        kdf: KdfParams | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.home = home
        self._networks = networks
        self._model = model
        self.keystore: Keystore = keystore or NoKeystore()
        self._kdf = kdf  # tests pass a fast one; None: the store's safe default
        self.on_change = on_change
        # What the screens show.
        self.screen = "locked"  # "locked", then "main"
        self.error = ""
        self.status = ""
        self.bars: list[Bar] = []
        self.items = QUESTIONNAIRE.items[:SHOWN_ITEMS]
        self.answers: dict[str, int] = {item.id: UNANSWERED for item in QUESTIONNAIRE.items}
        self.ranked: list[Ranked] = []
        self.nearby: list[NearbyAgent] = []
        self.pairing: PairingPrompt | None = None
        self.open_to_pairing = False
        self.accords: list[AccordCard] = []
        # What is behind them.
        self.owner: Owner | None = None
        self.agent: Agent | None = None
        self._answer: asyncio.Future[str | None] | None = None
        self._topics: list[Topic] = []
        self._tasks: list[asyncio.Task[None]] = []

    answer_labels = QUESTIONNAIRE.answer_labels

    # -- unlocking ---------------------------------------------------------------------------

    async def unlock(self, passphrase: str | None = None) -> bool:
        """Open the owner's store (created on first use) and start the agent; ``False`` and a
        one-line ``error`` when it cannot (a wrong passphrase changes nothing)."""
        if self.owner is not None:
            return True  # a second tap while unlocked: one store, one agent
        secret = passphrase if passphrase else self.keystore.secret()
        if not secret:
            return self._fail("type your passphrase")
        self.status = "unlocking..."
        self.on_change()
        try:
            owner = await asyncio.to_thread(self._open, secret)
        except EdgeDanError as exc:
            self.status = ""
            return self._fail(str(exc))
        try:
            model = self._model or await asyncio.to_thread(ValueModel.load)
            agent = Agent(
                owner,
                networks=list(self._networks()),
                on_pairing=self._ask_owner,
                on_agenda=self._on_agenda,
                value_model=model,
            )
            await agent.start()
        except (EdgeDanError, OSError) as exc:  # no network to start on, say
            owner.close()
            self.status = ""
            return self._fail(f"the agent could not start: {exc}")
        except BaseException:
            owner.close()
            raise
        if passphrase:
            self.keystore.remember(passphrase)
        self.owner, self.agent, self._model = owner, agent, model
        self._tasks = [
            asyncio.create_task(self._watch_nearby()),
            asyncio.create_task(self._watch_results()),
        ]
        self.screen, self.error, self.status = "main", "", ""
        self.answers.update(owner.profile.quiz_answers() or {})  # what the owner said before
        self.bars = chart(owner)
        self.on_change()
        return True

    def _open(self, secret: str) -> Owner:
        try:
            return Owner.open(self.home, secret)
        except StoreNotFound:
            return Owner.create(self.home, secret, kdf=self._kdf)

    def _fail(self, message: str) -> bool:
        self.error = message.splitlines()[0] if message else "failed"
        self.on_change()
        return False

    async def close(self) -> None:
        """Stop the agent (goodbye on the network) and close the store."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(None)  # an open pairing question: declined
        if self.agent is not None:
            await self.agent.stop()
        if self.owner is not None:
            self.owner.close()
        self.agent = self.owner = None
        self.screen = "locked"

    @property
    def value_model(self) -> ValueModel | None:
        """The value model judging options (loaded at unlock unless one was given)."""
        return self._model

    def _ready(self) -> tuple[Owner, Agent, ValueModel]:
        if self.owner is None or self.agent is None or self._model is None:
            raise RuntimeError("unlock first")
        return self.owner, self.agent, self._model

    # -- values: the chart, the questionnaire, teaching ----------------------------------------

    def answer(self, item_id: str, answer: int) -> None:
        """Answer one questionnaire item (1-6); ``save_answers`` makes them the profile."""
        if item_id not in self.answers or answer not in QUESTIONNAIRE.answer_labels:
            self._fail(f"no such answer: {item_id}={answer}")
            return
        self.answers[item_id] = answer

    def save_answers(self) -> bool:
        """Score the questionnaire and make it the owner's profile (the chart follows)."""
        owner, _, _ = self._ready()
        try:
            result = owner.profile.take_quiz(self.answers)
        except EdgeDanError as exc:
            return self._fail(str(exc))
        self.bars = chart(owner)
        self.error = ""
        self.status = "answers kept" + (
            " (all the same: they say nothing about your priorities)" if result.uniform else ""
        )
        self.on_change()
        return True

    async def teach(self, preferred: str, rejected: str) -> bool:
        """Keep "I prefer ``preferred`` over ``rejected``"; the personal model learns from it."""
        owner, _, model = self._ready()
        try:
            scores = await asyncio.to_thread(model.effects, [preferred, rejected])
            owner.feedback.add(preferred, rejected, scores[0], scores[1], tier=model.tier)
        except EdgeDanError as exc:
            return self._fail(str(exc))
        self.error, self.status = "", "Little Dan will remember that"
        self.on_change()
        return True

    async def rank(self, options: Sequence[str]) -> list[Ranked]:
        """The options best first for the owner (``ranked``); harmful ones are left out."""
        owner, _, model = self._ready()
        try:
            self.ranked = await asyncio.to_thread(ranking, owner, model, options)
        except EdgeDanError as exc:
            self._fail(str(exc))
            return []
        self.error = ""
        self.on_change()
        return self.ranked

    # -- nearby and pairing --------------------------------------------------------------------

    async def _watch_nearby(self) -> None:
        _, agent, _ = self._ready()
        async for _event in agent.events():
            self.nearby = [
                NearbyAgent(
                    key=entry.key,
                    label=entry.name
                    or ("someone open to pairing" if entry.open_to_pairing else "someone nearby"),
                    partner=entry.partner,
                    open_to_pairing=entry.open_to_pairing,
                    identity_key=entry.identity_key,
                )
                for entry in agent.directory.entries()
            ]
            self.on_change()

    async def open_pairing(self, seconds: float = PAIRING_SECONDS) -> None:
        """Let a nearby agent ask to pair, for ``seconds``."""
        _, agent, _ = self._ready()
        await agent.open_to_pairing(seconds)
        self.open_to_pairing = True
        self.status = "open to pairing: the other phone taps Pair"
        self.on_change()

    async def pair_with(self, key: str) -> Peer | None:
        """Pair with a stranger nearby that is open to pairing; ``None`` if it did not happen."""
        _, agent, _ = self._ready()
        try:
            peer = await agent.pair(key, self._ask_owner)
        except EdgeDanError as exc:
            self._fail(f"not paired: {exc}")
            return None
        self.error, self.status = "", f"paired with {peer.name}"
        self.on_change()
        return peer

    async def _ask_owner(self, code: str, fingerprint: str) -> str | None:
        """Both owners see the same six digits: only they can tell, so the agent asks."""
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._answer, self.pairing = answer, PairingPrompt(code, fingerprint)
        self.on_change()
        try:
            return await asyncio.wait_for(answer, PAIRING_SECONDS)
        except TimeoutError:
            return None  # an owner who does not answer declines
        finally:
            self._answer, self.pairing = None, None
            self.open_to_pairing = False
            self.on_change()

    def confirm_pairing(self, name: str) -> None:
        """The digits match: keep the partner as ``name``."""
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(name.strip() or "partner")

    def deny_pairing(self) -> None:
        """The digits differ (or the owner does not want to pair): nothing is kept."""
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(None)

    # -- negotiating and accords ---------------------------------------------------------------

    def _strategy(self, space: OutcomeSpace) -> LittleDan:
        owner, _, model = self._ready()
        return strategy_for(owner, space, model)

    def _on_agenda(self, peer: Peer, title: str, space: OutcomeSpace) -> LittleDan | None:
        del peer  # every partner may ask; Little Dan answers by the owner's values
        self._topics.append((title, space))
        return self._strategy(space)

    async def negotiate(self, partner: bytes, topic: str, options: Sequence[str]) -> bool:
        """Decide ``topic`` with a partner nearby among ``options`` (free text)."""
        _, agent, _ = self._ready()
        try:
            space = OutcomeSpace([TextIssue("plan", tuple(options))])
            self._topics.append((topic, space))
            self.status = f"deciding {topic}..."
            self.on_change()
            result = await agent.negotiate([partner], topic, space, self._strategy(space))
        except (EdgeDanError, ValueError) as exc:
            self.status = ""
            return self._fail(str(exc))
        self.status = "" if result.accord else str(result)
        if result.accord is not None:
            self._show(result.accord)
        self.on_change()
        return result.accord is not None

    async def _watch_results(self) -> None:
        """Negotiations partners started: the accord is already signed and stored."""
        _, agent, _ = self._ready()
        while True:
            result = await agent.negotiations.results.get()
            if result.accord is not None:
                self._show(result.accord)
                self.on_change()

    def _show(self, accord: Accord) -> None:
        owner, _, model = self._ready()
        shown = card(accord, owner, model, self._topics)
        if all(existing.id != shown.id for existing in self.accords):
            self.accords.insert(0, shown)


async def unlocked(presenter: Presenter, passphrase: str) -> Presenter:
    """``presenter`` unlocked, or ``RuntimeError`` with its one-line error (for scripts)."""
    if not await presenter.unlock(passphrase):
        raise RuntimeError(presenter.error)
    return presenter


@contextlib.asynccontextmanager
async def running(presenter: Presenter, passphrase: str) -> AsyncIterator[Presenter]:
    """``async with running(p, secret) as p:`` unlocked inside, stopped and closed after."""
    try:
        yield await unlocked(presenter, passphrase)
    finally:
        await presenter.close()
