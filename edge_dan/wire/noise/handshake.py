"""HandshakeState of the Noise spec (section 5.3) as a sans-IO state machine.

The caller moves bytes: ``write_message`` when ``my_turn``, ``read_message`` otherwise, until
``complete``; then ``split`` gives the transport cipher states. A failed ``read_message`` or
``write_message`` leaves the state exactly as it was, so a forged message cannot spoil a handshake
the real peer is still completing; whether to keep waiting or give up is the caller's decision.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from edge_dan.wire.errors import HandshakeError, MessageTooLarge, UnsupportedProtocol
from edge_dan.wire.noise import crypto
from edge_dan.wire.noise.crypto import DHLEN, TAGLEN, Hash, KeyPair
from edge_dan.wire.noise.patterns import Pattern, pattern_from_name
from edge_dan.wire.noise.state import MAX_MESSAGE_LEN, CipherState, SymmetricState

PSKLEN = 32


def parse_protocol_name(protocol_name: str) -> tuple[Pattern, Hash]:
    """``Noise_XX_25519_ChaChaPoly_BLAKE2b`` -> (pattern, hash); other primitives are refused."""
    parts = protocol_name.split("_")
    if len(parts) != 5 or parts[0] != "Noise":
        raise UnsupportedProtocol(
            f"{protocol_name!r} is not a Noise protocol name of the form "
            "Noise_<pattern>_25519_ChaChaPoly_<BLAKE2b|SHA256>"
        )
    _, pattern_name, dh_name, cipher_name, hash_name = parts
    if dh_name != "25519":
        raise UnsupportedProtocol(f"DH function {dh_name!r} is not supported (only 25519)")
    if cipher_name != "ChaChaPoly":
        raise UnsupportedProtocol(f"cipher {cipher_name!r} is not supported (only ChaChaPoly)")
    if hash_name not in crypto.HASHES:
        raise UnsupportedProtocol(f"hash {hash_name!r} is not supported (only BLAKE2b, SHA256)")
    return pattern_from_name(pattern_name), crypto.HASHES[hash_name]


def _key_pair(key: KeyPair | bytes | None) -> KeyPair | None:
    return KeyPair.from_private(key) if isinstance(key, bytes) else key


class _Reader:
    """Takes fields off the front of a received message, refusing to run past its end."""

    def __init__(self, message: bytes) -> None:
        self._message = message
        self._offset = 0

    def take(self, size: int, what: str) -> bytes:
        if self._offset + size > len(self._message):
            raise HandshakeError(
                f"handshake message of {len(self._message)} bytes is too short for its {what}"
            )
        field = self._message[self._offset : self._offset + size]
        self._offset += size
        return field

    def rest(self) -> bytes:
        return self._message[self._offset :]


class Handshake:
    """One side of a Noise handshake.

    ``s`` is the local static key pair (or its 32-byte private key), ``rs`` the remote static public
    key when the pattern pre-shares it, ``psks`` the 32-byte pre-shared keys in the order the
    pattern uses them. ``e`` fixes the ephemeral private key: for test vectors only, since reusing
    an ephemeral key breaks the handshake's security.
    """

    def __init__(
        self,
        protocol_name: str,
        initiator: bool,
        prologue: bytes = b"",
        *,
        s: KeyPair | bytes | None = None,
        rs: bytes | None = None,
        psks: Sequence[bytes] = (),
        e: KeyPair | bytes | None = None,
    ) -> None:
        self._pattern, hash_function = parse_protocol_name(protocol_name)
        self._protocol_name = protocol_name
        self._initiator = initiator
        self._s = _key_pair(s)
        self._e = _key_pair(e)
        self._rs = rs
        self._re: bytes | None = None
        self._psks = tuple(psks)
        self._check_keys()
        self._used_psks = 0
        self._message_index = 0
        self._transport: tuple[CipherState, CipherState] | None = None
        self._split_done = False

        self._symmetric = SymmetricState(protocol_name.encode("ascii"), hash_function)
        self._symmetric.mix_hash(prologue)
        # Pre-message keys enter the hash initiator's first, whatever side we are (spec 5.3).
        for premessage, ours in (
            (self._pattern.initiator_premessage, initiator),
            (self._pattern.responder_premessage, not initiator),
        ):
            if premessage:  # the supported patterns pre-share only "s"; _check_keys ensured it
                key = self.local_static if ours else self._rs
                assert key is not None
                self._symmetric.mix_hash(key)

    def _check_keys(self) -> None:
        pattern, name = self._pattern, self._pattern.name
        ours, theirs = (
            (pattern.initiator_premessage, pattern.responder_premessage)
            if self.initiator
            else (pattern.responder_premessage, pattern.initiator_premessage)
        )
        needs_s = "s" in ours or any("s" in message for message in pattern.sent_by(self.initiator))
        if needs_s and self._s is None:
            raise HandshakeError(f"pattern {name} needs this side's static key pair (s)")
        if not needs_s and self._s is not None:
            raise HandshakeError(f"pattern {name} uses no static key on this side; do not pass s")
        # Passing rs to a pattern that learns it in-band would suggest a check that never happens.
        if ("s" in theirs) != (self._rs is not None):
            wanted = "needs" if "s" in theirs else "does not pre-share, so must not be given,"
            raise HandshakeError(f"pattern {name} {wanted} the remote static public key (rs)")
        if self._rs is not None and len(self._rs) != DHLEN:
            raise HandshakeError(f"a 25519 public key is {DHLEN} bytes, got {len(self._rs)}")
        if len(self._psks) != pattern.psk_count:
            raise HandshakeError(
                f"pattern {name} needs {pattern.psk_count} psks, got {len(self._psks)}"
            )
        if any(len(psk) != PSKLEN for psk in self._psks):
            raise HandshakeError(f"every psk must be {PSKLEN} bytes")

    @property
    def initiator(self) -> bool:
        return self._initiator

    @property
    def protocol_name(self) -> str:
        return self._protocol_name

    @property
    def my_turn(self) -> bool:
        """True when the next step is ``write_message``, False when it is ``read_message``."""
        return not self.complete and (self._message_index % 2 == 0) == self.initiator

    @property
    def complete(self) -> bool:
        return self._transport is not None

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static public key, once pre-shared or received; authenticate it yourself."""
        return self._rs

    @property
    def local_static(self) -> bytes | None:
        return self._s.public if self._s else None

    @property
    def handshake_hash(self) -> bytes:
        """The final handshake hash, unique to this session: a channel binding for signatures."""
        if not self.complete:
            raise HandshakeError("the handshake hash is final only once the handshake completes")
        return self._symmetric.handshake_hash

    def split(self) -> tuple[CipherState, CipherState]:
        """(send, receive) cipher states for this side; given out once, to never reuse a nonce.

        One-way patterns (N, K, X) may only be used initiator to responder.
        """
        if self._transport is None:
            raise HandshakeError("split() before the handshake completed")
        if self._split_done:
            raise HandshakeError("split() was already called; the cipher states exist only once")
        self._split_done = True
        to_responder, to_initiator = self._transport
        return (to_responder, to_initiator) if self.initiator else (to_initiator, to_responder)

    def write_message(self, payload: bytes = b"") -> bytes:
        self._check_turn(writing=True)
        with self._rollback_on_error():
            parts: list[bytes] = []
            for step in self._pattern.messages[self._message_index]:
                if step == "e":
                    if self._e is None:
                        self._e = KeyPair.generate()
                    parts.append(self._e.public)
                    self._mix_ephemeral(self._e.public)
                elif step == "s":
                    assert self._s is not None  # _check_keys guarantees it
                    parts.append(self._symmetric.encrypt_and_hash(self._s.public))
                else:
                    self._mix_dh_or_psk(step)
            tag = TAGLEN if self._symmetric.has_key else 0
            if sum(map(len, parts)) + len(payload) + tag > MAX_MESSAGE_LEN:
                raise MessageTooLarge(
                    f"a handshake message is capped at {MAX_MESSAGE_LEN} bytes; "
                    f"a payload of {len(payload)} bytes does not fit"
                )
            parts.append(self._symmetric.encrypt_and_hash(payload))
            self._advance()
        return b"".join(parts)

    def read_message(self, message: bytes) -> bytes:
        self._check_turn(writing=False)
        if len(message) > MAX_MESSAGE_LEN:
            raise MessageTooLarge(
                f"handshake message of {len(message)} bytes exceeds the Noise limit "
                f"of {MAX_MESSAGE_LEN}"
            )
        with self._rollback_on_error():
            reader = _Reader(bytes(message))
            for step in self._pattern.messages[self._message_index]:
                if step == "e":
                    self._re = reader.take(DHLEN, "ephemeral key")
                    self._mix_ephemeral(self._re)
                elif step == "s":
                    size = DHLEN + TAGLEN if self._symmetric.has_key else DHLEN
                    self._rs = self._symmetric.decrypt_and_hash(reader.take(size, "static key"))
                else:
                    self._mix_dh_or_psk(step)
            payload = self._symmetric.decrypt_and_hash(reader.rest())
            self._advance()
        return payload

    def _check_turn(self, writing: bool) -> None:
        if self.complete:
            raise HandshakeError("the handshake is complete; use the cipher states from split()")
        if writing != self.my_turn:
            expected = "write_message" if self.my_turn else "read_message"
            raise HandshakeError(
                f"out of turn: the {self._pattern.name} handshake expects {expected}"
            )

    @contextmanager
    def _rollback_on_error(self) -> Iterator[None]:
        saved = (self._symmetric.copy(), self._e, self._re, self._rs, self._used_psks)
        try:
            yield
        except BaseException:
            self._symmetric, self._e, self._re, self._rs, self._used_psks = saved
            raise

    def _mix_ephemeral(self, public: bytes) -> None:
        self._symmetric.mix_hash(public)
        # With a psk in play the ephemeral key also enters the key (spec, psk section), so the
        # psk and a fresh ephemeral together make the encryption key.
        if self._pattern.psk_count:
            self._symmetric.mix_key(public)

    def _mix_dh_or_psk(self, step: str) -> None:
        if step == "psk":
            self._symmetric.mix_key_and_hash(self._psks[self._used_psks])
            self._used_psks += 1
            return
        # The first letter names the initiator's key, the second the responder's (spec 7.1).
        mine, theirs = (step[0], step[1]) if self.initiator else (step[1], step[0])
        local = self._e if mine == "e" else self._s
        remote = self._re if theirs == "e" else self._rs
        if local is None or remote is None:  # unreachable for valid patterns; never crash
            raise HandshakeError(f"token {step!r} needs a key this side does not have")
        self._symmetric.mix_key(crypto.dh(local.private, remote))

    def _advance(self) -> None:
        self._message_index += 1
        if self._message_index == len(self._pattern.messages):
            self._transport = self._symmetric.split()
