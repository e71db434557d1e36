"""The value model: sentence encoder + value head, run with onnxruntime or numpy alone.

``ValueModel.load()`` opens the shipped artifacts of a tier (by default ``minilm-int8``) and scores
texts against the 20 Touché23-ValueEval value categories. Importing this package is cheap: the
optional accelerators (onnxruntime, tokenizers) are imported only when a model is loaded, and
only where installed: without them the same model runs on numpy and a pure-Python tokenizer.
"""

from edge_dan.model.errors import ModelError
from edge_dan.model.value_model import DEFAULT_TIER, TIERS, ValueModel, tier_directory

__all__ = ["DEFAULT_TIER", "TIERS", "ModelError", "ValueModel", "tier_directory"]
