"""The value model: sentence encoder + value head, run with onnxruntime, tokenizers and numpy.

``ValueModel.load()`` opens the shipped artifacts of a tier (by default ``minilm-int8``) and scores
texts against the 20 Touché23-ValueEval value categories. Importing this package is cheap: the
heavy run-time libraries (onnxruntime, tokenizers) are imported only when a model is loaded.
"""

from edge_dan.model.errors import ModelError
from edge_dan.model.value_model import DEFAULT_TIER, TIERS, ValueModel, tier_directory

__all__ = ["DEFAULT_TIER", "TIERS", "ModelError", "ValueModel", "tier_directory"]
