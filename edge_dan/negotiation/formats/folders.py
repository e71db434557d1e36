"""Load a scenario folder in either format: GENIUS XML or GeniusWeb JSON."""

from __future__ import annotations

from pathlib import Path

from edge_dan.negotiation.domain.outcomes import DEFAULT_MAX_CARDINALITY
from edge_dan.negotiation.formats import genius, geniusweb
from edge_dan.negotiation.formats.errors import GeniusFormatError
from edge_dan.negotiation.formats.scenario import GeniusScenario


def is_scenario_folder(directory: Path) -> bool:
    """Whether ``directory`` holds scenario files itself (``*.xml`` or ``*.json``)."""
    return any(directory.glob("*.xml")) or any(directory.glob("*.json"))


def load_folder(
    directory: str | Path, *, max_cardinality: int = DEFAULT_MAX_CARDINALITY
) -> GeniusScenario:
    """A GENIUS folder (``*.xml``) or a GeniusWeb folder (``*.json``); both at once is refused."""
    directory = Path(directory)
    has_xml = any(directory.glob("*.xml"))
    has_json = any(directory.glob("*.json"))
    if has_xml and has_json:
        raise GeniusFormatError(directory, "holds both .xml and .json files: which format?")
    if has_json:
        return geniusweb.load_scenario(directory, max_cardinality=max_cardinality)
    return genius.load_scenario(directory, max_cardinality=max_cardinality)
