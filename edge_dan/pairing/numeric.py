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

Any message out of order, duplicated, or from the wrong role aborts: ``receive`` raises a
``PairingError`` subclass and the machine is finished; send ``abort_message()`` to the peer.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from enum import Enum

from edge_dan.pairing.result import PairingResult, kdf
from edge_dan.wire.errors import (
    CommitmentMismatch,
    HandshakeError,
    MessageError,
    PairingAborted,
    PairingError,
    PairingRejected,
)
from edge_dan.wire.messages import Message, decode, encode
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


class NumericComparison:
    """One side of numeric comparison. Build it with ``from_handshake`` after XX completes.

    Initiator: ``start()`` -> send; then feed each received message to ``receive`` and send what
    it returns (if anything). Once ``code`` is set, show it, and pass the owner's answer to
    ``confirm`` (send what it returns). ``result`` is set once both owners said yes.
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

    # ----- sending -------------------------------------------------------------------------
    def start(self) -> bytes:
        """Initiator only: commit to Na. Returns the encoded ``PairCommit``."""
        if not self.initiator or self.state is not State.START:
            raise self._fail(PairingAborted("start() is the initiator's first step, and only once"))
        self._na = self._nonce()
        self._commitment = commitment(self._na, self._h, self._s_i, self._s_r)
        self.state = State.WAIT_NONCE
        return encode(PairCommit(self._commitment))

    def confirm(self, accepted: bool) -> bytes:
        """The local owner's answer once the code is shown. Returns the encoded ``PairConfirm``."""
        if self.state is not State.COMPARE or self._local_answer is not None:
            raise self._fail(PairingAborted("confirm() only once, while the code is shown"))
        self._local_answer = accepted
        message = encode(PairConfirm(accepted))
        if not accepted:
            self._fail(PairingRejected("the owner declined: the codes differ or pairing refused"))
        else:
            self._maybe_finish()
        return message

    def abort_message(self, reason: str = "", code: AbortCode | None = None) -> bytes:
        """A ``PairAbort`` for the peer; the machine is failed afterwards (if it was not yet)."""
        if code is None:
            code = _abort_code(self.failure) if self.failure else AbortCode.CANCELLED
        if self.failure is None:
            self._fail(PairingAborted(f"aborted locally: {reason or code.name.lower()}"))
        text = (reason or str(self.failure))[:120]
        while len(text.encode("utf-8")) > 120:  # keep within the field's UTF-8 byte limit
            text = text[:-1]
        return encode(PairAbort(int(code), text))

    # ----- receiving -----------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes | None:
        """Handle one message from the peer; returns the encoded reply to send, if any.

        Raises a ``PairingError`` (also for malformed data) and fails the machine on anything out
        of order; after that every call raises.
        """
        if self.state in (State.FAILED, State.PAIRED):
            raise self._fail(PairingAborted(f"pairing is over ({self.state.value}); got more data"))
        try:
            message = decode(data)
        except MessageError as exc:
            raise self._fail(PairingAborted(f"malformed pairing message: {exc}")) from None
        if isinstance(message, PairAbort):
            raise self._fail(
                PairingAborted(f"the peer aborted pairing (code {message.code}): {message.reason}")
            )
        return self._dispatch(message)

    def _dispatch(self, message: Message) -> bytes | None:
        state, initiator = self.state, self.initiator
        if isinstance(message, PairCommit) and not initiator and state is State.START:
            self._commitment = message.commitment
            self._nb = self._nonce()
            self.state = State.WAIT_REVEAL
            return encode(PairNonce(self._nb))
        if isinstance(message, PairNonce) and initiator and state is State.WAIT_NONCE:
            self._nb = message.nonce
            assert self._na is not None
            self._show_code()
            return encode(PairReveal(self._na))
        if isinstance(message, PairReveal) and not initiator and state is State.WAIT_REVEAL:
            assert self._commitment is not None
            expected = commitment(message.nonce, self._h, self._s_i, self._s_r)
            if not hmac.compare_digest(expected, self._commitment):
                raise self._fail(
                    CommitmentMismatch("the revealed nonce does not open the peer's commitment")
                )
            self._na = message.nonce
            self._show_code()
            return None
        if isinstance(message, PairConfirm) and state is State.COMPARE:
            if self._remote_answer is not None:
                raise self._fail(PairingAborted("duplicate PairConfirm from the peer"))
            self._remote_answer = message.accepted
            if not message.accepted:
                raise self._fail(PairingRejected("the peer's owner declined the pairing"))
            self._maybe_finish()
            return None
        role = "initiator" if initiator else "responder"
        raise self._fail(
            PairingAborted(
                f"unexpected {type(message).__name__} for the {role} in state {state.value}"
            )
        )

    # ----- internals ----------------------------------------------------------------------
    def _nonce(self) -> bytes:
        nonce = self._random(NONCE_LEN)
        if len(nonce) != NONCE_LEN:
            raise ValueError(f"random_bytes must return {NONCE_LEN} bytes")
        return nonce

    def _show_code(self) -> None:
        assert self._na is not None and self._nb is not None
        self.code = comparison_code(self._h, self._s_i, self._s_r, self._na, self._nb)
        self.state = State.COMPARE

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

    def _fail(self, error: PairingError) -> PairingError:
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
