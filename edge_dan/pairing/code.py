"""Short-code pairing for a device without a screen: SPAKE2 on a typed code, into ``XXpsk3``.

The headless device opens a ``CodeWindow``: a fresh code of 8 digits (6 to 8), shown wherever it can
be (serial console, a label, a companion LED pattern), open for a limited time and at most
``max_attempts`` (5) attempts. The owner types the code on the other device (``CodeEntry``).

1. Typing side -> window: ``PairSpake(SPAKE2_A(code).start())``.
2. Window -> typing side: ``PairSpake(SPAKE2_B(code).start())``. Each side finishes SPAKE2 and
   takes ``psk = BLAKE2b(K, person="edge-dan-cd-psk")``. The code never becomes a psk itself: a
   psk from a short code could be brute-forced offline from one recorded handshake.
3. ``Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b``: typing side initiator, window responder. With
   different codes the psks differ and the window's ``read_message`` of handshake message 3 fails
   (``DecryptError``); handshake message 2 does not depend on the psk, so it tells a guesser
   nothing. The typing side knows the pairing worked once the window's first transport message
   decrypts.

SPAKE2 gives an active attacker one guess per exchange and a passive one nothing; the window
counts every exchange it answers as an attempt (success closes it too, being one-time), so an
attacker wins with probability at most ``max_attempts / 10**digits`` (5e-8 for 8 digits).

``spake2`` (PyPI, MIT; pure Python on ``cryptography``) is an optional dependency, imported on
first use. It is not constant-time, so a code should not outlive its window.

``CodeWindow`` and ``CodeEntry`` are one-shot handshake helpers, not message-driven cores, so they
do not follow the core contract of :mod:`edge_dan.wire.core`: each side sends one ``PairSpake``
and reads one, and what comes out is the Noise handshake (``XXpsk3``) to run, which the session
then drives. Their single exchange happens before any session exists, so they take and give the
encoded ``PairSpake`` the link carries (no session below them decodes it). They take time only
where the window needs it (``now`` in seconds, any one clock).
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable
from typing import Any

from edge_dan.pairing.result import PairingResult, kdf
from edge_dan.wire.errors import (
    HandshakeError,
    InvalidPairingPayload,
    MessageError,
    PairingAborted,
    PairingWindowClosed,
)
from edge_dan.wire.messages import decode_as, encode
from edge_dan.wire.messages.pairing import PairSpake
from edge_dan.wire.noise import Handshake, KeyPair

XXPSK3 = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
DEFAULT_DIGITS = 8
MIN_DIGITS, MAX_DIGITS = 6, 8
DEFAULT_TTL = 300.0
MAX_ATTEMPTS = 5
_ID_A = b"edge-dan/v1 code pairing: typing side"
_ID_B = b"edge-dan/v1 code pairing: window"
_PSK_LABEL = b"edge-dan-cd-psk"
_ADVERT_LABEL = b"edge-dan-cd-adv"


def _spake2() -> Any:
    try:
        return importlib.import_module("spake2")
    except ImportError:
        raise RuntimeError(
            "code pairing needs the optional package spake2 (pip install spake2)"
        ) from None


def normalise_code(typed: str, digits: int = DEFAULT_DIGITS) -> str:
    """The digits of a typed code (spaces and dashes allowed between them)."""
    code = "".join(c for c in typed if c not in " -")
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        raise InvalidPairingPayload(f"a pairing code is {digits} digits")
    return code


def _finish(side: Any, data: bytes) -> bytes:
    try:
        message = decode_as(data, PairSpake).message
    except MessageError as exc:
        raise PairingAborted(f"malformed code-pairing message: {exc}") from None
    try:
        key: bytes = side.finish(message)
    except Exception:  # spake2 parses the peer's bytes: any failure there is the peer's fault
        raise PairingAborted("the peer's SPAKE2 message is invalid") from None
    return key


def _result(handshake: Handshake, spake_key: bytes) -> PairingResult:
    if handshake.protocol_name != XXPSK3 or not handshake.complete:
        raise HandshakeError("code pairing needs its completed XXpsk3 handshake")
    peer = handshake.remote_static
    assert peer is not None  # XX always transmits the peer's static key
    return PairingResult(
        method="code",
        peer_static=peer,
        advert_key=kdf(_ADVERT_LABEL, handshake.handshake_hash, key=spake_key),
        handshake_hash=handshake.handshake_hash,
    )


class CodeAttempt:
    """One exchange the window answered: run ``handshake`` (XXpsk3 responder) to its end."""

    def __init__(self, window: CodeWindow, handshake: Handshake, spake_key: bytes) -> None:
        self.handshake = handshake
        self._window = window
        self._key = spake_key


class CodeWindow:
    """The headless side's one-time, expiring pairing window with a limited number of attempts.

    A one-shot handshake helper (see the module docstring): ``accept`` answers one typing side's
    ``PairSpake`` with the reply and the ``XXpsk3`` responder to run; ``complete`` gives the result
    once that handshake finished.
    """

    def __init__(
        self,
        static: KeyPair,
        *,
        now: float,
        ttl: float = DEFAULT_TTL,
        digits: int = DEFAULT_DIGITS,
        max_attempts: int = MAX_ATTEMPTS,
        random_below: Callable[[int], int] = secrets.randbelow,
    ) -> None:
        if not MIN_DIGITS <= digits <= MAX_DIGITS or ttl <= 0 or max_attempts < 1:
            raise ValueError("digits 6..8, a positive ttl and at least one attempt")
        self._static = static
        self.digits = digits
        self.code = f"{random_below(10**digits):0{digits}d}"
        self.expires_at = now + ttl
        self.attempts_left = max_attempts
        self._closed = False
        self._paired = False

    def is_open(self, now: float) -> bool:
        return not self._closed and self.attempts_left > 0 and now < self.expires_at

    def close(self) -> None:
        self._closed = True

    def accept(self, data: bytes, now: float, prologue: bytes = b"") -> tuple[bytes, CodeAttempt]:
        """Answer one SPAKE2 message: (the ``PairSpake`` reply to send, the attempt to run).

        Costs one attempt (a malformed message costs none: it cannot carry a guess).
        """
        if self._closed:
            raise PairingWindowClosed("the pairing window is closed; open a new one")
        if now >= self.expires_at:
            self._closed = True
            raise PairingWindowClosed("the pairing window has expired; open a new one")
        if self.attempts_left <= 0:
            self._closed = True
            raise PairingWindowClosed("too many failed attempts: the pairing window is closed")
        try:
            decode_as(data, PairSpake)
        except MessageError as exc:
            raise PairingAborted(f"malformed code-pairing message: {exc}") from None
        self.attempts_left -= 1
        if self.attempts_left == 0:
            self._closed = True  # this was the last attempt; it may still succeed
        side = _spake2().SPAKE2_B(self.code.encode("ascii"), idA=_ID_A, idB=_ID_B)
        reply = encode(PairSpake(side.start()))
        key = _finish(side, data)
        handshake = Handshake(
            XXPSK3, initiator=False, prologue=prologue, s=self._static, psks=[kdf(_PSK_LABEL, key)]
        )
        return reply, CodeAttempt(self, handshake, key)

    def complete(self, attempt: CodeAttempt) -> PairingResult:
        """After ``attempt.handshake`` completed: the result; the window closes (one-time).

        Only one attempt of a window can pair, even when several ran at once.
        """
        if attempt._window is not self:
            raise HandshakeError("this attempt belongs to another pairing window")
        if self._paired:
            raise PairingWindowClosed("this pairing window has paired already")
        result = _result(attempt.handshake, attempt._key)
        self._closed = self._paired = True
        return result


class CodeEntry:
    """The typing side: ``start()`` -> send; ``receive(reply)`` -> the XXpsk3 initiator to run.

    A one-shot handshake helper (see the module docstring), not a core: one message out, one in.
    """

    def __init__(self, typed_code: str, static: KeyPair, *, digits: int = DEFAULT_DIGITS) -> None:
        self._code = normalise_code(typed_code, digits)
        self._static = static
        self._side: Any = None
        self._key: bytes | None = None

    def start(self) -> bytes:
        if self._side is not None:
            raise PairingAborted("start() once per attempt; type the code again to retry")
        self._side = _spake2().SPAKE2_A(self._code.encode("ascii"), idA=_ID_A, idB=_ID_B)
        return encode(PairSpake(self._side.start()))

    def receive(self, data: bytes, prologue: bytes = b"") -> Handshake:
        if self._side is None or self._key is not None:
            raise PairingAborted("unexpected code-pairing message")
        self._key = _finish(self._side, data)
        return Handshake(
            XXPSK3,
            initiator=True,
            prologue=prologue,
            s=self._static,
            psks=[kdf(_PSK_LABEL, self._key)],
        )

    def result(self, handshake: Handshake) -> PairingResult:
        """After the handshake and the window's first transport message decrypted."""
        if self._key is None:
            raise HandshakeError("no SPAKE2 exchange happened")
        return _result(handshake, self._key)
