"""Pairing by QR code and by typed code, wired through the agent (``Agent.offer_qr`` and co).

The handshake is the pairing here (``edge_dan.pairing.qr``: ``IKpsk2`` on a one-time secret;
``edge_dan.pairing.code``: SPAKE2 on an 8-digit code into ``XXpsk3``), so this module only moves
those prepared handshakes through the agent's sessions and asks the owners to name each other.

Showing side (``PairingOffer``): the owner opens one offer at a time, a QR invite or a code
window. While it lasts the agent advertises as open to pairing, and its responder sessions hand
every first frame that is no partner's to ``PairingOffer.gate``: an ``IKpsk2`` message 1 whose
encrypted static key decrypts under ours (only someone who read the QR, or a partner, can write
one: a stranger's garbage never spends the invite), or a ``PairSpake`` message that the window
answers (each one costs one of its 5 attempts).

Other side: ``pair_by_qr``/``pair_by_code`` do not know the showing device's address (the QR holds
a key and a secret, no address; a code holds nothing), so they try the strangers nearby that
advertise being open to pairing, most recently seen first, until one completes the handshake.
A wrong target answers nothing and loses nothing (a code window elsewhere loses one attempt).

After the handshake (``confirm``), the side that already knows the peer holds the secret speaks
first: the QR's scanner (``IKpsk2`` message 2 proved it) or the code window (``XXpsk3`` message 3
did). It asks its owner for a name and sends ``PairConfirm``; the other side, proven by that first
transport message, asks its own owner and answers. Only with both yeses is the peer kept
(``Peers.add``, the method recorded); the agent then swaps advertising keys as after numeric
comparison. A no, a timeout or a broken session on either side keeps nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from edge_dan.identity import Identity, fingerprint
from edge_dan.owner.peers import Peer, Peers
from edge_dan.pairing.code import XXPSK3, CodeAttempt, CodeWindow
from edge_dan.pairing.qr import IKPSK2, QrInvite
from edge_dan.pairing.result import PairingResult
from edge_dan.transports.admission import HandshakeLimits
from edge_dan.transports.channel import SessionChannel
from edge_dan.wire.errors import (
    PairingError,
    PairingRejected,
    PairingWindowClosed,
    ProtocolError,
)
from edge_dan.wire.messages.pairing import PairConfirm
from edge_dan.wire.noise import Handshake, KeyPair
from edge_dan.wire.session import PairingStart, prologue

NamePeer = Callable[[str], Awaitable[str | None]]  # peer fingerprint -> name to keep, None: no
OfferMethod = Literal["qr", "code"]
CONFIRM_TIMEOUT = 120.0  # seconds for an owner to name the peer (the session stays alive)
# How long an attempt the gate took may take to finish its handshake: a listener drops a
# handshake that is not done within its limit (edge_dan.transports.admission).
HANDSHAKE_GRACE = HandshakeLimits().handshake_timeout + 1.0
PAIRING_PATTERNS = frozenset({"IKpsk2", "XXpsk3"})
QR_PROLOGUE = prologue(IKPSK2)
CODE_PROLOGUE = prologue(XXPSK3)


class PairingOffer:
    """A QR invite or a code window the owner opened on this agent; one at a time.

    ``text`` (QR: ``EDGEDAN:1:...``) and ``render()`` (the QR in the terminal), or ``code`` (the
    8 digits to type on the other device); ``await result()`` gives the ``Peer`` once paired, or
    raises ``PairingError`` (expired, used by someone without the secret, 5 wrong codes, declined).
    """

    def __init__(
        self,
        method: OfferMethod,
        identity: Identity,
        ttl: float,
        name_peer: NamePeer,
        clock: Callable[[], float],
    ) -> None:
        self.method = method
        self.name_peer = name_peer
        self._clock = clock
        static = KeyPair.from_private(identity.static_private)
        now = clock()
        self._invite = QrInvite(static, now=now, ttl=ttl) if method == "qr" else None
        self._window = CodeWindow(static, now=now, ttl=ttl) if method == "code" else None
        self.expires_at = now + ttl
        self._attempts: dict[Handshake, CodeAttempt | None] = {}
        self._busy = 0  # pairings past their handshake, waiting for the owners
        self._done: asyncio.Future[Peer] = asyncio.get_running_loop().create_future()
        self._probe_static = static

    # -- what the owner sees -------------------------------------------------------------------

    @property
    def text(self) -> str:
        if self._invite is None:
            raise AttributeError("a code window has no QR text")
        return self._invite.text

    def render(self) -> str:
        """The terminal QR code with its text under it (the text alone without ``qrcode``)."""
        if self._invite is None:
            raise AttributeError("a code window has no QR code")
        return self._invite.render()

    @property
    def code(self) -> str:
        if self._window is None:
            raise AttributeError("a QR invite has no typed code")
        return self._window.code

    @property
    def attempts_left(self) -> int:
        return 1 if self._window is None else self._window.attempts_left

    def is_open(self) -> bool:
        now = self._clock()
        if self._invite is not None:
            return self._invite.is_open(now)
        assert self._window is not None
        return self._window.is_open(now)

    async def result(self) -> Peer:
        """The peer once paired; ``PairingError`` when the offer can no longer pair."""
        remaining = max(self.expires_at - self._clock(), 0.0)
        try:
            return await asyncio.wait_for(asyncio.shield(self._done), remaining)
        except TimeoutError:
            if self._busy:  # a pairing is with the owners: let it finish
                return await asyncio.wait_for(asyncio.shield(self._done), 2 * CONFIRM_TIMEOUT)
            what = "QR code" if self.method == "qr" else "pairing window"
            self.fail(PairingWindowClosed(f"nobody paired before the {what} expired"))
            return self._done.result()  # raises the failure (or returns a pairing just done)

    def close(self) -> None:
        """Withdraw the offer (the owner cancelled, or it ended)."""
        if self._invite is not None:
            self._invite.close()
        if self._window is not None:
            self._window.close()

    def fail(self, error: PairingError) -> None:
        self.close()
        if not self._done.done():
            self._done.set_exception(error)
            self._done.exception()  # retrieved: no "never retrieved" warning if nobody waits

    def paired(self, peer: Peer) -> None:
        self.close()
        if not self._done.done():
            self._done.set_result(peer)

    # -- the responder's side of the handshake -------------------------------------------------

    def gate(self, frame: bytes) -> PairingStart | None:
        """The pairing a first frame (no partner's, not first contact) starts, or None."""
        if self._done.done() or not self.is_open():
            return None
        if self._invite is not None:
            return self._qr_start(frame)
        return self._code_start(frame)

    def _qr_start(self, frame: bytes) -> PairingStart | None:
        # IKpsk2 mixes the psk in at message 2, so message 1 decrypts for anyone who knows our
        # static key: a probe with a dummy psk tells that without spending the one-time invite.
        probe = Handshake(IKPSK2, False, QR_PROLOGUE, s=self._probe_static, psks=[bytes(32)])
        try:
            probe.read_message(frame)
        except ProtocolError:
            return None
        assert self._invite is not None
        try:
            handshake = self._invite.responder(self._clock(), QR_PROLOGUE)
        except PairingWindowClosed:
            return None
        self._attempts[handshake] = None
        self._unless_finished(
            "the QR code was used by a device that did not complete the pairing (a damaged or"
            " copied code?); nothing changed: show a new one"
        )
        return PairingStart(handshake)

    def _code_start(self, frame: bytes) -> PairingStart | None:
        assert self._window is not None
        try:
            reply, attempt = self._window.accept(frame, self._clock(), CODE_PROLOGUE)
        except (ProtocolError, RuntimeError):  # not a SPAKE2 message, or spake2 missing
            return None
        self._attempts[attempt.handshake] = attempt
        if self._window.attempts_left == 0:
            self._unless_finished(
                "too many wrong codes: the pairing window is closed; nothing changed"
            )
        return PairingStart(attempt.handshake, reply)

    def _unless_finished(self, why: str) -> None:
        """Fail the offer if the attempt just taken has not paired, nor reached the owners,
        once its handshake had time to finish."""

        def check() -> None:
            if not self._busy and not self._done.done():
                self.fail(PairingWindowClosed(why))

        asyncio.get_running_loop().call_later(HANDSHAKE_GRACE, check)

    def result_of(self, channel: SessionChannel) -> PairingResult | None:
        """The pairing result of an incoming session this offer's gate started, or None."""
        for handshake, attempt in self._attempts.items():
            if handshake.complete and handshake.handshake_hash == channel.handshake_hash:
                if attempt is None:
                    assert self._invite is not None
                    return self._invite.result(handshake)
                assert self._window is not None
                return self._window.complete(attempt)
        return None

    async def serve(self, channel: SessionChannel, peers: Peers) -> Peer | None:
        """Finish an incoming pairing: both owners name each other; the peer kept, or None."""
        try:
            result = self.result_of(channel)
        except PairingError as error:  # a second attempt of a window that paired already
            self.fail(error)
            return None
        if result is None:
            return None
        self._busy += 1
        try:
            # The code window knows the peer had the code (message 3 decrypted); a QR's shower
            # learns the scanner had the secret only from its first transport message.
            peer = await confirm(
                channel, result, peers, self.name_peer, speaks_first=self.method == "code"
            )
        except (ProtocolError, TimeoutError) as error:
            self.fail(_as_pairing_error(error))
            return None
        finally:
            self._busy -= 1
        return peer


async def confirm(
    channel: SessionChannel,
    result: PairingResult,
    peers: Peers,
    name_peer: NamePeer,
    *,
    speaks_first: bool,
) -> Peer:
    """Both owners name each other over the pairing session; the peer kept if both said yes.

    ``speaks_first``: this side knows already that the peer holds the secret, so its owner is
    asked first; the other side waits for that answer (which proves the secret to it).
    """
    peer_key = channel.peer_identity_key
    if result.peer_static != channel.peer_static_key:  # unreachable: one handshake; never trust
        raise PairingError("the pairing result does not match the session's peer")
    async with asyncio.timeout(CONFIRM_TIMEOUT):
        if speaks_first:
            name = await name_peer(fingerprint(peer_key))
            await channel.send(PairConfirm(accepted=name is not None))
            if name is None:
                raise PairingRejected("you declined; nothing was kept")
            await _their_answer(channel)
        else:
            await _their_answer(channel)
            name = await name_peer(fingerprint(peer_key))
            await channel.send(PairConfirm(accepted=name is not None))
            if name is None:
                raise PairingRejected("you declined; nothing was kept")
    return peers.add(peer_key, result, name)


async def _their_answer(channel: SessionChannel) -> None:
    try:
        answer = await channel.receive()
    except ProtocolError:
        raise PairingRejected(
            "the other device ended the pairing (a wrong code or secret, or its owner left)"
        ) from None
    if not isinstance(answer, PairConfirm):
        raise PairingError(f"expected the other owner's answer, got {type(answer).__name__}")
    if not answer.accepted:
        raise PairingRejected("the other owner declined; nothing was kept")


def _as_pairing_error(error: BaseException) -> PairingError:
    if isinstance(error, PairingError):
        return error
    if isinstance(error, TimeoutError):
        return PairingError("the other owner did not answer in time; nothing was kept")
    return PairingError(f"the pairing broke off ({error}); nothing was kept")
