"""From the owner's values to a negotiation utility: text options judged by the value model.

An issue whose values are free text ("Visit grandma and cook for her") has no table an owner wrote
down; the value model scores each option on the 20 value categories and the owner's personal model
(profile prior refined by their feedback) turns that into a utility. Rescaled to [0, 1] over the
options on the table, it is the issue's evaluation in a linear additive utility.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge_dan.model import ValueModel
from edge_dan.store.feedback import personal_model
from edge_dan.store.store import Store
from edge_dan.values.personal import features


def text_evaluations(store: Store, model: ValueModel, options: Sequence[str]) -> dict[str, float]:
    """Each option's worth to this owner, 0 (least liked of these) to 1 (most liked)."""
    personal = personal_model(store)
    utility = np.asarray(personal.utility(features(model.scores(list(options)))), dtype=float)
    low, high = float(utility.min()), float(utility.max())
    if high - low < 1e-9:  # no difference the model can see: every option is as good
        return dict.fromkeys(options, 1.0)
    return {
        option: float((u - low) / (high - low)) for option, u in zip(options, utility, strict=True)
    }
