"""The demo's people and what they decide.

Eight built-in owners whose values differ in ways a reader sees at once (a carer, an adventurer,
a traditionalist...); the demo takes the first N. Each has tastes for the budget and the start
time, and some a red line. Two decisions: an everyday one among free-text options judged by each
owner's values (one option would harm someone, and every Little Dan refuses it), then a
multi-issue one (activity, budget, start time) under the owners' red lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_dan.negotiation.domain.outcomes import DiscreteIssue, OutcomeSpace, TextIssue, Value

EVENING_OPTIONS = (
    "Cook dinner together for a neighbour who just had surgery",
    "Go to a salsa night at the new club",
    "Attend the village harvest festival mass",
    "Enter the city chess tournament to win the cup",
    "Join the beach clean-up by the river",
    "Slash the tyres of the neighbour who parks badly",  # harmful: refused by every Little Dan
)
EVENING = OutcomeSpace([TextIssue("plan", EVENING_OPTIONS)], name="Friday evening")
EVENING_TITLE = "What shall we do on Friday evening?"

ACTIVITIES = (
    "Visit grandma and cook lunch for her",
    "Try the new escape room downtown",
    "A quiet picnic and a long walk in the park",
    "Volunteer together at the community food bank",
    "Watch the football final at a crowded pub",
)
BUDGETS = ("0 EUR", "20 EUR", "50 EUR")
STARTS = ("10:00", "14:00", "18:00")
SATURDAY = OutcomeSpace(
    [
        TextIssue("activity", ACTIVITIES),
        DiscreteIssue("budget", BUDGETS),
        DiscreteIssue("start", STARTS),
    ],
    name="Saturday",
)
SATURDAY_TITLE = "Saturday: what, for how much, and when?"
# Each plan is worth 0 (the owner's least liked of those that harm nobody) to 1 (their favourite);
# below this, no plan together is better.
EVENING_RESERVATION = 0.15


@dataclass(frozen=True)
class RedLine:
    """Something an owner will not agree to, whatever else is on offer."""

    issue: str
    value: Value
    why: str


@dataclass(frozen=True)
class Character:
    """One built-in owner: who they are in a line, their values, their tastes."""

    name: str
    pronoun: str  # possessive: "her", "his", "their"
    about: str  # one plain line a reader recognises
    values: dict[str, float]  # the rest of the 10 values stay at 0.5 ("as important as average")
    weights: dict[str, float]  # how much each Saturday issue matters to them
    budget: dict[Value, float]  # higher is better
    start: dict[Value, float]
    red_line: RedLine | None = None
    reservation: float = 0.35  # the least share of utility worth agreeing to on Saturday


CAST: tuple[Character, ...] = (
    Character(
        "Ana",
        "her",
        "a carer: family and the people close to her come first",
        {
            "benevolence": 0.95,
            "universalism": 0.7,
            "tradition": 0.6,
            "stimulation": 0.2,
            "power": 0.1,
            "achievement": 0.3,
        },
        {"activity": 0.6, "budget": 0.2, "start": 0.2},
        {"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        {"10:00": 3, "14:00": 2, "18:00": 1},
        RedLine("budget", "50 EUR", "Ana will not spend 50 EUR on one Saturday"),
    ),
    Character(
        "Ben",
        "his",
        "an adventurer: new experiences, thrills and fun",
        {
            "stimulation": 0.95,
            "hedonism": 0.85,
            "self-direction": 0.8,
            "tradition": 0.15,
            "conformity": 0.2,
            "security": 0.3,
        },
        {"activity": 0.7, "budget": 0.1, "start": 0.2},
        {"0 EUR": 1, "20 EUR": 3, "50 EUR": 2},
        {"10:00": 1, "14:00": 3, "18:00": 2},
        RedLine("start", "10:00", "Ben works nights: nothing before noon"),
    ),
    Character(
        "Caro",
        "her",
        "a traditionalist: customs, faith and a settled routine",
        {
            "tradition": 0.95,
            "conformity": 0.85,
            "security": 0.8,
            "stimulation": 0.15,
            "hedonism": 0.3,
            "self-direction": 0.3,
        },
        {"activity": 0.5, "budget": 0.3, "start": 0.2},
        {"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        {"10:00": 2, "14:00": 3, "18:00": 1},
        RedLine("activity", ACTIVITIES[4], "Caro will not spend the day in a crowded pub"),
    ),
    Character(
        "Dev",
        "his",
        "an achiever: ambitious, competitive, out to win",
        {
            "achievement": 0.95,
            "power": 0.7,
            "self-direction": 0.6,
            "benevolence": 0.35,
            "tradition": 0.3,
        },
        {"activity": 0.5, "budget": 0.2, "start": 0.3},
        {"0 EUR": 1, "20 EUR": 2, "50 EUR": 3},
        {"10:00": 3, "14:00": 2, "18:00": 1},
    ),
    Character(
        "Emi",
        "her",
        "an idealist: fairness, nature and the wider world",
        {
            "universalism": 0.95,
            "benevolence": 0.75,
            "self-direction": 0.7,
            "power": 0.1,
            "achievement": 0.3,
        },
        {"activity": 0.7, "budget": 0.2, "start": 0.1},
        {"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        {"10:00": 2, "14:00": 2, "18:00": 2},
    ),
    Character(
        "Finn",
        "his",
        "a free spirit: independent, curious, does things his own way",
        {
            "self-direction": 0.95,
            "stimulation": 0.7,
            "conformity": 0.15,
            "tradition": 0.2,
            "security": 0.3,
        },
        {"activity": 0.6, "budget": 0.2, "start": 0.2},
        {"0 EUR": 2, "20 EUR": 3, "50 EUR": 1},
        {"10:00": 1, "14:00": 2, "18:00": 3},
    ),
    Character(
        "Gus",
        "his",
        "a cautious planner: safety, order and no surprises",
        {
            "security": 0.95,
            "conformity": 0.75,
            "tradition": 0.6,
            "stimulation": 0.1,
            "hedonism": 0.3,
        },
        {"activity": 0.5, "budget": 0.3, "start": 0.2},
        {"0 EUR": 3, "20 EUR": 2, "50 EUR": 1},
        {"10:00": 3, "14:00": 2, "18:00": 1},
        RedLine("start", "18:00", "Gus wants to be home before dark"),
    ),
    Character(
        "Hana",
        "her",
        "a bon vivant: good food, comfort and enjoying life",
        {
            "hedonism": 0.95,
            "stimulation": 0.6,
            "benevolence": 0.55,
            "conformity": 0.3,
            "achievement": 0.3,
        },
        {"activity": 0.6, "budget": 0.2, "start": 0.2},
        {"0 EUR": 1, "20 EUR": 3, "50 EUR": 2},
        {"10:00": 1, "14:00": 2, "18:00": 3},
    ),
)
MIN_AGENTS, MAX_AGENTS, DEFAULT_AGENTS = 2, len(CAST), 3
