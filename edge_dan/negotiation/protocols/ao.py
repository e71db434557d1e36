"""Stacked alternating offers: a sans-IO protocol for 2 to 10 parties with signed accords.

The common baseline of automated negotiation (the stacked alternating offers protocol, SAOP),
on the message set of the mediated protocol (:mod:`.mediated`): the same ``Invite``, ``Join`` and
``Withdraw``, plus ``Offer`` and ``Accept`` (:mod:`edge_dan.wire.messages.negotiation_ao`). There
is no mediator: every move goes to every other party, and every party checks every move.

Flow (``n`` parties, the initiator first in the invitation's party order)::

    initiator -> all        Invite(protocol=ALTERNATING_OFFERS, parties, digests, limits)
    each      -> initiator  Join
    turn t = 0, 1, 2, ...: party t mod n moves, to all others:
      Offer(t, outcome, time)     a new standing offer (turn 0: the initiator opens)
      Accept(t, signature)        I accept the standing offer; the signature is on its accord
      Withdraw(code)              I leave (any party, at any time, also out of turn)

An offer is *agreed* once each other party has accepted it, in turn order, and then the offerer
too, on its next turn: the offerer signs last. So an offer carries no signature, and an offer
that someone counters leaves the offerer's signature nowhere (with signed offers, a party could
collect them and complete any of them alone, long after). Whoever holds everyone else's
signatures can always keep them (the fair-exchange problem no protocol solves without a trusted
third party): here that is the offerer, before its closing accept; an honest offerer never signs
outside the protocol. The closing ``Accept`` gives every party all ``n`` signatures, so each
builds and verifies the same :class:`~edge_dan.negotiation.accords.accord.Accord` (time: the
offerer's ``time_ms``).

Deadlines: ``max_rounds`` (a round is ``n`` turns, one per party; at least 2, since an agreement
takes ``n + 1`` turns) and an absolute ``deadline`` (wall-clock seconds, ``deadline_ms`` on the
wire); time is passed in (``now``, see :mod:`~edge_dan.negotiation.protocols.core`), never read. The
first party whose turn comes when no offer can be agreed within the turns left sends
``Withdraw(DEADLINE)``, and every party ends with ``DEADLINE``. Any party can walk away at any time
(:meth:`~.core.Party.withdraw`); its ``Withdraw`` ends the negotiation for all (an accord needs
every party).

Strategy: Little Dan's alternating-offers core (:class:`~.strategy.AlternatingOffers`, a Boulware
concession with an opponent model over everyone's offers) on relative time ``turn / last turn at
which an offer can still be agreed``, or the share of the time to ``deadline_ms`` gone, whichever
is later. Non-harm is checked again at the commit point: no party signs an outcome below its
floor or across a red line or norm (:meth:`~.strategy.LittleDan.acceptable`), whatever the
strategy said. Mode ``ask``: signing (an ``Accept``, including the offerer's closing one) is the
only commitment, so the owner is asked right before each signature (:class:`ApprovalNeeded`); a
no counters with a new offer and the strategy never offers or accepts that outcome again. Offers
themselves need no yes: they bind nobody.

Errors: a message of a kind the protocol does not use, or one that names another negotiation, comes
from the party whose turn it is not, repeats or replays a turn, names an outcome outside the space,
accepts when no offer stands, carries a signature that does not verify, or arrives after the
deadline ends the negotiation for the receiver: it emits :class:`Failed` and sends
``Withdraw(PROTOCOL_ERROR)`` (or ``DEADLINE``) to every other party. Messages from keys that are not
parties are dropped with an :class:`Ignored` event, as is anything after the end. Links to different
peers may reorder: a move that arrives before the move it answers (the sender's own next turn,
before this party's next turn) is held, at most one per sender, until its turn comes.

What each message reveals (to every other party; there is no mediator to hide anything from):

- ``Invite``: who takes part, which outcome space and norms (digests), the limits.
- ``Join``: that the sender takes part (to the initiator only).
- ``Offer``: one outcome the offerer accepts at its current aspiration. The sequence of a party's
  offers shows its concession order (best for itself first, roughly) and, through the opponent
  model, which outcomes it thinks the others like; never a utility, a weight, its floor, or
  anything below its aspiration at the time.
- ``Accept``: that the standing offer is acceptable to the sender now (at or above its current
  aspiration; in mode ``ask`` also that the owner said yes); countering instead says it is not,
  or not yet. The signature commits to that one outcome.
- ``Withdraw``: that and why (a code) the sender left.

Message count: ``2 (n - 1)`` to set up (``n - 1`` invitations and joins), then ``n - 1`` per turn.
An agreement on the opening offer takes ``n + 1`` turns: ``(n + 3)(n - 1)`` messages in all
(5 for two parties, 21 for four). A walk-away costs ``n - 1`` more. The tests' in-process runner
(``tests/negotiation/negotiation_runner.py``) counts them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge_dan.identity import Identity
from edge_dan.negotiation.accords.accord import Accord, AccordError
from edge_dan.negotiation.domain.errors import NegotiationError
from edge_dan.negotiation.protocols.core import (
    NO_NORMS,
    Agreed,
    ApprovalNeeded,
    Party,
    ProtocolViolation,
    State,
    to_ms,
)
from edge_dan.negotiation.strategy import AlternatingOffers, LittleDan, Mode
from edge_dan.wire.core import Incoming
from edge_dan.wire.messages.negotiation import (
    Invite,
    Join,
    NegotiationProtocol,
    Withdraw,
    WithdrawCode,
)
from edge_dan.wire.messages.negotiation_ao import Accept, Offer
from edge_dan.wire.messages.schema import Message

MAX_AO_PARTIES = 10
MIN_AO_ROUNDS = 2  # an agreement takes n + 1 turns: more than one round

Move = Offer | Accept


@dataclass
class _Standing:
    """The offer on the table and the signatures given on it so far."""

    offerer: bytes
    turn: int
    outcome: int
    accord: Accord  # unsigned at first; each Accept adds its signature


class AoParty(Party):
    """One party of a stacked alternating-offers negotiation (see module doc).

    Use :class:`AoInitiator` to start a negotiation and :class:`AoResponder` to answer one.
    """

    def __init__(
        self,
        identity: Identity,
        strategy: LittleDan,
        *,
        norms_digest: bytes = NO_NORMS,
        exponent: float = 5.0,
    ) -> None:
        super().__init__(identity, strategy, norms_digest)
        self.decisions = AlternatingOffers(strategy, exponent=exponent)
        self.turn = 0  # the next turn to be played
        self.initiator = b""
        self._start_ms = 0
        self._awaiting_joins: set[bytes] = set()
        self._standing: _Standing | None = None
        self._early: dict[bytes, Move] = {}  # a move that came before its turn, per sender
        self._pending: _Standing | None = None  # the offer the owner is asked to sign

    # -- turn arithmetic -----------------------------------------------------------------------

    @property
    def max_turns(self) -> int:
        """Turns in the round limit (``max_rounds`` times the number of parties)."""
        return self.max_rounds * len(self.parties)

    def _mover(self, turn: int) -> bytes:
        return self.parties[turn % len(self.parties)]

    def _next_own_turn(self) -> int:
        n = len(self.parties)
        position = self.parties.index(self.public_key)
        return self.turn + (position - self.turn) % n

    def _agreeable(self, offer_turn: int) -> bool:
        """Whether an offer made on ``offer_turn`` can still be agreed within the round limit."""
        return offer_turn + len(self.parties) < self.max_turns

    def _relative_time(self, now_ms: int) -> float:
        # Concede fully by the last turn at which a new offer can still be agreed.
        last_offer_turn = max(1, self.max_turns - len(self.parties) - 1)
        by_turns = self.turn / last_offer_turn
        by_clock = 0.0
        if self.deadline_ms > self._start_ms:
            by_clock = (now_ms - self._start_ms) / (self.deadline_ms - self._start_ms)
        return min(1.0, max(by_turns, by_clock))

    def _turn_played(self) -> None:
        self.turn += 1
        self.round = -(-self.turn // len(self.parties))  # rounds begun so far

    def _notify_on_end(self) -> Sequence[bytes]:
        return self._others() if self.state is not State.IDLE else ()

    # -- incoming ------------------------------------------------------------------------------

    def _dispatch(self, sender: bytes, message: Message, now_ms: int) -> None:
        self._check_id(message)
        if isinstance(message, Withdraw):
            # The sender told every party itself: nothing to relay. A round limit or an empty
            # space ends it for everyone alike; any other reason is that party's own.
            passed_on = (WithdrawCode.DEADLINE, WithdrawCode.NO_AGREEMENT)
            code = next((c for c in passed_on if c == message.code), WithdrawCode.PEER_WITHDREW)
            self._fail(code, f"a party left (code {message.code})", ())
        elif isinstance(message, Join):
            self._on_join(sender, now_ms)
        elif isinstance(message, Offer | Accept):
            self._on_move(sender, message, now_ms)
        else:
            raise ProtocolViolation(f"alternating offers do not use {type(message).__name__}")

    def _on_join(self, sender: bytes, now_ms: int) -> None:
        if sender not in self._awaiting_joins:
            raise ProtocolViolation("a Join that was not expected (repeated, or not to the host)")
        self._awaiting_joins.discard(sender)
        if not self._awaiting_joins:
            self._advance(now_ms)  # turn 0 is the initiator's

    def _on_move(self, sender: bytes, move: Move, now_ms: int) -> None:
        if self._awaiting_joins:
            raise ProtocolViolation("a move before every party joined")
        if move.turn >= self.max_turns:
            raise ProtocolViolation(f"turn {move.turn} is past the round limit")
        if self._mover(move.turn) != sender:
            raise ProtocolViolation(f"turn {move.turn} is not the sender's")
        if move.turn < self.turn:
            raise ProtocolViolation(f"turn {move.turn} was already played (at {self.turn})")
        if move.turn > self.turn:
            # Only a move that could legitimately be in flight: before this party's next turn,
            # which nobody can pass without hearing from it.
            if move.turn >= self._next_own_turn() or sender in self._early:
                raise ProtocolViolation(f"turn {move.turn} out of order (at {self.turn})")
            self._early[sender] = move
            return
        self._play(sender, move)
        self._advance(now_ms)

    def _play(self, sender: bytes, move: Move) -> None:
        """Apply another party's move for the current turn."""
        if isinstance(move, Offer):
            if move.outcome >= self.space.cardinality:
                raise ProtocolViolation(f"outcome {move.outcome} is outside the outcome space")
            accord = self._proposal_accord(move.outcome, move.time_ms)
            self._standing = _Standing(sender, move.turn, move.outcome, accord)
            self.decisions.observe(self.space.outcome_at(move.outcome))
        else:
            standing = self._standing
            if standing is None:
                raise ProtocolViolation("an Accept with no offer standing")
            try:
                standing.accord = standing.accord.with_signature(sender, move.signature)
            except AccordError as error:
                raise ProtocolViolation(f"the acceptance's signature: {error}") from None
        self._turn_played()

    def _advance(self, now_ms: int) -> None:
        """After a turn: conclude, end at the round limit, move, or play a held move."""
        while not self.state.terminal:
            if self._standing is not None and self._standing.accord.complete:
                self._conclude(self._standing.accord)
                return
            if self.turn >= self.max_turns:
                # Everyone counts the same turns: no message needed.
                self._fail(WithdrawCode.DEADLINE, "no agreement within the rounds", ())
                return
            mover = self._mover(self.turn)
            if mover == self.public_key:
                self._move(now_ms)
                if self.state is State.DECIDING:
                    return
                continue
            held = self._early.pop(mover, None)
            if held is None:
                return
            self._play(mover, held)

    def _conclude(self, accord: Accord) -> None:
        try:
            accord.verify()
        except AccordError as error:  # every signature was checked on arrival
            raise ProtocolViolation(f"the accord does not verify: {error}") from None
        self.accord = accord
        self.state = State.AGREED
        self._events.append(Agreed(accord))

    # -- this party's move ---------------------------------------------------------------------

    def _move(self, now_ms: int) -> None:
        standing = self._standing
        if standing is not None and self._agreeable(standing.turn):
            own = standing.offerer == self.public_key  # then every other party accepted it
            outcome = self.space.outcome_at(standing.outcome)
            wanted = own or self.decisions.respond(outcome, self._relative_time(now_ms))
            if wanted and self.strategy.acceptable(outcome):
                if self.strategy.mode is Mode.ASK:
                    self._pending = standing
                    self.state = State.DECIDING
                    self._events.append(ApprovalNeeded(outcome, self.strategy.profile(outcome)))
                    return
                if self._accept(standing):
                    return
        self._counter(now_ms)

    def _accept(self, standing: _Standing) -> bool:
        """Sign and send an Accept (False if the commit-point check refuses)."""
        time_ms = standing.accord.time_ms
        signature = self._sign_or_refuse(standing.outcome, time_ms)
        if signature is None:
            return False
        self._send_to_others(Accept(self.negotiation_id, self.turn, signature))
        standing.accord = standing.accord.with_signature(self.public_key, signature)
        self._turn_played()
        return True

    def _counter(self, now_ms: int) -> None:
        """A new offer, or leave if none can help."""
        if not self._agreeable(self.turn):
            self._fail(
                WithdrawCode.DEADLINE,
                "no offer can be agreed within the rounds left",
                self._others(),
            )
            return
        outcome = self.decisions.propose(self._relative_time(now_ms))
        if outcome is None:
            self._fail(WithdrawCode.NO_AGREEMENT, "no outcome is acceptable", self._others())
            return
        index = self.space.index(outcome)
        self._send_to_others(Offer(self.negotiation_id, self.turn, index, now_ms))
        accord = self._proposal_accord(index, now_ms)
        self._standing = _Standing(self.public_key, self.turn, index, accord)
        self._turn_played()

    def decide(self, approve: bool, now: float) -> None:
        """The owner's yes or no to signing the outcome of the pending :class:`ApprovalNeeded`."""
        if self.state is not State.DECIDING or self._pending is None:
            raise NegotiationError("no offer is waiting for the owner")
        now_ms = to_ms(now)
        if self._past_deadline(now_ms):
            self._fail(WithdrawCode.DEADLINE, "the deadline passed", self._others())
            return
        standing, self._pending = self._pending, None
        self.state = State.BIDDING
        if not (approve and self._accept(standing)):
            if not approve:
                self.decisions.forbid(self.space.outcome_at(standing.outcome))
            self._counter(now_ms)
        try:
            self._advance(now_ms)
        except ProtocolViolation as violation:  # defensive: nothing can be held here
            self._fail(WithdrawCode.PROTOCOL_ERROR, str(violation), self._others())


