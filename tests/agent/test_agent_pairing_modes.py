"""Pairing by QR code and by typed code through the Agent, on real sockets (loopback, no root).

Ana's agent shows a QR code (``offer_qr``) or opens a code window (``offer_code``); Ben's agent
pairs from the QR's text (``pair_by_qr``) or the typed digits (``pair_by_code``), finding Ana
among the strangers nearby open to pairing. Both stores then hold each other with the method
recorded, advertising keys are swapped (each recognises the other's adverts) and they reach each
other as partners. A wrong code, a used, expired or tampered QR, or a declining owner leaves both
stores unchanged; the code window closes after five attempts.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from agent_homes import Home, agents, run

from edge_dan.agent import AgentError
from edge_dan.agent.networks import LoopbackHub, LoopbackNetwork
from edge_dan.agent.pairing_offers import NamePeer
from edge_dan.pairing.code import MAX_ATTEMPTS
from edge_dan.wire.errors import InvalidPairingPayload, PairingError, PairingWindowClosed
from edge_dan.wire.session import SessionLimits

pytest.importorskip("spake2")

LIMITS = SessionLimits(handshake_timeout=5.0, keepalive_interval=0.5, dead_peer_intervals=3)
WAIT = 5.0  # seconds the typing or scanning side looks for the showing device


def names(name: str | None, asked: list[str] | None = None) -> NamePeer:
    """An owner who names the new partner ``name`` (None: declines), noting who was shown."""

    async def name_peer(fingerprint: str) -> str | None:
        if asked is not None:
            asked.append(fingerprint)
        return name

    return name_peer


@asynccontextmanager
async def two(tmp_path: Path, hub: LoopbackHub | None = None) -> AsyncIterator[tuple[Home, Home]]:
    ana, ben = Home("ana", tmp_path), Home("ben", tmp_path)
    hub = hub or LoopbackHub()
    async with agents([ana, ben], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
        yield ana, ben


def stored(home: Home) -> list[tuple[str, str]]:
    return [(peer.name, peer.method) for peer in home.owner.peers.list()]


async def check_partners(ana: Home, ben: Home) -> None:
    """Each keeps the other's advertising key and reaches the other as a partner."""
    ana_id, ben_id = ana.agent.identity.public_key, ben.agent.identity.public_key
    assert ben.owner.advertising.partner_keys()[ana_id] == ana.owner.advertising.own_key()
    assert ana.owner.advertising.partner_keys()[ben_id] == ben.owner.advertising.own_key()
    await ben.agent.wait_for_partner(ana_id, timeout=10)
    session = await ben.agent.connect(ana_id)
    assert session.peer.name == "Ana"
    await session.channel.close()


@pytest.mark.parametrize("method", ["qr", "code"])
def test_pairing_by_qr_or_code_keeps_both_with_the_method(tmp_path: Path, method: str) -> None:
    async def scenario() -> None:
        async with two(tmp_path) as (ana, ben):
            ana_asked: list[str] = []
            ben_asked: list[str] = []
            if method == "qr":
                offer = await ana.agent.offer_qr(30, names("Ben", ana_asked))
                assert offer.text.startswith("EDGEDAN:1:") and offer.text in offer.render()
                peer = await ben.agent.pair_by_qr(offer.text, names("Ana", ben_asked), wait=WAIT)
            else:
                offer = await ana.agent.offer_code(30, names("Ben", ana_asked))
                assert len(offer.code) == 8 and offer.code.isdigit()
                typed = f"{offer.code[:4]} {offer.code[4:]}"  # as a person types it
                peer = await ben.agent.pair_by_code(typed, names("Ana", ben_asked), wait=WAIT)
            kept = await offer.result()
            await ana.agent.close_pairing()
            assert (peer.name, kept.name) == ("Ana", "Ben")
            assert stored(ana) == [("Ben", method)] and stored(ben) == [("Ana", method)]
            # Each owner was shown the other device's fingerprint, nothing else.
            assert ana_asked == [ben.agent.identity.fingerprint]
            assert ben_asked == [ana.agent.identity.fingerprint]
            await check_partners(ana, ben)

    run(scenario())


