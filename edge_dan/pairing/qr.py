"""QR pairing: a one-time payload shown on one screen, scanned by the other, into ``IKpsk2``.

The showing device makes a payload of its Noise static public key and a fresh 128-bit secret, shown
as text ``EDGEDAN:1:<base32>`` (upper case and ``:`` keep the QR in its compact alphanumeric mode)
and as a terminal QR code. The scanning device knows the shower's static key from it, so it runs
``Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b`` as initiator with the psk
``BLAKE2b(secret, person="edge-dan-qr-psk")``; the showing device is the responder with that psk.

What each side learns: the scanner, when handshake message 2 decrypts, that it speaks to the key in
the QR and that the shower holds the same secret. The shower, when the scanner's first transport
message decrypts (psk2 enters on message 2, so message 1 alone proves nothing about the secret),
that the peer saw the QR. Only then is the pairing complete on the showing side.

The offer is one-time and expiring: ``QrInvite.responder`` consumes it on the first attempt, right
or wrong (a failed attempt means someone tried a secret that is not theirs: show a new QR), and
refuses once ``now`` passes the expiry. Times are given as input (seconds, any one clock).

``QrInvite`` and ``QrScan`` exchange no messages of their own (the handshake is the exchange):
they are one-shot handshake helpers that build the ``IKpsk2`` handshake for the session to drive
and read its result, not cores under the contract of :mod:`edge_dan.wire.core`.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_dan.pairing.result import PairingResult, kdf
from edge_dan.wire.errors import HandshakeError, InvalidPairingPayload, PairingWindowClosed
from edge_dan.wire.noise import Handshake, KeyPair

IKPSK2 = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
QR_SCHEME = "EDGEDAN"
QR_VERSION = 1
SECRET_LEN = 16  # 128 bits
STATIC_LEN = 32
DEFAULT_TTL = 300.0  # seconds an offer stays open
MAX_TEXT_LEN = 200
_PSK_LABEL = b"edge-dan-qr-psk"
_ADVERT_LABEL = b"edge-dan-qr-adv"


def qr_psk(secret: bytes) -> bytes:
    """The IKpsk2 psk from the QR secret (never the secret itself)."""
    return kdf(_PSK_LABEL, secret)


def qr_advert_key(handshake_hash: bytes, secret: bytes) -> bytes:
    """The pair's discovery key: the handshake hash under the QR secret, with its own label."""
    return kdf(_ADVERT_LABEL, handshake_hash, key=secret)


