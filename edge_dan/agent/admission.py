"""Who may complete a handshake with this agent, and so learn its static key and identity.

A partner holds this agent's advertising key (granted in a session after pairing), so it can
compute this epoch's psk (``edge_dan.discovery.tokens.session_psk``) and reach us through
``Noise_IKpsk1`` in one round trip. Anyone else's message 1 fails and gets no answer at all:
the rotating, unlinkable adverts stay unlinkable at the port they name. Only while the owner
has pairing open (time-limited) does a stranger's XX get through, as pairing needs it.

An IK message 1 can be recorded and replayed (Noise spec, section 7.7); the replay cannot finish
a session (the answer is encrypted to the real partner's keys), but the responder would still
take it as that partner for a moment. ``SeenEphemerals`` refuses the same message-1 ephemeral key
twice while its psk is still accepted, so a replay fails in the handshake.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from edge_dan.discovery.tokens import DEFAULT_SKEW, session_psks
from edge_dan.wire.session import PairingGate, PartnerAdmission

MAX_SEEN = 4096  # message-1 ephemeral keys remembered; the oldest go first beyond it


class SeenEphemerals:
    """The message-1 ephemeral keys of partners' handshakes while a replay could still pass.

    A psk is taken for ``2 * skew + 1`` epochs, so a recorded message 1 can be replayed for at
    most that long after it was first seen; one more period covers a clock that steps.
    Only handshakes whose psk fitted are recorded, so a stranger cannot fill it.
    """

    def __init__(
        self,
        period: float,
        clock: Callable[[], float],
        *,
        skew: int = DEFAULT_SKEW,
        max_seen: int = MAX_SEEN,
    ) -> None:
        self._keep = period * (2 * skew + 2)
        self._clock = clock
        self._max_seen = max_seen
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # key -> when it expires

    def __len__(self) -> int:
        return len(self._seen)

    def fresh(self, ephemeral: bytes) -> bool:
        """True the first time ``ephemeral`` is shown (it is then remembered), False after."""
        now = self._clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest]
        if ephemeral in self._seen:
            return False
        self._seen[ephemeral] = now + self._keep
        while len(self._seen) > self._max_seen:
            self._seen.popitem(last=False)
        return True


def admission(
    own_key: bytes,
    now: float,
    period: float,
    *,
    first_contact: bool,
    seen: SeenEphemerals,
    pairing: PairingGate | None = None,
) -> PartnerAdmission:
    """What a responder session takes at ``now`` (wall clock): partners holding ``own_key``
    (this epoch's psk or a neighbouring one's), strangers only if ``first_contact``, and the
    pairing the owner offered (a QR code shown, a code window open) through ``pairing``."""
    return PartnerAdmission(
        psks=session_psks(own_key, now, period),
        first_contact=first_contact,
        fresh=seen.fresh,
        pairing=pairing,
    )
