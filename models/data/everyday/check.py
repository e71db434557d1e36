"""Check the everyday corpus files against GUIDELINES.md and print coverage counts.

    python models/data/everyday/check.py models/data/everyday/raw/*.jsonl

Exits non-zero on the first file with a malformed item (the message names file, line and field).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# The value and harm vocabularies are the run time's own (pure modules, no numpy needed).
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from edge_dan.values.judgement import HARM_KINDS, HARM_TARGETS
from edge_dan.values.schwartz import ORIGINAL_VALUES

VALUES = ORIGINAL_VALUES
DOMAINS = (
    "home",
    "family",
    "work",
    "money",
    "health",
    "leisure",
    "community",
    "environment",
    "tradition",
    "risk",
    "status",
    "rules",
)
TAGS = ("idiom", "good_motive", "subtle", "blatant")
FIELDS = {"id", "text", "domain", "effects", "primary", "harm", "tags", "pair"}


def check_item(item: object) -> str | None:  # noqa: PLR0911, PLR0912
    """The first problem with one item, or None."""
    if not isinstance(item, dict):
        return "not a JSON object"
    if set(item) != FIELDS:
        return f"fields {sorted(set(item) ^ FIELDS)} missing or unexpected"
    text = item["text"]
    if not isinstance(text, str) or not (2 <= len(text.split()) <= 30):
        return "text must be 2 to 30 words"
    if item["domain"] not in DOMAINS:
        return f"unknown domain {item['domain']!r}"
    effects = item["effects"]
    if not isinstance(effects, dict) or not 1 <= len(effects) <= 4:
        return "effects must name 1 to 4 values"
    for v, s in effects.items():
        if v not in VALUES:
            return f"unknown value {v!r}"
        if s not in (1, -1) or isinstance(s, bool):
            return f"effect of {v} must be 1 or -1"
    if item["primary"] not in effects:
        return "primary must be one of the effects"
    harm = item["harm"]
    tags = item["tags"]
    if not isinstance(tags, list) or any(t not in TAGS for t in tags):
        return f"tags must be a list of {TAGS}"
    if harm is not None:
        if not isinstance(harm, dict) or set(harm) != {"target", "kind"}:
            return "harm must be null or {target, kind}"
        if harm["target"] not in HARM_TARGETS or harm["kind"] not in HARM_KINDS:
            return f"harm target/kind unknown: {harm}"
        if "idiom" in tags:
            return "an idiom item is harmless by definition"
    elif {"good_motive", "subtle", "blatant"} & set(tags):
        return "good_motive/subtle/blatant are for harmful items"
    if item["pair"] is not None and not isinstance(item["pair"], str):
        return "pair must be null or a string id"
    return None


def load(paths: list[Path]) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not JSON: {exc}") from None
            problem = check_item(item)
            if problem:
                raise SystemExit(f"{path}:{n}: {problem}")
            items.append(item)
    return items


def report(items: list[dict[str, object]]) -> list[str]:
    """Coverage counts; returns the problems across items (duplicates, broken pairs)."""
    problems: list[str] = []
    ids = Counter(str(i["id"]) for i in items)
    problems += [f"id {k} used {c} times" for k, c in ids.items() if c > 1]
    texts = Counter(" ".join(str(i["text"]).lower().split()) for i in items)
    problems += [f"text {k!r} appears {c} times" for k, c in texts.items() if c > 1]
    pairs: dict[str, list[dict[str, object]]] = {}
    for i in items:
        if i["pair"] is not None:
            pairs.setdefault(str(i["pair"]), []).append(i)
    for pid, members in pairs.items():
        if len(members) != 2:
            problems.append(f"pair {pid} has {len(members)} items")
            continue
        a, b = (m["effects"] for m in members)
        assert isinstance(a, dict) and isinstance(b, dict)
        if not any(v in b and a[v] == -b[v] for v in a):
            problems.append(f"pair {pid}: no value takes opposite signs")
    promoted = Counter(v for i in items for v, s in i["effects"].items() if s == 1)  # type: ignore[attr-defined]
    violated = Counter(v for i in items for v, s in i["effects"].items() if s == -1)  # type: ignore[attr-defined]
    primary = Counter(str(i["primary"]) for i in items)
    harmful = [i for i in items if i["harm"] is not None]
    kinds = Counter(i["harm"]["kind"] for i in harmful)  # type: ignore[index]
    tags = Counter(t for i in items for t in i["tags"])  # type: ignore[attr-defined]
    domains = Counter(str(i["domain"]) for i in items)
    print(f"items {len(items)}, minimal pairs {len(pairs)}, harmful {len(harmful)}")
    print("value            primary  +1   -1")
    for v in VALUES:
        print(f"{v:16} {primary[v]:7} {promoted[v]:4} {violated[v]:4}")
    print("harm kinds:", dict(kinds))
    print("tags:", dict(tags))
    print("domains:", dict(domains))
    return problems


if __name__ == "__main__":
    found = report(load([Path(p) for p in sys.argv[1:]]))
    for p in found:
        print("PROBLEM:", p)
    sys.exit(1 if found else 0)
