"""A terminal bar chart of a value profile. Pure: it returns text and never prints."""

from __future__ import annotations

from edge_dan.errors import UsageError
from edge_dan.values.profile import ValueProfile
from edge_dan.values.schwartz import ORIGINAL_VALUES

MIN_WIDTH, MAX_WIDTH = 4, 200

# Index = eighths of a cell filled; gives the bar 8x the resolution of whole cells.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"

_RESET, _DIM = "\x1b[0m", "\x1b[2m"
_ABOVE, _BELOW, _AT = "\x1b[32m", "\x1b[33m", "\x1b[36m"  # green, yellow, cyan


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def _filled(weight: float, width: int, ascii: bool) -> str:
    if ascii:
        return "#" * round(weight * width)
    whole, eighths = divmod(round(weight * width * 8), 8)
    return _FULL * whole + (_EIGHTHS[eighths] if eighths else "")


def profile_chart(
    profile: ValueProfile,
    *,
    width: int = 30,
    color: bool = False,
    ascii: bool = False,
    legend: bool = True,
) -> str:
    """One line per value: name, a bar as long as the weight, the weight to two decimals.

    ``width`` is the bar's length in cells at weight 1. A mark sits at 0.5 (what the owner holds
    on average) wherever the bar has not reached it; ``legend`` adds a scale line under the bars.
    ``ascii`` draws with ``#``, ``|`` and ``:`` only; ``color`` adds ANSI colours (green above
    the owner's average, yellow below). Every line has the same visible width.
    """
    if isinstance(width, bool) or not isinstance(width, int):
        raise UsageError(f"chart width must be a whole number, got {width!r}")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise UsageError(f"chart width must be between {MIN_WIDTH} and {MAX_WIDTH}, got {width}")
    edge, mark, arrow = ("|", ":", "^") if ascii else ("│", "┊", "↑")
    # The cell holding 0.5: it starts at 0.5 for even widths and straddles it for odd ones.
    mid = width // 2
    name_width = max(map(len, ORIGINAL_VALUES))

    lines = []
    for name, weight in profile.weights.items():
        bar = _filled(weight, width, ascii)
        rest = [" "] * (width - len(bar))
        if mid >= len(bar):
            rest[mid - len(bar)] = _paint(mark, _DIM, color)
        hue = _ABOVE if weight > 0.5 else _BELOW if weight < 0.5 else _AT
        track = _paint(bar, hue, color) + "".join(rest)
        lines.append(f"{name:<{name_width}} {edge}{track}{edge} {weight:.2f}")
    if legend:
        scale = [" "] * (width + 2)
        scale[0], scale[-1], scale[mid + 1] = "0", "1", arrow
        label = " your average"
        if mid + 2 + len(label) <= width:  # leave a gap before the "1"
            scale[mid + 2 : mid + 2 + len(label)] = label
        # Pad to the bar lines' width so the block stays a clean rectangle.
        text = " " * (name_width + 1) + "".join(scale) + " " * 5
        lines.append(_paint(text, _DIM, color))
    return "\n".join(lines)
