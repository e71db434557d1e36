"""Numeric comparison with commit and reveal, run after a completed XX handshake. Sans-IO.

A 6-digit code taken from the handshake hash alone is breakable: a man in the middle grinds
ephemeral keys until both sessions show the same code (one X25519 takes ~50 us, 10^6 tries take
minutes). Bluetooth LE Secure Connections closes this with a commitment, and so does this module:

1. Initiator picks a 256-bit nonce Na and sends ``PairCommit(C)`` with
   ``C = BLAKE2b(key=Na, person="edge-dan-nc-cmt", h || s_i || s_r)``
   (h: handshake hash; s_i, s_r: initiator's and responder's Noise static public keys).
2. Responder, only once it holds C, picks Nb and sends ``PairNonce(Nb)``.
3. Initiator, only once it holds Nb, sends ``PairReveal(Na)``; the responder checks it opens C.
4. Both show ``code = uint64(BLAKE2b(person="edge-dan-nc-code", h, s_i, s_r, Na, Nb)) mod 10^6``
   as six digits (every BLAKE2b here hashes its parts with 4-byte length prefixes; the code
   takes an 8-byte digest, read big-endian). Reducing a 64-bit value mod 10^6 is uniform to
   within 2^-44 (bias < (10^6)/2^64 per code), far below the 10^-6 the code gives.
5. Each owner compares the codes and answers; each side sends ``PairConfirm`` with its owner's
   answer. Pairing succeeds only when both answered yes.

A relay in the middle runs two handshakes with different hashes h1, h2. For its two sessions to
show equal codes it must choose one session's nonce knowing the other session's code, but each
side's nonce is fixed (committed, or sent) before the relay can learn the value that completes the
other side's code: it matches with probability 10^-6 per attempt, and every failed attempt is
seen by a person. Relaying the commitment unchanged fails outright, since C binds h and both keys.

The messages must travel encrypted inside the Noise session: Na and Nb are secrets that, with h,
make the pair's advertisement key.

``NumericComparison`` follows the core contract of :mod:`edge_dan.wire.core` with the session's
messages in and out: ``receive(message, now)`` takes what the peer's session delivered,
``take_outgoing()`` gives the messages to send, ``take_events()`` gives :class:`ShowCode` (show
the digits and ask the owner, whose answer goes to ``confirm``), then :class:`Paired` or
:class:`PairingFailed`. It has no timers (``tick`` does nothing; whoever runs it bounds the wait
for the other owner) and does not care which clock ``now`` comes from.

Any message out of order, duplicated, or from the wrong role fails the machine: a
:class:`PairingFailed` event, and a ``PairAbort`` for the peer in the outgoing messages. The
peer's own ``PairAbort`` or its owner's no fail it too (nothing more is sent then). Nothing the peer
sends makes ``receive`` raise; the local side's own mistakes (``confirm`` twice, ``start`` on the
responder) raise a ``PairingError`` and fail the machine.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from edge_dan.pairing.result import PairingResult, kdf
from edge_dan.wire.core import Queues
from edge_dan.wire.errors import (
    CommitmentMismatch,
    HandshakeError,
    PairingAborted,
    PairingError,
    PairingRejected,
)
from edge_dan.wire.messages import Message
from edge_dan.wire.messages.pairing import (
    NONCE_LEN,
    AbortCode,
    PairAbort,
    PairCommit,
    PairConfirm,
    PairNonce,
    PairReveal,
)
from edge_dan.wire.noise import Handshake

CODE_DIGITS = 6
_CODE_MODULUS = 10**CODE_DIGITS
_COMMIT_LABEL = b"edge-dan-nc-cmt"
_CODE_LABEL = b"edge-dan-nc-code"
_ADVERT_LABEL = b"edge-dan-nc-adv"


class State(Enum):
    START = "start"  # initiator: call start(); responder: waiting for PairCommit
    WAIT_NONCE = "wait_nonce"  # initiator sent PairCommit
    WAIT_REVEAL = "wait_reveal"  # responder sent PairNonce
    COMPARE = "compare"  # code shown; waiting for the owners' answers
    PAIRED = "paired"
    FAILED = "failed"


@dataclass(frozen=True)
class ShowCode:
    """Show ``code`` to the owner and ask whether the other screen shows the same six digits;
    pass the answer to :meth:`NumericComparison.confirm`."""

    code: str


@dataclass(frozen=True)
class Paired:
    """Both owners said yes: ``result`` is what to store for the peer."""

    result: PairingResult


@dataclass(frozen=True)
class PairingFailed:
    """The pairing failed (``error`` says why); nothing from it may be stored."""

    error: PairingError


Event = ShowCode | Paired | PairingFailed


def commitment(nonce: bytes, handshake_hash: bytes, s_i: bytes, s_r: bytes) -> bytes:
    """C = BLAKE2b keyed with the nonce over the handshake hash and both static keys."""
    return kdf(_COMMIT_LABEL, handshake_hash, s_i, s_r, key=nonce)


def comparison_code(handshake_hash: bytes, s_i: bytes, s_r: bytes, na: bytes, nb: bytes) -> str:
    """The six digits both owners compare."""
    value = int.from_bytes(kdf(_CODE_LABEL, handshake_hash, s_i, s_r, na, nb, size=8), "big")
    return f"{value % _CODE_MODULUS:0{CODE_DIGITS}d}"


def advert_key(handshake_hash: bytes, na: bytes, nb: bytes) -> bytes:
    """The pair's secret for discovery tokens: from h and both nonces, under its own label."""
    return kdf(_ADVERT_LABEL, handshake_hash, na, nb, key=na + nb)


