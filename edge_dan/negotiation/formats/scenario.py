"""A loaded scenario folder: one domain and the profiles negotiating over it (either format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge_dan.negotiation.domain.outcomes import OutcomeSpace
from edge_dan.negotiation.domain.utility import Profile


@dataclass(frozen=True)
class GeniusScenario:
    """A folder holding one domain file and its profiles (sorted by file name).

    Loaded from GENIUS XML (:func:`.genius.load_scenario`) or GeniusWeb JSON
    (:func:`.geniusweb.load_scenario`); :func:`.folders.load_folder` picks the format.
    """

    name: str
    space: OutcomeSpace
    domain_path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    profile_paths: dict[str, Path] = field(default_factory=dict)
