"""The running agent's log: one line per event, plain text or JSON lines.

What goes in a line is chosen by the caller from a short list of harmless fields (event names,
partner names the owner chose, fingerprints, counts, seconds, accord ids, exit reasons); this
module adds only the time. Never a passphrase, a key, a pairing code, a profile value, an
option's text or its utility: the log may end up in a journal other people can read.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

Field = str | int | float | bool | None


class EventLog:
    """``log("partner-seen", name="Bob", via="lan")`` writes one line and flushes it."""

    def __init__(self, *, as_json: bool, stream: TextIO | None = None) -> None:
        self._json = as_json
        self._stream = stream

    def __call__(self, event: str, **fields: Field) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self._json:
            line = json.dumps({"time": stamp, "event": event, **fields}, ensure_ascii=False)
        else:
            words = " ".join(f"{key}={_text(value)}" for key, value in fields.items())
            line = f"{stamp} {event}" + (f" {words}" if words else "")
        stream = self._stream or sys.stdout
        print(line, file=stream, flush=True)


def _text(value: Field) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    # Quoted when a reader could not tell where it ends (a partner named "Bob Smith").
    return json.dumps(text, ensure_ascii=False) if not text or " " in text or '"' in text else text
