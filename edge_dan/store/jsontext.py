"""JSON read from files someone else may have written: key files, backup headers, stored rows.

``json.loads`` recurses once per nesting level and raises ``RecursionError`` on a document nested
a few thousand levels deep (a 20 KB key file is enough). That is bad input, not a bug: here it is
a ``ValueError`` like any other malformed JSON, which the callers turn into their "damaged" error.
"""

from __future__ import annotations

import json
from typing import Any


def load_json(raw: str | bytes) -> Any:
    """The document in ``raw``; ``ValueError`` if it is not JSON or is nested too deeply."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:  # a ValueError already; say what it is about
        raise ValueError(f"not UTF-8 text ({exc.reason})") from None
