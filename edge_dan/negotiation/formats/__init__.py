"""File formats of negotiation domains and profiles, loaded strictly (files come from anywhere).

- :mod:`.genius` — GENIUS XML domains and utility profiles;
- :mod:`.geniusweb` — GeniusWeb JSON domains and linear additive profiles;
- :mod:`.errors` — :class:`~.errors.GeniusFormatError`, naming the file at fault;
- :mod:`.scenario` — :class:`~.scenario.GeniusScenario`, a loaded folder of either format;
- :mod:`.folders` — :func:`~.folders.load_folder`, which picks the format of a folder.

Imports only :mod:`edge_dan.negotiation.domain`.
"""