class AoInitiator(AoParty):
    """The party that invites the others and opens with the first offer."""

    def __init__(
        self,
        identity: Identity,
        strategy: LittleDan,
        others: Sequence[bytes],
        *,
        negotiation_id: bytes,
        max_rounds: int = 20,
        deadline: float | None = None,
        norms_digest: bytes = NO_NORMS,
        exponent: float = 5.0,
    ) -> None:
        super().__init__(identity, strategy, norms_digest=norms_digest, exponent=exponent)
        parties = (identity.public_key, *others)
        if not 2 <= len(parties) <= MAX_AO_PARTIES or len(set(parties)) != len(parties):
            raise NegotiationError(
                f"alternating offers need 2..{MAX_AO_PARTIES} distinct parties, got {len(parties)}"
            )
        if not MIN_AO_ROUNDS <= max_rounds < 2**16:
            raise NegotiationError(
                f"max_rounds must be {MIN_AO_ROUNDS}..65535 (an agreement takes more than "
                f"one round), got {max_rounds}"
            )
        self._take_terms(negotiation_id, parties, max_rounds, deadline)
        self.initiator = identity.public_key

    def start(self, now: float) -> None:
        """Send the invitations."""
        self._check_startable(now)
        self.state = State.BIDDING
        self._start_ms = to_ms(now)
        self._awaiting_joins = set(self._others())
        invite = Invite(
            self.negotiation_id,
            self.parties,
            self.space_digest,
            self.max_rounds,
            self.deadline_ms,
            1,  # levels: the mediated protocol's, unused here
            1,
            self.norms_digest,
            protocol=NegotiationProtocol.ALTERNATING_OFFERS,
            opening_levels=1,
        )
        self._send_to_others(invite)