@dataclass(frozen=True, repr=False)
class QrPayload:
    """What the QR carries: the shower's Noise static public key and the one-time secret."""

    static_key: bytes
    secret: bytes
    version: int = QR_VERSION

    def __post_init__(self) -> None:
        if len(self.static_key) != STATIC_LEN or len(self.secret) != SECRET_LEN:
            raise InvalidPairingPayload("a QR payload holds a 32-byte key and a 16-byte secret")

    def to_text(self) -> str:
        body = base64.b32encode(self.static_key + self.secret).decode("ascii").rstrip("=")
        return f"{QR_SCHEME}:{self.version}:{body}"

    @classmethod
    def parse(cls, text: str) -> QrPayload:
        """Read scanned text; anything else than a payload this version knows is refused."""
        if not isinstance(text, str) or len(text) > MAX_TEXT_LEN:
            raise InvalidPairingPayload("not an edge_dan pairing code")
        parts = text.strip().upper().split(":")
        if len(parts) != 3 or parts[0] != QR_SCHEME:
            raise InvalidPairingPayload(f"not an edge_dan pairing code (expected {QR_SCHEME}:...)")
        if parts[1] != str(QR_VERSION):
            raise InvalidPairingPayload(
                f"pairing code version {parts[1][:8]!r} is not supported (this edge_dan reads "
                f"version {QR_VERSION}); update the device that showed it or this one"
            )
        body = parts[2]
        expected_len = -(-(STATIC_LEN + SECRET_LEN) * 8 // 5)  # unpadded base32 characters
        if len(body) != expected_len or not body.isascii():
            raise InvalidPairingPayload("the pairing code is truncated or damaged")
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except (binascii.Error, ValueError):
            raise InvalidPairingPayload("the pairing code is damaged (not base32)") from None
        if len(raw) != STATIC_LEN + SECRET_LEN:  # unreachable given the length check; never crash
            raise InvalidPairingPayload("the pairing code is truncated or damaged")
        return cls(raw[:STATIC_LEN], raw[STATIC_LEN:])

    def __repr__(self) -> str:  # never the secret
        return f"QrPayload(version={self.version}, static_key={self.static_key.hex()[:16]}..)"


def render_qr(text: str) -> str | None:
    """``text`` as a terminal QR code (ASCII), or None when the optional ``qrcode`` is missing."""
    try:
        qrcode: Any = importlib.import_module("qrcode")
    except ImportError:
        return None
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


class QrInvite:
    """The showing device's one-time offer. Show ``text`` (or ``render()``), then, when a peer
    connects, ``responder(now)`` gives the IKpsk2 handshake to run; ``result`` after it."""

    def __init__(
        self,
        static: KeyPair,
        *,
        now: float,
        ttl: float = DEFAULT_TTL,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._static = static
        self.payload = QrPayload(static.public, random_bytes(SECRET_LEN))
        self.expires_at = now + ttl
        self._used = False

    @property
    def text(self) -> str:
        return self.payload.to_text()

    def render(self) -> str:
        """The terminal QR code with the text under it (the text alone without ``qrcode``)."""
        art = render_qr(self.text)
        return f"{art}{self.text}\n" if art else f"{self.text}\n"

    def is_open(self, now: float) -> bool:
        return not self._used and now < self.expires_at

    def close(self) -> None:
        """Withdraw the offer (the owner cancelled, or a pairing finished)."""
        self._used = True

    def responder(self, now: float, prologue: bytes = b"") -> Handshake:
        """The IKpsk2 responder for one incoming attempt; the offer is spent from now on."""
        if self._used:
            raise PairingWindowClosed("this QR code was used already; show a new one")
        if now >= self.expires_at:
            self._used = True
            raise PairingWindowClosed("this QR code has expired; show a new one")
        self._used = True
        return Handshake(
            IKPSK2,
            initiator=False,
            prologue=prologue,
            s=self._static,
            psks=[qr_psk(self.payload.secret)],
        )

    def result(self, handshake: Handshake) -> PairingResult:
        """After the handshake (and the scanner's first transport message decrypted)."""
        return _result(handshake, self.payload.secret)


class QrScan:
    """The scanning device: from the scanned text to the IKpsk2 initiator and the result."""

    def __init__(self, scanned: QrPayload | str, static: KeyPair) -> None:
        self.payload = scanned if isinstance(scanned, QrPayload) else QrPayload.parse(scanned)
        self._static = static

    def initiator(self, prologue: bytes = b"") -> Handshake:
        return Handshake(
            IKPSK2,
            initiator=True,
            prologue=prologue,
            s=self._static,
            rs=self.payload.static_key,
            psks=[qr_psk(self.payload.secret)],
        )

    def result(self, handshake: Handshake) -> PairingResult:
        return _result(handshake, self.payload.secret)


def _result(handshake: Handshake, secret: bytes) -> PairingResult:
    if handshake.protocol_name != IKPSK2 or not handshake.complete:
        raise HandshakeError("QR pairing needs its completed IKpsk2 handshake")
    peer = handshake.remote_static
    assert peer is not None  # IK always has the peer's static key once complete
    return PairingResult(
        method="qr",
        peer_static=peer,
        advert_key=qr_advert_key(handshake.handshake_hash, secret),
        handshake_hash=handshake.handshake_hash,
    )
