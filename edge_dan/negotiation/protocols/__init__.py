"""The negotiation protocols: sans-IO, two of them under one message set.

- :mod:`.core` — what both share: states, events, the party base (invitation check, deadline,
  walking away, the commit point);
- :mod:`.mediated` — mediated concession for 2 to 16 parties (mediator, participant, pace);
- :mod:`.ao` — stacked alternating offers, the common baseline;
- :mod:`.agenda` — the outcome space to and from the ``Agenda`` message a negotiation starts with.

The messages: :mod:`edge_dan.wire.messages.negotiation` holds the ``Invite`` (which names the
protocol) and the ``Withdraw`` both use, ``Join`` and the mediated rounds' messages;
:mod:`edge_dan.wire.messages.negotiation_ao` holds ``Offer`` and ``Accept``.

Imports :mod:`edge_dan.negotiation.domain`, :mod:`~edge_dan.negotiation.accords` and
:mod:`~edge_dan.negotiation.strategy`; nothing else of the package imports it.
"""
