"""A secure session as a sans-IO state machine (in the style of h11).

One ``Session`` is one side of one conversation: the Noise handshake (XX for first contact, IK for
a peer whose static key is known), then encrypted wire messages, keepalives and an orderly close.
It follows the core contract of :mod:`edge_dan.wire.core` with frames as its input and output: a
transport feeds it whole Noise messages (``receive``; delimiting them on the link is the framing's
job) and the time (``tick``, when ``next_deadline`` comes), sends what ``take_outgoing`` returns and
reads what happened from ``take_events``; ``finished`` says it ended (CLOSED or FAILED). Its
events carry the decoded messages: the session is the layer that turns frames into messages, and
every core above it sees only messages. Time is seconds on any monotonic clock::

    session = Session(Role.INITIATOR, identity, now=loop.time())
    link.send_all(session.take_outgoing())
    for frame in link.frames():
        session.receive(frame, loop.time())
        link.send_all(session.take_outgoing())
        for event in session.take_events(): ...

States::

    HANDSHAKE --handshake done--> ESTABLISHED --close()--> CLOSING --peer's Close / close_timeout--.
        |                            |--peer's Close (answered) or dead peer--> CLOSED <---------'
        |--handshake timeout or close() during the handshake (nothing sent) --> CLOSED
        '--any bad frame, in any state before CLOSED --------------------------> FAILED

Ping, Pong, Close and HandshakePayload are the session's own: ``send`` refuses them and they never
appear as ``MessageReceived``. In CLOSING, messages the peer sent before it saw our Close are still
delivered. A responder built with ``pattern=None`` takes XX or IK from message 1 (an XX message 1
is exactly 32 bytes, as its payload must be empty; every IK message 1 is longer).

Admission (``PartnerAdmission``, for a responder with ``pattern=None``): partners come in through
``IKpsk1`` with a psk only they can know (the agent derives it from its advertising key and the
epoch, ``edge_dan.discovery.tokens.session_psk``); the responder tries its few candidate psks on
message 1 and answers only if one fits, so its static key and identity reach nobody else. A
message-1 ephemeral key the ``fresh`` check has seen before is a replay and fails. First-contact
XX is taken only while ``first_contact`` is set (the owner opened pairing); otherwise a stranger's
message 1 fails like any bad frame: nothing is sent back, the connection just ends.

Pairing handshakes (QR, typed code; ``edge_dan.pairing`` prepares them). An initiator may be
given its prepared ``handshake`` (QR: ``IKpsk2`` to the key in the QR) or a ``Prelude``: one
cleartext frame it sends first and a function that turns the peer's cleartext answer into the
handshake to run (typed code: SPAKE2, then ``XXpsk3``). A responder's ``PartnerAdmission.pairing``
is offered every first frame that is neither first contact nor a partner's: it returns the
prepared handshake (``PairingStart``), with the cleartext answer to send first if the frame was a
prelude, or None to refuse. Either way the session's own payloads, prologue and checks apply.

Handshake payloads. Each side proves its identity inside the encrypted part of the handshake with
a ``HandshakePayload``: protocol version, Ed25519 identity key, the identity's signature over
``static_key_message(<its Noise static key>)`` and its capabilities. XX: the responder's in message
2, the initiator's in message 3 (message 1 travels in the clear and must be empty). IK: the
initiator's in message 1, the responder's in message 2. The receiver checks the signature against
the static key Noise actually authenticated (``Handshake.remote_static``), so a peer cannot borrow
another identity's payload. The prologue binds ``edge-dan/<version>`` and the Noise protocol name.

Failure. Anything wrong with a received frame (bad ciphertext, replayed, reordered, dropped,
truncated or bit-flipped frames all fail authentication because nonces are implicit counters;
malformed or unexpected messages; oversize frames) moves the session to FAILED and queues one
``ProtocolFailure``. Nothing from that frame is delivered, nothing more is sent (errors are never
sent in the clear, nor encrypted to a peer that just broke the protocol) and later frames are
ignored. ``receive`` itself never raises for anything the peer sends.

Keepalive. ``tick(now)`` sends a ``Ping`` after ``keepalive_interval`` seconds without a frame from
the peer (and again every interval while the silence lasts); the peer answers ``Pong``. After
``dead_peer_intervals`` intervals of silence the peer is declared dead: ``Closed(TIMEOUT)``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from edge_dan.identity import Identity, IdentityError, verify_static_key
from edge_dan.wire.errors import (
    FrameError,
    HandshakeError,
    MessageError,
    MessageTooLarge,
    PeerAuthenticationError,
    ProtocolError,
    SendBufferFull,
    SessionStateError,
)
from edge_dan.wire.messages import (
    MAX_MESSAGE_SIZE,
    PROTOCOL_VERSION,
    Close,
    CloseCode,
    HandshakePayload,
    Message,
    Ping,
    Pong,
    decode,
    decode_as,
    encode,
)
from edge_dan.wire.messages.control import MAX_CAPABILITIES, MAX_CAPABILITY_LEN, MAX_REASON_LEN
from edge_dan.wire.noise import MAX_MESSAGE_LEN, CipherState, Handshake
from edge_dan.wire.noise.crypto import DHLEN, TAGLEN, KeyPair

PROTOCOL_NAMES = {
    "XX": "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    "IK": "Noise_IK_25519_ChaChaPoly_BLAKE2b",
    # Partners (edge_dan.agent): IK gated by a psk from the responder's advertising key.
    "IKpsk1": "Noise_IKpsk1_25519_ChaChaPoly_BLAKE2b",
    # Pairing (edge_dan.pairing): QR pairing into IKpsk2, a SPAKE2 short code into XXpsk3.
    "IKpsk2": "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
    "XXpsk3": "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
}
PSK_LEN = 32
# Candidate psks a responder tries on one message 1: each try costs two X25519 operations, so a
# stranger's attempt stays cheap (the agent passes three: its epoch and one either side).
MAX_ADMISSION_PSKS = 4
# XX message 1 is the initiator's ephemeral key and an empty payload: exactly this long. Every IK
# message 1 is longer (encrypted static key and payload), which lets a responder accept both.
XX_FIRST_MESSAGE_LEN = DHLEN
# Room for the largest handshake message: XX message 2 with a payload of 16 long capabilities.
MIN_FRAME_SIZE = 1024
_CONTROL_TYPES = (HandshakePayload, Ping, Pong, Close)


def prologue(protocol_name: str) -> bytes:
    """The Noise prologue: binds the edge_dan protocol version and the Noise protocol name."""
    return b"edge-dan/%d\x00" % PROTOCOL_VERSION + protocol_name.encode("ascii")


class Role(Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(Enum):
    HANDSHAKE = "handshake"
    ESTABLISHED = "established"
    CLOSING = "closing"  # we sent Close and wait for the peer's
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True)
class SessionLimits:
    """Every bound of a session. Times are in seconds on the clock the caller passes in."""

    max_frame_size: int = MAX_MESSAGE_LEN  # one Noise message, handshake or transport
    max_message_size: int = MAX_MESSAGE_SIZE  # encoded (CBOR) size of one wire message
    max_pending_bytes: int = 1 << 20  # queued outgoing frame bytes; ``send`` refuses beyond
    handshake_timeout: float = 10.0
    keepalive_interval: float = 15.0
    dead_peer_intervals: int = 3  # silence of this many keepalive intervals = dead peer
    close_timeout: float = 5.0  # how long CLOSING waits for the peer's Close

    def __post_init__(self) -> None:
        if not MIN_FRAME_SIZE <= self.max_frame_size <= MAX_MESSAGE_LEN:
            raise ValueError(f"max_frame_size must be {MIN_FRAME_SIZE}..{MAX_MESSAGE_LEN}")
        if not 16 <= self.max_message_size <= MAX_MESSAGE_SIZE:
            raise ValueError(f"max_message_size must be 16..{MAX_MESSAGE_SIZE}")
        if self.max_pending_bytes < MAX_MESSAGE_LEN + 2:
            raise ValueError("max_pending_bytes must hold at least one full frame")
        for name in ("handshake_timeout", "keepalive_interval", "close_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.dead_peer_intervals < 1:
            raise ValueError("dead_peer_intervals must be at least 1")

    @property
    def dead_peer_timeout(self) -> float:
        return self.keepalive_interval * self.dead_peer_intervals


@dataclass(frozen=True)
class PartnerAdmission:
    """Who a responder (``pattern=None``) lets complete a handshake; see the module docstring.

    ``psks``: the ``IKpsk1`` psks accepted now (1..MAX_ADMISSION_PSKS, the most likely first).
    ``first_contact``: also take XX, which shows this side's identity to anyone (pairing open).
    ``fresh``: called with the ephemeral key of a message 1 whose psk fitted; False = a replay.
    ``pairing``: called with a first frame that is neither first contact nor a partner's while
    the owner shows a QR code or has a code window open; the pairing it starts, or None.
    """

    psks: tuple[bytes, ...]
    first_contact: bool = False
    fresh: Callable[[bytes], bool] | None = None
    pairing: PairingGate | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.psks) <= MAX_ADMISSION_PSKS:
            raise ValueError(f"a responder takes 1..{MAX_ADMISSION_PSKS} candidate psks")
        if any(len(psk) != PSK_LEN for psk in self.psks):
            raise ValueError(f"a psk is {PSK_LEN} bytes")


@dataclass(frozen=True)
class HandshakeComplete:
    """The peer proved its identity; the session is ESTABLISHED."""

    peer_identity_key: bytes  # Ed25519
    peer_static_key: bytes  # X25519, bound to the identity by the checked signature
    peer_capabilities: tuple[str, ...]
    handshake_hash: bytes  # unique to this session: a channel binding for signatures


@dataclass(frozen=True)
class MessageReceived:
    message: Message


@dataclass(frozen=True)
class Closed:
    """The session ended in order (or by timeout). ``code`` is a ``CloseCode`` or an unknown int."""

    code: int
    reason: str
    by_peer: bool


@dataclass(frozen=True)
class ProtocolFailure:
    """The peer broke the protocol (or the link mangled a frame); the session is FAILED."""

    error: ProtocolError


Event = HandshakeComplete | MessageReceived | Closed | ProtocolFailure


@dataclass(frozen=True)
class Prelude:
    """An initiator's cleartext exchange before its handshake (typed-code pairing's SPAKE2).

    ``frame`` goes out first; ``answer`` takes the responder's cleartext reply and returns the
    prepared handshake to run (with this session's ``prologue``), or raises ``ProtocolError``.
    """

    frame: bytes
    answer: Callable[[bytes], Handshake]


@dataclass(frozen=True)
class PairingStart:
    """How a responder takes a pairing that a first frame starts (see ``PartnerAdmission``).

    ``handshake``: the prepared responder handshake (``IKpsk2`` or ``XXpsk3``, with this
    session's ``prologue``). ``reply``: None when the first frame is that handshake's message 1;
    else the frame was a prelude, ``reply`` is the cleartext answer, and message 1 follows.
    """

    handshake: Handshake
    reply: bytes | None = None


PairingGate = Callable[[bytes], PairingStart | None]


class Session:
    """One side of a secure session; see the module docstring for the protocol.

    ``pattern``: "XX" (first contact), "IK" (``remote_static`` is the peer's known X25519 key;
    initiator only) or, for a responder only, ``None`` to accept either; "IKpsk1" (partners),
    "IKpsk2" and "XXpsk3" (pairing) take the 32-byte ``psk`` as well and are never guessed by a
    responder, except "IKpsk1" by one given ``admission`` (then XX only if it allows first
    contact, and never plain IK).
    ``expected_peer_identity`` (Ed25519 public key), when given, must be the identity the peer
    proves, else the handshake fails. ``now`` starts the handshake timer.
    ``handshake`` (a prepared pairing handshake) or ``prelude`` (an exchange that yields one)
    replace ``pattern`` for an initiator; see the module docstring.
    """

    def __init__(
        self,
        role: Role,
        identity: Identity,
        *,
        now: float,
        pattern: str | None = "XX",
        remote_static: bytes | None = None,
        psk: bytes | None = None,
        expected_peer_identity: bytes | None = None,
        capabilities: tuple[str, ...] = (),
        limits: SessionLimits | None = None,
        admission: PartnerAdmission | None = None,
        handshake: Handshake | None = None,
        prelude: Prelude | None = None,
    ) -> None:
        prepared = handshake is not None or prelude is not None
        if prepared:
            _check_prepared(role, pattern, psk, remote_static, handshake=handshake, prelude=prelude)
            pattern = None
        _check_pattern(role, pattern, psk, remote_static, admission=admission, prepared=prepared)
        try:  # the payload is the same in every handshake message this side sends
            self._payload = encode(
                HandshakePayload(
                    PROTOCOL_VERSION,
                    identity.public_key,
                    identity.static_signature,
                    tuple(capabilities),
                )
            )
        except MessageError as exc:
            raise ValueError(
                f"bad capabilities (at most {MAX_CAPABILITIES}, each 1..{MAX_CAPABILITY_LEN} "
                f"UTF-8 bytes): {exc}"
            ) from exc
        self.role = role
        self.limits = limits or SessionLimits()
        self._identity = identity
        self._expected_identity = expected_peer_identity
        self._pattern = pattern
        self._psk = psk
        self._admission = admission
        self._handshake: Handshake | None = None
        self._send_cipher: CipherState | None = None
        self._recv_cipher: CipherState | None = None
        self._state = State.HANDSHAKE
        self._outgoing: deque[bytes] = deque()
        self._pending_bytes = 0
        self._events: deque[Event] = deque()
        self._now = now
        self._started = now
        self._last_received = now
        self._last_ping = now
        self._ping_counter = 0
        self._close_started = now
        self._close_code = 0
        self._close_reason = ""
        self._peer: HandshakeComplete | None = None
        self._peer_proof: HandshakePayload | None = None
        self._sent_first = False  # whether this side wrote its first handshake message
        self._prelude = prelude
        if pattern is not None:
            self._start_handshake(pattern, remote_static)
        if handshake is not None:
            self._use_prepared(handshake)
        if prelude is not None:
            self._queue(prelude.frame)
        elif role is Role.INITIATOR:
            self._write_handshake_message()

    # -- what the caller can look at -------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def pattern(self) -> str | None:
        """The Noise pattern in use (None for a responder that has not seen message 1 yet)."""
        return self._pattern

    @property
    def peer(self) -> HandshakeComplete | None:
        """Who the peer proved to be, once the handshake completed."""
        return self._peer

    @property
    def pending_bytes(self) -> int:
        """Bytes of frames queued for the transport and not yet taken by ``take_outgoing``."""
        return self._pending_bytes

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has something to do (None once the session ended)."""
        if self._state is State.HANDSHAKE:
            return self._started + self.limits.handshake_timeout
        if self._state is State.ESTABLISHED:
            interval = self.limits.keepalive_interval
            next_ping = max(self._last_received, self._last_ping) + interval
            return min(next_ping, self._last_received + self.limits.dead_peer_timeout)
        if self._state is State.CLOSING:
            return self._close_started + self.limits.close_timeout
        return None

    @property
    def finished(self) -> bool:
        """Whether the session has ended (CLOSED or FAILED)."""
        return self._state in (State.CLOSED, State.FAILED)

    # -- output ------------------------------------------------------------------------------

    def take_outgoing(self) -> list[bytes]:
        """Every frame (one Noise message each) the transport should now send, in order."""
        frames = list(self._outgoing)
        self._outgoing.clear()
        self._pending_bytes = 0
        return frames

    def take_events(self) -> list[Event]:
        """Every event not yet taken, in order."""
        events = list(self._events)
        self._events.clear()
        return events

    # -- input ---------------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Encrypt and queue an application message.

        Raises ``SessionStateError`` unless ESTABLISHED, ``MessageError`` for a session-control
        message or one that breaks its schema or ``max_message_size``, ``SendBufferFull`` when
        the queued frames would exceed ``max_pending_bytes``. A refused send changes nothing.
        """
        if self._state is not State.ESTABLISHED:
            raise SessionStateError(f"cannot send in state {self._state.value}")
        if isinstance(message, _CONTROL_TYPES):
            raise MessageError(
                f"{type(message).__name__} is sent by the session itself; use close() to end it"
            )
        plaintext = encode(message, max_size=self.limits.max_message_size)
        frame_size = len(plaintext) + TAGLEN
        if frame_size > self.limits.max_frame_size:
            raise MessageTooLarge(
                f"{type(message).__name__} needs a frame of {frame_size} bytes, "
                f"limit {self.limits.max_frame_size}"
            )
        if self._pending_bytes + frame_size > self.limits.max_pending_bytes:
            raise SendBufferFull(
                f"{self._pending_bytes} bytes already wait for the transport; "
                f"limit {self.limits.max_pending_bytes}"
            )
        self._send_encrypted(plaintext)

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the close handshake (ESTABLISHED), or abort a handshake in progress.

        Closing an ended session does nothing.
        """
        if not 0 <= code <= 0xFFFF:
            raise ValueError("a close code is 0..65535")
        reason = _clip(reason)
        if self._state is State.HANDSHAKE:
            self._finish(Closed(code, reason, by_peer=False))
        elif self._state is State.ESTABLISHED:
            self._send_control(Close(code, reason))
            self._state = State.CLOSING
            self._close_started = self._now
            self._close_code, self._close_reason = code, reason

    def tick(self, now: float) -> None:
        """Let time pass: handshake timeout, keepalive pings, dead peer, close timeout."""
        self._now = max(self._now, now)
        now = self._now
        if self._state is State.HANDSHAKE:
            if now - self._started >= self.limits.handshake_timeout:
                self._finish(Closed(CloseCode.TIMEOUT, "the handshake timed out", by_peer=False))
        elif self._state is State.ESTABLISHED:
            silence = now - self._last_received
            if silence >= self.limits.dead_peer_timeout:
                # Best effort: tell a peer that is merely slow why we leave.
                reason = f"no frame from the peer for {silence:.1f} s"
                self._send_control(Close(CloseCode.TIMEOUT, _clip(reason)))
                self._finish(Closed(CloseCode.TIMEOUT, _clip(reason), by_peer=False))
            elif now - max(self._last_received, self._last_ping) >= self.limits.keepalive_interval:
                self._send_control(Ping(self._ping_counter))
                self._ping_counter += 1
                self._last_ping = now
        elif (
            self._state is State.CLOSING and now - self._close_started >= self.limits.close_timeout
        ):
            self._finish(Closed(self._close_code, self._close_reason, by_peer=False))

    def receive(self, frame: bytes, now: float) -> None:
        """Process one complete Noise message from the peer; never raises for the peer's input.

        ``now`` stamps the frame for the dead-peer timer.
        """
        if self.finished:
            return  # frames in flight after the end are dropped unread
        self._now = max(self._now, now)
        try:
            if len(frame) > self.limits.max_frame_size:
                raise FrameError(
                    f"frame of {len(frame)} bytes exceeds the limit {self.limits.max_frame_size}"
                )
            if self._state is State.HANDSHAKE:
                self._read_handshake_message(bytes(frame))
            else:
                self._read_transport_message(bytes(frame))
        except ProtocolError as error:
            self._fail(error)

    # -- handshake ---------------------------------------------------------------------------

    def _start_handshake(self, pattern: str, remote_static: bytes | None) -> None:
        self._pattern = pattern
        name = PROTOCOL_NAMES[pattern]
        self._handshake = Handshake(
            name,
            self.role is Role.INITIATOR,
            prologue(name),
            s=self._identity.static_private,
            rs=remote_static,
            psks=() if self._psk is None else (self._psk,),
        )

    def _use_prepared(self, handshake: Handshake) -> None:
        """Run a handshake built by a pairing method (it holds its psk and keys already)."""
        names = {name: pattern for pattern, name in PROTOCOL_NAMES.items()}
        pattern = names.get(handshake.protocol_name)
        if pattern is None or "psk" not in pattern:
            raise HandshakeError(f"{handshake.protocol_name} is not a pairing handshake")
        if handshake.initiator != (self.role is Role.INITIATOR) or handshake.complete:
            raise HandshakeError("the prepared handshake is not a fresh one for this side")
        self._pattern, self._handshake = pattern, handshake

    @property
    def _xx_family(self) -> bool:
        """XX and XXpsk3: message 1 carries no identity (anyone can read it), so no payload."""
        return self._pattern is not None and self._pattern.startswith("XX")

    def _write_handshake_message(self) -> None:
        handshake = self._handshake
        assert handshake is not None
        first_xx = self._xx_family and self.role is Role.INITIATOR and not self._sent_first
        payload = b"" if first_xx else self._payload
        self._sent_first = True
        self._queue(handshake.write_message(payload))

    def _read_handshake_message(self, frame: bytes) -> None:
        first_contact = len(frame) == XX_FIRST_MESSAGE_LEN
        if self._prelude is not None:  # the responder's cleartext answer to our prelude
            prelude, self._prelude = self._prelude, None
            self._use_prepared(prelude.answer(frame))
            self._write_handshake_message()
            return
        if self._handshake is None and self._admission is not None:
            if first_contact and not self._admission.first_contact:
                raise HandshakeError("first contact (XX) is not open; only partners get in")
            if not first_contact:
                if not self._admit_partner(frame, self._admission):
                    self._admit_pairing(frame, self._admission)
                return
        if self._handshake is None:  # a responder that accepts either pattern
            self._start_handshake("XX" if first_contact else "IK", None)
        handshake = self._handshake
        if handshake is None:  # unreachable in the HANDSHAKE state; never crash
            raise SessionStateError("no handshake in progress")
        if handshake.my_turn:
            raise HandshakeError("a handshake message arrived out of turn")
        self._continue_handshake(handshake, handshake.read_message(frame))

    def _admit_pairing(self, frame: bytes, admission: PartnerAdmission) -> None:
        """A first frame that is no partner's: a pairing the owner offered, or a failure."""
        start = None if admission.pairing is None else admission.pairing(frame)
        if start is None:
            raise HandshakeError("message 1 is not from a partner (no accepted psk fits)")
        self._use_prepared(start.handshake)
        if start.reply is not None:
            self._queue(start.reply)  # the prelude's answer; message 1 comes next
            return
        self._continue_handshake(start.handshake, start.handshake.read_message(frame))

    def _admit_partner(self, frame: bytes, admission: PartnerAdmission) -> bool:
        """Message 1 of IKpsk1 under each candidate psk in turn; the first that decrypts wins.

        Every failed try leaves nothing behind (a fresh ``Handshake`` each), and none of them
        sends anything: a stranger without a psk learns nothing, not even which check failed.
        False if no psk fits (the frame may still start a pairing the owner offered).
        """
        name = PROTOCOL_NAMES["IKpsk1"]
        static = KeyPair.from_private(self._identity.static_private)  # once, not per try
        for psk in admission.psks:
            handshake = Handshake(name, False, prologue(name), s=static, psks=(psk,))
            try:
                payload = handshake.read_message(frame)
            except ProtocolError:
                continue
            break
        else:
            return False
        if admission.fresh is not None and not admission.fresh(frame[:DHLEN]):
            raise HandshakeError("a replayed message 1 (its ephemeral key was seen before)")
        self._pattern, self._handshake = "IKpsk1", handshake
        self._continue_handshake(handshake, payload)
        return True

    def _continue_handshake(self, handshake: Handshake, payload: bytes) -> None:
        first_xx = self._xx_family and self.role is Role.RESPONDER and not self._sent_first
        if first_xx:
            if payload:
                raise HandshakeError("XX message 1 travels in the clear and must carry no payload")
        else:
            self._accept_peer_payload(payload, handshake)
        if not handshake.complete:
            self._write_handshake_message()
        if handshake.complete:
            self._establish(handshake)

    def _accept_peer_payload(self, payload: bytes, handshake: Handshake) -> None:
        proof = decode_as(payload, HandshakePayload)
        if proof.version != PROTOCOL_VERSION:
            raise HandshakeError(
                f"the peer speaks edge_dan protocol version {proof.version}, "
                f"this side {PROTOCOL_VERSION}"
            )
        static = handshake.remote_static
        if static is None:  # unreachable: every payload follows the peer's static key; never crash
            raise HandshakeError("a handshake payload arrived before the peer's static key")
        try:
            verify_static_key(proof.identity_key, static, proof.signature)
        except IdentityError as exc:
            raise PeerAuthenticationError(
                "the peer's identity key did not sign the Noise static key it uses "
                "(a forged or borrowed identity)"
            ) from exc
        if self._expected_identity is not None and proof.identity_key != self._expected_identity:
            raise PeerAuthenticationError("the peer proved an identity other than the expected one")
        self._peer_proof = proof

    def _establish(self, handshake: Handshake) -> None:
        proof = self._peer_proof
        static = handshake.remote_static
        if proof is None or static is None:  # unreachable: the peer's payload came first
            raise HandshakeError("the handshake completed without the peer's proof of identity")
        self._send_cipher, self._recv_cipher = handshake.split()
        self._peer = HandshakeComplete(
            proof.identity_key, static, proof.capabilities, handshake.handshake_hash
        )
        self._handshake = None
        self._state = State.ESTABLISHED
        self._last_received = self._last_ping = self._now
        self._events.append(self._peer)

    # -- transport phase -------------------------------------------------------------------

    def _read_transport_message(self, frame: bytes) -> None:
        if self._recv_cipher is None:  # unreachable (ESTABLISHED or CLOSING); never crash
            raise SessionStateError("no receive cipher in this state")
        plaintext = self._recv_cipher.decrypt(frame)
        self._last_received = self._now
        message = decode(plaintext, max_size=self.limits.max_message_size)
        if isinstance(message, Ping):
            if self._state is State.ESTABLISHED:
                self._send_control(Pong(message.counter))
        elif isinstance(message, Pong):
            pass  # any frame proves the peer alive; the counter is informational
        elif isinstance(message, Close):
            if self._state is State.ESTABLISHED:
                self._send_control(Close(message.code, message.reason))  # the answer
                self._finish(Closed(message.code, message.reason, by_peer=True))
            else:  # the peer's answer to our Close (or a simultaneous close)
                self._finish(Closed(self._close_code, self._close_reason, by_peer=False))
        elif isinstance(message, HandshakePayload):
            raise MessageError("a HandshakePayload arrived after the handshake")
        else:
            self._events.append(MessageReceived(message))

    def _send_control(self, message: Message) -> None:
        self._send_encrypted(encode(message))

    def _send_encrypted(self, plaintext: bytes) -> None:
        assert self._send_cipher is not None
        self._queue(self._send_cipher.encrypt(plaintext))

    def _queue(self, frame: bytes) -> None:
        self._outgoing.append(frame)
        self._pending_bytes += len(frame)

    def _finish(self, event: Closed) -> None:
        self._state = State.CLOSED
        self._drop_keys()
        self._events.append(event)

    def _fail(self, error: ProtocolError) -> None:
        self._state = State.FAILED
        self._outgoing.clear()
        self._pending_bytes = 0
        self._drop_keys()
        self._events.append(ProtocolFailure(error))

    def _drop_keys(self) -> None:
        self._handshake = None
        self._send_cipher = self._recv_cipher = None


def _check_pattern(
    role: Role,
    pattern: str | None,
    psk: bytes | None,
    remote_static: bytes | None,
    *,
    admission: PartnerAdmission | None,
    prepared: bool,
) -> None:
    """The constructor's arguments agree with each other (see ``Session``)."""
    if pattern not in (*PROTOCOL_NAMES, None):
        raise ValueError(f"pattern must be one of {sorted(PROTOCOL_NAMES)} or None")
    if pattern is None and role is Role.INITIATOR and not prepared:
        raise ValueError("an initiator must choose its pattern ('XX' or 'IK')")
    if (psk is not None) != (pattern is not None and "psk" in pattern):
        raise ValueError("psk is required for the psk patterns and only there")
    if psk is not None and len(psk) != PSK_LEN:
        raise ValueError(f"a psk is {PSK_LEN} bytes")
    wants_rs = pattern is not None and pattern.startswith("IK") and role is Role.INITIATOR
    if wants_rs != (remote_static is not None):
        raise ValueError("remote_static is required for an IK initiator and only there")
    if remote_static is not None and len(remote_static) != DHLEN:
        raise ValueError(f"remote_static must be a {DHLEN}-byte X25519 public key")
    if admission is not None and (role is Role.INITIATOR or pattern is not None):
        raise ValueError("admission is for a responder with pattern=None")


def _check_prepared(
    role: Role,
    pattern: str | None,
    psk: bytes | None,
    remote_static: bytes | None,
    *,
    handshake: Handshake | None,
    prelude: Prelude | None,
) -> None:
    """A prepared handshake or a prelude replaces the pattern, psk and remote key."""
    if role is not Role.INITIATOR or pattern not in ("XX", None) or psk or remote_static:
        raise ValueError("a prepared handshake or prelude is for an initiator alone")
    if handshake is not None and prelude is not None:
        raise ValueError("give a prepared handshake or a prelude, not both")
    if handshake is not None and not handshake.initiator:
        raise ValueError("a prepared initiator handshake must be the initiator's")


def _clip(reason: str) -> str:
    """Cut a close reason to the wire limit without splitting a UTF-8 character."""
    data = reason.encode("utf-8")[:MAX_REASON_LEN]
    return data.decode("utf-8", errors="ignore")
