"""File formats of negotiation domains and profiles, loaded strictly (files come from anywhere).

- :mod:`.genius` — GENIUS XML domains and utility profiles;
- :mod:`.geniusweb` — GeniusWeb JSON domains and linear additive profiles;
- :mod:`.errors` — :class:`~.errors.GeniusFormatError`, naming the file at fault.

Imports only :mod:`edge_dan.negotiation.domain`.
"""
