"""Second pass: compare a reviewer's blind labels with the writer's, per field.

    python models/data/everyday/review.py texts raw/ws.jsonl > /tmp/ws-texts.txt  # ids, texts
    python models/data/everyday/review.py compare raw/ws.jsonl review/ws.jsonl    # agreement

A review file has one JSON object per line: {"id", "primary", "effects", "harm"} where harm is
null or a kind (the reviewer labels from the text alone, without seeing the writer's labels).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _read(path: str) -> dict[str, dict[str, object]]:
    rows = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]
    return {str(r["id"]): r for r in rows}


def kappa(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def compare(raw_path: str, review_path: str) -> dict[str, float]:
    raw, rev = _read(raw_path), _read(review_path)
    ids = [i for i in raw if i in rev]
    same_primary = same_harm = 0
    sign_both = sign_same = 0
    overlap = 0.0
    harm_a, harm_b = [], []
    for i in ids:
        a, b = raw[i], rev[i]
        ea, eb = a["effects"], b["effects"]
        assert isinstance(ea, dict) and isinstance(eb, dict)
        same_primary += a["primary"] == b["primary"]
        for v in set(ea) & set(eb):
            sign_both += 1
            sign_same += ea[v] == eb[v]
        union = set(ea) | set(eb)
        overlap += len(set(ea) & set(eb)) / len(union) if union else 1.0
        ha, hb = a["harm"] is not None, b["harm"] is not None
        harm_a.append(ha)
        harm_b.append(hb)
        same_harm += ha == hb
        if (
            a["primary"] != b["primary"]
            or ha != hb
            or any(ea[v] != eb[v] for v in set(ea) & set(eb))
        ):
            print(
                json.dumps(
                    {
                        "id": i,
                        "text": a["text"],
                        "writer": [a["primary"], ea, a["harm"]],
                        "reviewer": [b["primary"], eb, b["harm"]],
                    },
                    ensure_ascii=False,
                )
            )
    n = len(ids)
    out = {
        "items": n,
        "missing_in_review": len(raw) - n,
        "primary_agreement": same_primary / n,
        "sign_agreement_where_both_name_the_value": sign_same / max(sign_both, 1),
        "effects_jaccard": overlap / n,
        "harm_agreement": same_harm / n,
        "harm_kappa": kappa(harm_a, harm_b),
    }
    print(json.dumps(out), file=sys.stderr)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "texts":
        for i, r in _read(sys.argv[2]).items():
            print(f"{i}\t{r['text']}")
    else:
        compare(sys.argv[2], sys.argv[3])