def test_wrong_codes_are_refused_and_the_window_closes_after_five(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with two(tmp_path) as (ana, ben):
            offer = await ana.agent.offer_code(60, names("Ben"))
            wrong = f"{(int(offer.code) + 1) % 10**8:08d}"
            for attempt in range(1, MAX_ATTEMPTS + 1):
                with pytest.raises(PairingError, match="wrong"):
                    await ben.agent.pair_by_code(wrong, names("Ana"), wait=WAIT)
                assert offer.attempts_left == MAX_ATTEMPTS - attempt
            with pytest.raises(PairingWindowClosed, match="too many wrong codes"):
                await offer.result()
            # Closed: even the right code no longer pairs.
            with pytest.raises((PairingError, AgentError)):
                await ben.agent.pair_by_code(offer.code, names("Ana"), wait=2.0)
            assert stored(ana) == [] and stored(ben) == []

    run(scenario(), timeout=120)


def test_a_used_qr_code_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        carl, hub = Home("carl", tmp_path), LoopbackHub()
        async with two(tmp_path, hub) as (ana, ben):
            offer = await ana.agent.offer_qr(30, names("Ben"))
            await ben.agent.pair_by_qr(offer.text, names("Ana"), wait=WAIT)
            await offer.result()
            # The same text again, from a third device, while Ana is still open to pairing:
            # her agent no longer takes it.
            await ana.agent.open_to_pairing(30)
            async with agents([carl], lambda home: [LoopbackNetwork(hub)], limits=LIMITS):
                with pytest.raises(PairingError, match="no device nearby took"):
                    await carl.agent.pair_by_qr(offer.text, names("Ana"), wait=2.0)
                assert stored(carl) == [] and stored(ana) == [("Ben", "qr")]

    run(scenario())


def test_an_expired_qr_code_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with two(tmp_path) as (ana, ben):
            offer = await ana.agent.offer_qr(1.0, names("Ben"))
            with pytest.raises(PairingWindowClosed, match="expired"):
                await offer.result()
            with pytest.raises((PairingError, AgentError)):
                await ben.agent.pair_by_qr(offer.text, names("Ana"), wait=2.0)
            assert stored(ana) == [] and stored(ben) == []

    run(scenario())


def tamper(text: str, index: int) -> str:
    """The QR text with one bit of its raw payload flipped (still valid base32)."""
    body = text.rsplit(":", 1)[1]
    raw = bytearray(base64.b32decode(body + "=" * (-len(body) % 8)))
    raw[index] ^= 1
    return "EDGEDAN:1:" + base64.b32encode(bytes(raw)).decode().rstrip("=")


def test_tampered_qr_text_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with two(tmp_path) as (ana, ben):
            offer = await ana.agent.offer_qr(30, names("Ben"))
            with pytest.raises(InvalidPairingPayload, match=r"damaged|truncated"):
                await ben.agent.pair_by_qr(offer.text[:-3], names("Ana"), wait=WAIT)
            with pytest.raises(InvalidPairingPayload, match="not an edge_dan pairing code"):
                await ben.agent.pair_by_qr("HELLO:1:ABC", names("Ana"), wait=WAIT)
            # Another key: nobody nearby answers it, and Ana's invite is not spent.
            with pytest.raises(PairingError, match="no device nearby took"):
                await ben.agent.pair_by_qr(tamper(offer.text, 0), names("Ana"), wait=2.0)
            assert offer.is_open()
            # Another secret: Ana's agent spends its one-time invite, and neither keeps anything.
            with pytest.raises(PairingError):
                await ben.agent.pair_by_qr(tamper(offer.text, 40), names("Ana"), wait=WAIT)
            with pytest.raises(PairingError, match="wrong code or secret"):
                await offer.result()
            assert not offer.is_open()
            assert stored(ana) == [] and stored(ben) == []

    run(scenario())


@pytest.mark.parametrize("who_declines", ["shower", "other"])
def test_a_declining_owner_leaves_both_stores_unchanged(tmp_path: Path, who_declines: str) -> None:
    async def scenario() -> None:
        async with two(tmp_path) as (ana, ben):
            ana_name = None if who_declines == "shower" else "Ben"
            ben_name = None if who_declines == "other" else "Ana"
            offer = await ana.agent.offer_qr(30, names(ana_name))
            with pytest.raises(PairingError, match="declined"):
                await ben.agent.pair_by_qr(offer.text, names(ben_name), wait=WAIT)
            with pytest.raises(PairingError, match="declined"):
                await offer.result()
            assert stored(ana) == [] and stored(ben) == []

    run(scenario())
