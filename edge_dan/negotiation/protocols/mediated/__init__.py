"""Mediated concession: a sans-IO protocol for 2 to 16 parties with signed accords.

One of two protocols under one message set (the ``Invite`` names it); the other is
alternating offers (:mod:`edge_dan.negotiation.protocols.ao`), the common baseline.

One party, the *mediator* (whoever starts the negotiation), runs the rounds; it is also a party
with its own profile. No message carries a utility, a weight or a profile (see
:mod:`edge_dan.wire.messages.negotiation`); outcomes travel as indices into the shared space.

Flow::

    mediator -> all   Invite(id, parties, space and norms digests, limits, opening_levels):
                      the frame of the negotiation, and round 1 is open
    each     -> med.  Bids(1, first_level=0, levels): outcomes acceptable at its first levels
                      (or Withdraw(DECLINED): a party that declines reveals nothing)
    repeat, round r = 2, 3, ...:
      mediator -> all   OpenRound(r, k): reveal your next k levels
      each     -> med.  Bids(r, first_level, levels): outcomes newly acceptable, by level
    once some outcome is listed by every party (the mediator included), one more round looks
    ``lookahead`` levels deeper (the Nash point can lie deeper in someone's levels); then the
    mediator picks the common outcome with the largest product of estimated gains (each party's
    gain estimated from the level and rank it listed the outcome at), and (its owner willing)
    mediator -> all   Propose(r, outcome, time)
    each     -> med.  Answer(r, yes + accord signature | no)
    mediator -> all   Concluded(all signatures, the mediator's included)
    after a no, the outcome is struck and the rounds go on. The mediator signs last: a proposal
    carries no signature, so a party that said no holds nothing it could complete alone.

Every party reveals the same number of levels each round, so all concede at the same pace. How many
(:class:`~.pace.PaceSchedule`): a larger opening, a steady pace that spreads the levels over
``min(max_rounds, pace_rounds)`` rounds, and one look-ahead round. The invitation states the most
any round may ask (``levels_per_round``); a participant refuses a round that asks for more. Messages
for ``n`` parties and ``R`` rounds: ``(n - 1) * (2R + 3)``. Deadlines: ``max_rounds`` and an
absolute ``deadline`` (wall-clock seconds, ``deadline_ms`` on the wire); time is passed in (``now``,
see :mod:`~edge_dan.negotiation.protocols.core`), never read. Any party can walk away at any time
(:meth:`~.core.Party.withdraw`): a participant's ``Withdraw`` makes the mediator end the negotiation
for everyone.

Errors: a message of a kind the protocol does not use there, or one that names another negotiation,
comes out of turn, repeats, lists an outcome outside the space or listed before, skips or exceeds
levels, carries a bad signature, or arrives after the deadline ends the negotiation for the receiver
(it sends ``Withdraw(PROTOCOL_ERROR)``; the mediator sends it to everyone) and emits
:class:`Failed`. Messages from keys that are not parties are dropped with an :class:`Ignored` event
(a stranger must not be able to end someone else's negotiation); anything after the end is ignored
too.

What each message reveals:

- ``Invite``: who takes part, which outcome space and norms (digests), the limits and pace.
- ``OpenRound``: that no outcome has been agreed yet.
- ``Bids`` (participant to mediator only): the outcomes the sender accepts at each level it has
  reached, best first within each level. Level ``k`` of ``L`` means "between ``1 - (k+1)/L`` and
  ``1 - k/L`` of my possible gain over my floor", so this is a ranking of the listed outcomes
  plus a coarse band of normalised gain for each; never a utility, a weight, the floor itself,
  or anything about outcomes not listed (everything below the floor or across a red line stays
  hidden). The mediator's own levels are never sent. ``bench/negotiation.py`` measures the leak:
  on the GENIUS test domains a participant lists about 14 % (2 parties) to 53 % (8 parties) of the
  space, and from its listings the mediator orders about 62 % to 87 % of random outcome pairs
  right (guessing: 50 %).
- ``Propose``: the outcome the mediator picked (which everyone listed), and a timestamp.
- ``Answer``: yes or no to that outcome; ``Concluded``: the signatures.
- ``Withdraw``: that and why (a code) the sender left.

The mediator learns the most (every participant's levels down to agreement); participants learn
only the proposal. Choose as mediator the party you trust with that.

The two sides: :mod:`.mediator` and :mod:`.participant`, on the states, events and party base of
:mod:`edge_dan.negotiation.protocols.core`; the rounds' pace: :mod:`.pace`.
"""

from edge_dan.negotiation.protocols.mediated.mediator import Mediator
from edge_dan.negotiation.protocols.mediated.participant import Participant

__all__ = ["Mediator", "Participant"]
