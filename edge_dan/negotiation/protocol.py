"""Mediated concession: a sans-IO protocol for 2 to 16 parties with signed accords.

One party, the *mediator* (whoever starts the negotiation), runs the rounds; it is also a party
with its own profile. No message carries a utility, a weight or a profile (see
:mod:`edge_dan.wire.messages.negotiation`); outcomes travel as indices into the shared space.

Flow::

    mediator -> all   Invite(id, parties, space digest, norms digest, limits)
    each     -> med.  Join
    repeat, round r = 1, 2, ...:
      mediator -> all   Bids(r) with no levels: "round r is open"
      each     -> med.  Bids(r, first_level, levels): outcomes newly acceptable, by level
      mediator: once some outcome is listed by every party (itself included), and after a few
      more levels (``lookahead_levels``: the Nash point can lie deeper in someone's levels), it
      picks the common outcome with the largest product of estimated gains (each party's gain
      estimated from the level and rank it listed the outcome at) and sends
      Propose(r, outcome, time); else it opens the next round
    each     -> med.  Answer(r, yes + accord signature | no)
    mediator -> all   Concluded(all signatures)   (or, after a no, the next round)

Every party reveals ``levels_per_round`` levels per round, so all concede at the same pace
(the mediator spreads the levels over ``min(max_rounds, pace_rounds)`` rounds).
Deadlines: ``max_rounds`` and an absolute ``deadline_ms``; time is passed in (``now_ms``), never
read. Any party can walk away at any time (:meth:`Party.withdraw`): a participant's ``Withdraw``
makes the mediator end the negotiation for everyone.

Errors: a message that does not decode, names another negotiation, comes out of turn, repeats,
lists an outcome outside the space or listed before, skips or exceeds levels, carries a bad
signature, or arrives after the deadline ends the negotiation for the receiver (it sends
``Withdraw(PROTOCOL_ERROR)``; the mediator sends it to everyone) and emits :class:`Failed`.
Messages from keys that are not parties are dropped with an :class:`Ignored` event (a stranger
must not be able to end someone else's negotiation); anything after the end is ignored too.

What each message reveals:

- ``Invite``: who takes part, which outcome space and norms (digests), the limits.
- ``Join``: that the sender takes part.
- ``Bids`` (participant to mediator only): the outcomes the sender accepts at each level it has
  reached, best first within each level. Level ``k`` of ``L`` means "between ``1 - (k+1)/L`` and
  ``1 - k/L`` of my possible gain over my floor", so this is a ranking of the listed outcomes
  plus a coarse band of normalised gain for each; never a utility, a weight, the floor itself,
  or anything about outcomes not listed (everything below the floor or across a red line stays
  hidden). The mediator's own levels are never sent. ``bench/negotiation.py`` measures the leak:
  on the shared domains a participant lists about 20 % (2 parties) to 60 % (8 parties) of the
  space, and from its listings the mediator orders about 67 % to 90 % of random outcome pairs
  right (guessing: 50 %).
- ``Propose``: the outcome the mediator picked (which everyone listed), and a timestamp.
- ``Answer``: yes or no to that outcome; ``Concluded``: the signatures.
- ``Withdraw``: that and why (a code) the sender left.

The mediator learns the most (every participant's levels down to agreement); participants learn
only the proposal. Choose as mediator the party you trust with that.
"""

from edge_dan.negotiation.protocol_core import (
    NO_NORMS,
    Agreed,
    ApprovalNeeded,
    Event,
    Failed,
    Ignored,
    Outgoing,
    Party,
    ProtocolViolation,
    State,
    new_negotiation_id,
)
from edge_dan.negotiation.protocol_mediator import Mediator
from edge_dan.negotiation.protocol_participant import Participant

__all__ = [
    "NO_NORMS",
    "Agreed",
    "ApprovalNeeded",
    "Event",
    "Failed",
    "Ignored",
    "Mediator",
    "Outgoing",
    "Participant",
    "Party",
    "ProtocolViolation",
    "State",
    "new_negotiation_id",
]
