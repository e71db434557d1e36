"""How much disk edge_dan and what it pulls in take once installed: the figure a phone app pays.

Walks the dependency closure of the installed ``edge-dan`` distribution (its requirements
without extras, unless ``--extras`` names some, then theirs, recursively; environment markers
evaluated for this interpreter) and adds up the files each distribution's RECORD lists. Test
tools, pip and setuptools in the same venv are left out because an app does not ship them.

Usage: ``python tools/mobile/installed_size.py [SITE_PACKAGES] [--extras full] [--json]``
(SITE_PACKAGES only labels the output: the running interpreter's installed distributions are
measured, so run it with the venv's python).
"""

from __future__ import annotations

import argparse
import json
import re
from importlib import metadata
from pathlib import Path


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-")


def _wanted(requirement: str, extras: set[str]) -> bool:
    """Whether a requirement line applies here, with ``extras`` of its parent asked for."""
    if ";" not in requirement:
        return True
    from packaging.markers import Marker  # a measuring tool: packaging comes with pytest

    marker = Marker(requirement.split(";", 1)[1])
    return any(marker.evaluate({"extra": e}) for e in extras or {""})


def _size(dist: metadata.Distribution) -> int:
    paths = (Path(str(dist.locate_file(f))) for f in dist.files or [])
    return sum(path.stat().st_size for path in paths if path.is_file())


def closure(root: str, extras: set[str]) -> dict[str, int]:
    """Bytes on disk of each distribution ``root[extras]`` needs, itself included. A
    distribution met again with other extras (``edge-dan[full]`` asks for ``edge-dan[onnx]``)
    adds those extras' requirements, not its size again."""
    sizes: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    while todo:
        name, asked = todo.pop()
        dist = metadata.distribution(name)
        if name not in sizes:
            sizes[name] = _size(dist)
        for requirement in dist.requires or []:
            for extra in asked | {""}:
                if (name, extra) in seen or not _wanted(requirement, {extra}):
                    continue
                inner = re.search(r"\[([^\]]+)\]", requirement.split(";")[0])
                sub = {e.strip() for e in inner.group(1).split(",")} if inner else set()
                todo.append((_name(requirement), sub))
        seen.update((name, extra) for extra in asked | {""})
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="")
    parser.add_argument("--extras", default="", help="comma-separated extras of edge-dan")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    extras = {e for e in args.extras.split(",") if e}
    sizes = closure("edge-dan", extras)
    total = sum(sizes.values())
    if args.json:
        print(json.dumps({"site": args.site, "extras": sorted(extras), "bytes": sizes}))
        return
    label = f"edge-dan[{','.join(sorted(extras))}]" if extras else "edge-dan (core)"
    print(f"installed size of {label} {args.site}".rstrip())
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<24} {size / 1e6:8.1f} MB")
    print(f"  {'total':<24} {total / 1e6:8.1f} MB in {len(sizes)} distributions")


if __name__ == "__main__":
    main()
