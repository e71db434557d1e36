"""``edge-dan demo``: a few Little Dans on this machine pair, decide and sign, with a report.

- ``cast``: the built-in owners (names, values, tastes, red lines) and the two decisions.
- ``trace``: what the mediating agent saw, round by round (``Agent.negotiate(observe=...)``).
- ``stage``: the agents themselves: homes, pairing, the two negotiations, the accords.
- ``story``: the run in plain words for the terminal, and as JSON.
- ``report_html``: the run as one self-contained HTML page with inline SVG charts.
"""