class NumericComparison(Queues[Message, Event]):
    """One side of numeric comparison, a core (see the module docstring). Build it with
    ``from_handshake`` or ``from_session`` after XX completes.

    The initiator calls ``start()``; then both feed each message from the peer to ``receive`` and
    send what ``take_outgoing`` gives. On :class:`ShowCode` (``code`` is set), show the digits and
    pass the owner's answer to ``confirm``. ``result`` is set (and :class:`Paired` emitted) once
    both owners said yes.
    """

    def __init__(
        self,
        *,
        initiator: bool,
        handshake_hash: bytes,
        initiator_static: bytes,
        responder_static: bytes,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if len(initiator_static) != 32 or len(responder_static) != 32 or not handshake_hash:
            raise HandshakeError("numeric comparison needs a handshake hash and both static keys")
        super().__init__()
        self.initiator = initiator
        self._h = handshake_hash
        self._s_i = initiator_static
        self._s_r = responder_static
        self._random = random_bytes
        self._na: bytes | None = None
        self._nb: bytes | None = None
        self._commitment: bytes | None = None
        self._local_answer: bool | None = None
        self._remote_answer: bool | None = None
        self.state = State.START
        self.code: str | None = None
        self.result: PairingResult | None = None
        self.failure: PairingError | None = None

    @classmethod
    def from_handshake(
        cls,
        handshake: Handshake,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> NumericComparison:
        """Numeric comparison on top of a completed handshake that exchanged both static keys."""
        local, remote = handshake.local_static, handshake.remote_static
        if not handshake.complete or local is None or remote is None:
            raise HandshakeError("numeric comparison needs a completed handshake with static keys")
        s_i, s_r = (local, remote) if handshake.initiator else (remote, local)
        return cls(
            initiator=handshake.initiator,
            handshake_hash=handshake.handshake_hash,
            initiator_static=s_i,
            responder_static=s_r,
            random_bytes=random_bytes,
        )

    @classmethod
    def from_session(
        cls,
        *,
        initiator: bool,
        handshake_hash: bytes,
        local_static: bytes,
        peer_static: bytes,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> NumericComparison:
        """From what an established session reports (its role, handshake hash and the keys)."""
        s_i, s_r = (local_static, peer_static) if initiator else (peer_static, local_static)
        return cls(
            initiator=initiator,
            handshake_hash=handshake_hash,
            initiator_static=s_i,
            responder_static=s_r,
            random_bytes=random_bytes,
        )

    @property
    def peer_static(self) -> bytes:
        return self._s_r if self.initiator else self._s_i

    # ----- the core contract ---------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """Whether the pairing ended (paired or failed)."""
        return self.state in (State.PAIRED, State.FAILED)

    def next_deadline(self) -> float | None:
        """None: numeric comparison has no timers."""
        return None

    def tick(self, now: float) -> None:
        """Nothing happens with time alone (see the module docstring)."""
        del now

    def receive(self, message: Message, now: float) -> None:
        """Handle one message from the peer; never raises (a failure is a :class:`PairingFailed`).

        A message after the end is dropped, except after pairing: a peer that keeps talking then
        breaks the protocol, and the result is withdrawn (nothing is stored for a peer that
        misbehaves at the end).
        """
        del now
        if self.state is State.FAILED:
            return
        if isinstance(message, PairAbort):
            self._fail(
                PairingAborted(f"the peer aborted pairing (code {message.code}): {message.reason}")
            )
            return
        try:
            self._dispatch(message)
        except PairingRejected as rejected:  # the peer's owner said no: nothing more to send
            self._fail(rejected)
        except PairingError as error:
            self._fail(error)
            self._outgoing.append(self._abort(str(error), _abort_code(error)))

    # ----- the local side -----------------------------------------------------------------
    def start(self) -> None:
        """Initiator only: commit to Na (queues the ``PairCommit``)."""
        if not self.initiator or self.state is not State.START:
            raise self._fail(PairingAborted("start() is the initiator's first step, and only once"))
        self._na = self._nonce()
        self._commitment = commitment(self._na, self._h, self._s_i, self._s_r)
        self.state = State.WAIT_NONCE
        self._outgoing.append(PairCommit(self._commitment))

    def confirm(self, accepted: bool) -> None:
        """The local owner's answer once the code is shown (queues the ``PairConfirm``)."""
        if self.state is not State.COMPARE or self._local_answer is not None:
            raise self._fail(PairingAborted("confirm() only once, while the code is shown"))
        self._local_answer = accepted
        self._outgoing.append(PairConfirm(accepted))
        if not accepted:
            self._fail(PairingRejected("the owner declined: the codes differ or pairing refused"))
        else:
            self._maybe_finish()

    def abort(self, reason: str = "", code: AbortCode = AbortCode.CANCELLED) -> None:
        """Give up (the owner cancelled): queues a ``PairAbort`` and fails the machine."""
        if self.finished:
            return
        self._fail(PairingAborted(f"aborted locally: {reason or code.name.lower()}"))
        self._outgoing.append(self._abort(reason, code))

    # ----- internals ----------------------------------------------------------------------
    def _dispatch(self, message: Message) -> None:
        state, initiator = self.state, self.initiator
        if state is State.PAIRED:
            raise PairingAborted(f"pairing is over; got a {type(message).__name__}")
        if isinstance(message, PairCommit) and not initiator and state is State.START:
            self._commitment = message.commitment
            self._nb = self._nonce()
            self.state = State.WAIT_REVEAL
            self._outgoing.append(PairNonce(self._nb))
        elif isinstance(message, PairNonce) and initiator and state is State.WAIT_NONCE:
            self._nb = message.nonce
            assert self._na is not None
            self._outgoing.append(PairReveal(self._na))
            self._show_code()
        elif isinstance(message, PairReveal) and not initiator and state is State.WAIT_REVEAL:
            assert self._commitment is not None
            expected = commitment(message.nonce, self._h, self._s_i, self._s_r)
            if not hmac.compare_digest(expected, self._commitment):
                raise CommitmentMismatch("the revealed nonce does not open the peer's commitment")
            self._na = message.nonce
            self._show_code()
        elif isinstance(message, PairConfirm) and state is State.COMPARE:
            if self._remote_answer is not None:
                raise PairingAborted("duplicate PairConfirm from the peer")
            self._remote_answer = message.accepted
            if not message.accepted:
                raise PairingRejected("the peer's owner declined the pairing")
            self._maybe_finish()
        else:
            role = "initiator" if initiator else "responder"
            raise PairingAborted(
                f"unexpected {type(message).__name__} for the {role} in state {state.value}"
            )

    @staticmethod
    def _abort(reason: str, code: AbortCode) -> PairAbort:
        text = (reason or code.name.lower())[:120]
        while len(text.encode("utf-8")) > 120:  # keep within the field's UTF-8 byte limit
            text = text[:-1]
        return PairAbort(int(code), text)

    def _nonce(self) -> bytes:
        nonce = self._random(NONCE_LEN)
        if len(nonce) != NONCE_LEN:
            raise ValueError(f"random_bytes must return {NONCE_LEN} bytes")
        return nonce

    def _show_code(self) -> None:
        assert self._na is not None and self._nb is not None
        self.code = comparison_code(self._h, self._s_i, self._s_r, self._na, self._nb)
        self.state = State.COMPARE
        self._events.append(ShowCode(self.code))

    def _maybe_finish(self) -> None:
        if self._local_answer and self._remote_answer:
            assert self._na is not None and self._nb is not None
            self.result = PairingResult(
                method="numeric",
                peer_static=self.peer_static,
                advert_key=advert_key(self._h, self._na, self._nb),
                handshake_hash=self._h,
            )
            self.state = State.PAIRED
            self._events.append(Paired(self.result))

    def _fail(self, error: PairingError) -> PairingError:
        if self.state is not State.FAILED:
            self._events.append(PairingFailed(error))
        if self.failure is None:
            self.failure = error
        self.state = State.FAILED
        self.result = None
        return error


def _abort_code(error: PairingError) -> AbortCode:
    if isinstance(error, CommitmentMismatch):
        return AbortCode.COMMITMENT
    if isinstance(error, PairingRejected):
        return AbortCode.REJECTED
    return AbortCode.PROTOCOL
