"""Private rotating advertisement tokens: paired peers recognise each other, strangers cannot link.

The design follows Bluetooth LE's resolvable private addresses (Core Specification, Vol 3 Part C
10.8.2, and the IRK distributed after pairing in Vol 3 Part H 3.6.4), moved up a layer so the same
token travels in mDNS TXT records and in BLE service data:

- Every agent holds one random 32-byte *advertising key* (``new_advertising_key``). It is sent to a
  peer only inside an encrypted, authenticated session, right after pairing (the IRK of BLE's key
  distribution phase). A per-pair key would not do: an agent advertises to all its partners at
  once, and one tag per partner neither fits a 31-byte BLE advertisement nor hides how many
  partners it has.
- Time is cut into epochs of ``period`` seconds (15 minutes by default, the usual RPA lifetime).
  Each epoch, and each time the advertised flags change, the advertiser draws a fresh random nonce
  and publishes ``token = nonce || tag`` with
  ``tag = BLAKE2b-48(key=advertising key, person="littledan-adv1",
  version || flags || epoch (8 bytes, big endian) || nonce)``.
- A partner holding the key recomputes the tag for the epochs around its own clock (``skew``
  epochs either side) and so recognises the advertiser; anyone else sees 12 fresh random-looking
  bytes per rotation. The epoch inside the MAC bounds replay: a recorded token stops being
  recognised once the epoch window has passed.

A recognition is a hint about who is nearby, never authentication: the Noise session that
follows proves identity. A forged token matches a given key with probability 2^-48.

The same key gates that session: a partner's handshake (``Noise_IKpsk1``) carries the psk
``session_psk(key, epoch) = BLAKE2b-256(key=advertising key, person="littledan-psk1", epoch)``
of the advertiser's key, so only a holder of the key completes it and learns the advertiser's
static key and identity; ``session_psks`` lists the ones a responder accepts around its clock.

Sans-IO: no clocks are read here; callers pass ``now`` (seconds, any monotonic-enough epoch such
as ``time.time()``; both sides must use wall-clock time for epochs to agree).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

ADVERT_VERSION = 1
ADVERTISING_KEY_LEN = 32
NONCE_LEN = 6
TAG_LEN = 6
TOKEN_LEN = NONCE_LEN + TAG_LEN
SERVICE_DATA_LEN = 1 + TOKEN_LEN  # header byte (version << 4 | flags), then the token
DEFAULT_PERIOD = 900.0
DEFAULT_SKEW = 1  # epochs either side of our own; with 15-minute epochs, 15 to 30 minutes of skew

FLAG_OPEN_TO_PAIRING = 0x1
KNOWN_FLAGS = FLAG_OPEN_TO_PAIRING

_PERSON = b"littledan-adv1"
_PSK_PERSON = b"littledan-psk1"  # domain-separates session psks from advert tags (same key)
SESSION_PSK_LEN = 32


class TokenError(ValueError):
    """An advertisement field is malformed (wrong length, unknown version, bad encoding)."""


def new_advertising_key(random: Callable[[int], bytes] = os.urandom) -> bytes:
    """A fresh advertising key; rotate it (and redistribute) to cut off a former partner."""
    return random(ADVERTISING_KEY_LEN)


def epoch_of(now: float, period: float = DEFAULT_PERIOD) -> int:
    if period <= 0:
        raise ValueError(f"period must be > 0, got {period}")
    return int(now // period)


def compute_tag(key: bytes, version: int, flags: int, epoch: int, nonce: bytes) -> bytes:
    if len(key) != ADVERTISING_KEY_LEN:
        raise ValueError(f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(key)}")
    if len(nonce) != NONCE_LEN:
        raise ValueError(f"a token nonce has {NONCE_LEN} bytes, got {len(nonce)}")
    digest = hashlib.blake2b(key=key, digest_size=TAG_LEN, person=_PERSON)
    digest.update(bytes((version, flags)))
    digest.update(epoch.to_bytes(8, "big", signed=True))
    digest.update(nonce)
    return digest.digest()


def session_psk(key: bytes, epoch: int) -> bytes:
    """The psk a partner's handshake uses in ``epoch``, from the advertiser's advertising key."""
    if len(key) != ADVERTISING_KEY_LEN:
        raise ValueError(f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(key)}")
    digest = hashlib.blake2b(key=key, digest_size=SESSION_PSK_LEN, person=_PSK_PERSON)
    digest.update(epoch.to_bytes(8, "big", signed=True))
    return digest.digest()


def session_psks(
    key: bytes, now: float, period: float = DEFAULT_PERIOD, skew: int = DEFAULT_SKEW
) -> tuple[bytes, ...]:
    """The psks a responder accepts at ``now``: its own epoch first, then ``skew`` either side
    (nearest first), so an initiator whose clock is up to ``skew`` epochs off still gets in."""
    if skew < 0:
        raise ValueError(f"skew must be >= 0, got {skew}")
    here = epoch_of(now, period)
    epochs = [here]
    for distance in range(1, skew + 1):
        epochs += [here - distance, here + distance]
    return tuple(session_psk(key, epoch) for epoch in epochs)


@dataclass(frozen=True)
class Advert:
    """What one advertisement says: the same fields in mDNS TXT and in BLE service data."""

    version: int
    flags: int
    token: bytes  # nonce || tag

    def __post_init__(self) -> None:
        if not 0 <= self.version <= 15:
            raise TokenError(f"advertisement version must be 0..15, got {self.version}")
        if not 0 <= self.flags <= 15:
            raise TokenError(f"advertisement flags must be 0..15, got {self.flags}")
        if len(self.token) != TOKEN_LEN:
            raise TokenError(f"an advertisement token has {TOKEN_LEN} bytes, got {len(self.token)}")

    @property
    def open_to_pairing(self) -> bool:
        return bool(self.flags & FLAG_OPEN_TO_PAIRING)

    @property
    def nonce(self) -> bytes:
        return self.token[:NONCE_LEN]

    @property
    def tag(self) -> bytes:
        return self.token[NONCE_LEN:]

    # -- encodings -----------------------------------------------------------------------------

    def service_data(self) -> bytes:
        """The BLE service-data value: one header byte, then the token (13 bytes)."""
        return bytes(((self.version << 4) | self.flags,)) + self.token

    @classmethod
    def from_service_data(cls, data: bytes) -> Advert:
        if len(data) != SERVICE_DATA_LEN:
            raise TokenError(f"BLE service data has {SERVICE_DATA_LEN} bytes, got {len(data)}")
        return cls(version=data[0] >> 4, flags=data[0] & 0x0F, token=bytes(data[1:]))

    def token_text(self) -> str:
        """The token for a TXT record: lowercase base32 without padding (20 characters)."""
        return base64.b32encode(self.token).decode("ascii").rstrip("=").lower()

    @staticmethod
    def token_from_text(text: str) -> bytes:
        padded = text.upper() + "=" * (-len(text) % 8)
        try:
            token = base64.b32decode(padded.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise TokenError(f"advertisement token {text[:40]!r} is not base32") from exc
        if len(token) != TOKEN_LEN:
            raise TokenError(f"an advertisement token has {TOKEN_LEN} bytes, got {len(token)}")
        return token


# How far past an epoch boundary a pairing window may end and still be cut back to it (s).
PAIRING_SPILL = 1.0


class TokenRotator:
    """The advertiser's side: which advertisement to publish now, and when it next changes.

    ``generation`` counts rotations; transports re-publish (and change every other per-rotation
    value: mDNS instance and host names, port, BLE address) whenever it moves, so nothing stays
    stable across two rotations.

    ``key`` is the advertising key, or a function returning the current one: that is read at
    every ``advert``, and a new key is a rotation too, so an agent whose key is replaced (at an
    unpairing) stops advertising tokens of the old one at its next rotation or ``refresh``.
    """

    def __init__(
        self,
        key: bytes | Callable[[], bytes],
        *,
        period: float = DEFAULT_PERIOD,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._key: Callable[[], bytes] = _fixed(key) if isinstance(key, bytes) else key
        first = self._key()
        if len(first) != ADVERTISING_KEY_LEN:
            raise ValueError(
                f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(first)}"
            )
        epoch_of(0.0, period)  # validates period
        self._period = period
        self._random = random
        self._flags = 0
        self._open_until: float | None = None
        self._current: tuple[int, int, bytes, Advert] | None = None  # (epoch, flags, key, advert)
        self.generation = 0

    @property
    def period(self) -> float:
        return self._period

    def open_to_pairing(self, now: float, duration: float) -> None:
        """Owner's choice: advertise as open to pairing until ``now + duration``."""
        if duration <= 0:
            raise ValueError(f"open-to-pairing duration must be > 0, got {duration}")
        until = now + duration
        boundary = (epoch_of(now, self._period) + 1) * self._period
        # A window meant to end with this epoch, computed a moment before ``now``, spills a
        # sliver into the next; an open advert there would link the two epochs for a stranger.
        if boundary <= until < boundary + min(PAIRING_SPILL, self._period / 10):
            until = boundary
        self._open_until = until

    def close_pairing(self) -> None:
        self._open_until = None

    def is_open(self, now: float) -> bool:
        return self._open_until is not None and now < self._open_until

    def advert(self, now: float) -> Advert:
        """The advertisement for ``now``; a fresh nonce whenever the epoch, the flags or the key
        change."""
        flags = FLAG_OPEN_TO_PAIRING if self.is_open(now) else 0
        epoch = epoch_of(now, self._period)
        key = self._key()
        if self._current is None or self._current[:3] != (epoch, flags, key):
            nonce = self._random(NONCE_LEN)
            tag = compute_tag(key, ADVERT_VERSION, flags, epoch, nonce)
            self._current = (epoch, flags, key, Advert(ADVERT_VERSION, flags, nonce + tag))
            self.generation += 1
        return self._current[3]

    def next_change(self, now: float) -> float:
        """When the advertisement must be recomputed: the next epoch or the pairing window's end."""
        boundary = (epoch_of(now, self._period) + 1) * self._period
        if self.is_open(now):
            assert self._open_until is not None
            return min(boundary, self._open_until)
        return boundary


