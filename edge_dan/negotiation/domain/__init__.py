"""The negotiation domain: what is negotiated and what each party wants, with no protocol.

- :mod:`.errors` — :class:`~.errors.NegotiationError`, the base of every negotiation error;
- :mod:`.outcomes` — issues and bounded outcome spaces;
- :mod:`.utility` — utility functions, reservation values, red lines and the owner's private
  :class:`~.utility.Profile`;
- :mod:`.analysis` — Pareto frontier, Nash bargaining point and the outcome metrics.

The bottom layer of :mod:`edge_dan.negotiation`: it imports no other part of it.
"""
