"""The phone app's logic, headless: real stores in tmp homes, real agents on 127.0.0.1.

Everything goes through ``Presenter``, as the toga view drives it: unlock (a wrong passphrase
refused and nothing changed), the questionnaire moving the value chart, a taught preference
that the ranking keeps, two phones pairing by numeric comparison (the same six digits on both
screens, each owner confirming), and a negotiation whose accord both phones show with every
signature verified and the why in plain words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path

import app_sources  # noqa: F401  # first: the app's package on sys.path
import pytest
from little_dan_phone.presenter import Presenter

from edge_dan import KdfParams, LoopbackHub, LoopbackNetwork, Owner, ValueModel

PASSPHRASE = "ana's phone secret"
WAIT = 30.0  # seconds before a test gives up waiting for the agents (a loaded machine)
SATURDAY = (
    "Visit grandma and cook lunch for her",
    "Go to an all-night techno party",
    "Volunteer together at the community food bank",
)


@pytest.fixture(scope="module")
def model() -> ValueModel:
    return ValueModel.load()


@pytest.fixture
def make(tmp_path: Path, model: ValueModel, fast_kdf: KdfParams) -> Callable[[str], Presenter]:
    hub = LoopbackHub()  # the "room": agents in it see each other over loopback TCP

    def made(name: str) -> Presenter:
        return Presenter(tmp_path / name, lambda: [LoopbackNetwork(hub)], model=model, kdf=fast_kdf)

    return made


async def until(condition: Callable[[], object], what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.02)
    assert condition(), what


def run(test: Callable[[], Coroutine[object, object, None]]) -> None:
    asyncio.run(test())


def test_unlock_creates_the_store_then_refuses_a_wrong_passphrase_changing_nothing(
    make: Callable[[str], Presenter], tmp_path: Path
) -> None:
    async def test() -> None:
        first = make("ana")
        assert not await first.unlock("")  # nothing typed, no keystore: asked again
        assert first.error == "type your passphrase" and first.screen == "locked"
        assert await first.unlock(PASSPHRASE)
        assert first.screen == "main" and first.error == ""
        assert [bar.weight for bar in first.bars] == [0.5] * 10  # a new owner: neutral
        assert len(first.bars) == 10
        await first.close()
        files = sorted((p.name, p.read_bytes()) for p in (tmp_path / "ana").iterdir())

        again = make("ana")
        assert not await again.unlock("not the passphrase")
        assert again.screen == "locked" and again.agent is None
        assert "passphrase" in again.error and "\n" not in again.error
        assert sorted((p.name, p.read_bytes()) for p in (tmp_path / "ana").iterdir()) == files
        assert await again.unlock(PASSPHRASE)
        assert await again.unlock(PASSPHRASE) and again.owner is not None  # once is enough
        await again.close()

    run(test)


def test_an_agent_that_cannot_start_is_one_line_and_the_store_it_made_opens_later(
    model: ValueModel, fast_kdf: KdfParams, tmp_path: Path
) -> None:
    class NoRadio(LoopbackNetwork):
        async def start(self, hooks: object) -> None:
            raise OSError("network is unreachable")

    async def test() -> None:
        phone = Presenter(
            tmp_path / "ana", lambda: [NoRadio(LoopbackHub())], model=model, kdf=fast_kdf
        )
        assert not await phone.unlock(PASSPHRASE)
        assert phone.error == "the agent could not start: network is unreachable"
        assert phone.screen == "locked" and phone.owner is None and phone.agent is None
        later = Presenter(tmp_path / "ana", lambda: [LoopbackNetwork(LoopbackHub())], model=model)
        assert await later.unlock(PASSPHRASE)  # the store made then is whole, and the same
        await later.close()

    run(test)


def test_a_keystore_secret_unlocks_without_typing_and_a_typed_one_is_offered_to_it(
    make: Callable[[str], Presenter],
) -> None:
    class Keystore:
        def __init__(self) -> None:
            self.kept: str | None = None

        def secret(self) -> str | None:
            return self.kept

        def remember(self, secret: str) -> None:
            self.kept = secret

    async def test() -> None:
        keystore = Keystore()
        phone = make("ana")
        phone.keystore = keystore
        assert not await phone.unlock()  # empty keystore: the owner types it the first time
        assert await phone.unlock(PASSPHRASE)
        await phone.close()
        assert keystore.kept == PASSPHRASE
        later = make("ana")
        later.keystore = keystore
        assert await later.unlock()  # from the keystore
        await later.close()

    run(test)


def test_questionnaire_answers_move_the_chart_and_stay_after_a_restart(
    make: Callable[[str], Presenter],
) -> None:
    async def test() -> None:
        phone = make("ana")
        assert await phone.unlock(PASSPHRASE)
        shown = {item.value: item.id for item in phone.items}
        assert {"benevolence", "power"} <= set(shown)  # the few items a phone asks
        phone.answer(shown["benevolence"], 6)  # "Very much like me"
        phone.answer(shown["power"], 1)  # "Not like me at all"
        assert phone.save_answers()
        weights = {bar.value: bar.weight for bar in phone.bars}
        assert weights["benevolence"] > 0.5 > weights["power"]
        assert [bar.value for bar in phone.bars][:3] == [
            "self-direction",
            "stimulation",
            "hedonism",
        ]
        phone.answer(shown["power"], 9)  # no such answer: refused, nothing kept
        assert phone.error.startswith("no such answer") and phone.answers[shown["power"]] == 1
        await phone.close()

        again = make("ana")
        assert again.answers[shown["benevolence"]] != 6  # locked: nothing read yet
        assert await again.unlock(PASSPHRASE)
        assert {bar.value: bar.weight for bar in again.bars} == weights
        # The answers given before are shown again, read back from the store.
        assert again.answers[shown["benevolence"]] == 6 and again.answers[shown["power"]] == 1
        await again.close()

    run(test)


def test_a_taught_preference_reorders_the_ranking_and_an_empty_option_is_refused(
    make: Callable[[str], Presenter],
) -> None:
    async def test() -> None:
        phone = make("ana")
        assert await phone.unlock(PASSPHRASE)
        before = [r.text for r in await phone.rank(SATURDAY)]
        assert sorted(before) == sorted(SATURDAY) and all(r.why for r in phone.ranked)
        first, last = before[0], before[-1]
        assert await phone.teach(last, first)  # the owner prefers what Little Dan ranked last
        after = [r.text for r in await phone.rank(SATURDAY)]
        assert after.index(last) < after.index(first)
        assert not await phone.teach("   ", first)
        assert phone.error and "\n" not in phone.error
        assert owner_answers(phone) == [(last, first)]  # the refused one was not kept
        await phone.close()

    run(test)


def showing_a_code(phone: Presenter) -> bool:
    return phone.pairing is not None


def owner_answers(phone: Presenter) -> list[tuple[str, str]]:
    assert phone.owner is not None
    return [(a.preferred, a.rejected) for a in phone.owner.feedback.list()]


def test_two_phones_pair_by_the_same_six_digits_and_show_one_verified_accord(
    make: Callable[[str], Presenter], tmp_path: Path
) -> None:
    async def test() -> None:
        ana, ben = make("ana"), make("ben")
        assert await ana.unlock(PASSPHRASE) and await ben.unlock("ben's phone secret")
        try:
            await ben.open_pairing(60)
            await until(lambda: any(n.open_to_pairing for n in ana.nearby), "Ben's offer seen")
            stranger = next(n for n in ana.nearby if n.open_to_pairing)
            assert not stranger.partner and stranger.label == "someone open to pairing"
            pairing = asyncio.create_task(ana.pair_with(stranger.key))
            await until(lambda: ana.pairing and ben.pairing, "both screens show a code")
            assert ana.pairing is not None and ben.pairing is not None
            assert ana.pairing.code == ben.pairing.code
            assert len(ana.pairing.code) == 6 and ana.pairing.code.isdigit()
            ana.confirm_pairing("Ben")
            ben.confirm_pairing("Ana")
            peer = await pairing
            assert peer is not None and peer.name == "Ben"
            assert not showing_a_code(ana) and ana.status == "paired with Ben"
            await until(lambda: any(n.partner for n in ana.nearby), "Ben seen as a partner")
            partner = next(n for n in ana.nearby if n.partner)
            assert partner.label == "Ben" and partner.identity_key == peer.identity_key

            assert await ana.negotiate(peer.identity_key, "Saturday", SATURDAY)
            await until(lambda: ben.accords, "Ben's phone shows the accord")
        finally:
            await ana.close()
            await ben.close()
        shown, theirs = ana.accords[0], ben.accords[0]
        assert shown.id == theirs.id and shown.verified and theirs.verified
        assert shown.signed == shown.parties == 2 and shown.problem == ""
        assert shown.topic == theirs.topic == "Saturday"
        (term,) = shown.terms
        assert term.issue == "plan" and term.value in SATURDAY
        assert term.why.startswith("your choice ") and " of 3: " in term.why
        assert "serves" in term.why or "goes against" in term.why
        with Owner.open(tmp_path / "ana", PASSPHRASE) as owner:  # and it is in the store
            stored = [s.accord.id.hex()[:12] for s in owner.accords.list(binding_only=True)]
        assert stored == [shown.id]

    run(test)


def test_pairing_denied_on_one_phone_keeps_no_partner_on_either(
    make: Callable[[str], Presenter],
) -> None:
    async def test() -> None:
        ana, ben = make("ana"), make("ben")
        assert await ana.unlock(PASSPHRASE) and await ben.unlock("ben's phone secret")
        try:
            await ben.open_pairing(60)
            await until(lambda: any(n.open_to_pairing for n in ana.nearby), "Ben's offer seen")
            key = next(n.key for n in ana.nearby if n.open_to_pairing)
            pairing = asyncio.create_task(ana.pair_with(key))
            await until(lambda: ana.pairing and ben.pairing, "both screens show a code")
            ana.confirm_pairing("Ben")
            ben.deny_pairing()  # the digits differ on Ben's screen, say
            assert await pairing is None
            assert ana.error.startswith("not paired: ") and "\n" not in ana.error
            assert ana.owner is not None and ben.owner is not None
            assert ana.owner.peers.list() == [] and ben.owner.peers.list() == []
        finally:
            await ana.close()
            await ben.close()

    run(test)