def _fixed(key: bytes) -> Callable[[], bytes]:
    return lambda: key


class Recogniser:
    """The listener's side: which partner (if any) an advertisement comes from.

    ``keys`` maps a partner id (for example its identity key) to the advertising key it gave us.
    """

    def __init__(
        self,
        keys: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]] = (),
        *,
        period: float = DEFAULT_PERIOD,
        skew: int = DEFAULT_SKEW,
    ) -> None:
        epoch_of(0.0, period)
        if skew < 0:
            raise ValueError(f"skew must be >= 0, got {skew}")
        self._period = period
        self._skew = skew
        self._keys: dict[bytes, bytes] = {}
        for peer, key in dict(keys).items():
            self.add(peer, key)

    def add(self, peer: bytes, key: bytes) -> None:
        if len(key) != ADVERTISING_KEY_LEN:
            raise ValueError(f"an advertising key has {ADVERTISING_KEY_LEN} bytes, got {len(key)}")
        self._keys[peer] = key

    def remove(self, peer: bytes) -> None:
        self._keys.pop(peer, None)

    def __len__(self) -> int:
        return len(self._keys)

    def recognise(self, advert: Advert, now: float) -> bytes | None:
        """The partner whose key made ``advert`` within our epoch window, or None."""
        if advert.version != ADVERT_VERSION:
            return None
        here = epoch_of(now, self._period)
        for peer, key in self._keys.items():
            for epoch in range(here - self._skew, here + self._skew + 1):
                tag = compute_tag(key, advert.version, advert.flags, epoch, advert.nonce)
                if hmac.compare_digest(tag, advert.tag):
                    return peer
        return None