class AoResponder(AoParty):
    """A party invited to an alternating-offers negotiation."""

    def receive(self, item: Incoming, now: float) -> None:
        """Handle a message a peer sent (the first must be an alternating-offers ``Invite``)."""
        if self.state is State.IDLE:
            self._accept_invite(item.sender, item.message, to_ms(now))
            return
        super().receive(item, now)

    def _accept_invite(self, sender: bytes, message: Message, now_ms: int) -> None:
        invite = self._open_invitation(sender, message, now_ms)
        if invite is None:
            return
        self.parties = invite.parties
        self.initiator = sender
        self.max_rounds = invite.max_rounds
        self.deadline_ms = self._local_deadline(invite.deadline_ms, now_ms)
        self._start_ms = now_ms
        self.state = State.BIDDING
        self._send(sender, Join(self.negotiation_id))

    def _invite_problem(self, invite: Invite) -> str:
        problems = (
            (
                invite.protocol != NegotiationProtocol.ALTERNATING_OFFERS,
                "the invitation is for another protocol",
            ),
            (
                len(invite.parties) > MAX_AO_PARTIES,
                f"alternating offers takes at most {MAX_AO_PARTIES} parties",
            ),
            (invite.max_rounds < MIN_AO_ROUNDS, f"max_rounds must be at least {MIN_AO_ROUNDS}"),
        )
        return next((problem for broken, problem in problems if broken), "")
