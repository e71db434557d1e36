"""Measures the C library as the issue asks: no heap, no RAM of its own, code size, stack per call.

    python3 tools/measure.py [--json]

For Cortex-M0+ and Cortex-M4 (arm-none-eabi-gcc, -Os, one section per function) and the host
compiler, it reports: undefined symbols (``nm -u``; malloc/free/calloc/realloc must not appear),
``.data`` and ``.bss`` (must be 0), code size (text + rodata, target at most 3072 bytes on the
Cortex-M0+) and the largest ``-fstack-usage`` frame (at most 256 bytes). Exits 1 if a limit is
broken, so CI can run it as a test. Plain Python 3: no edge_dan imports.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "c" / "src" / name for name in ("edb_frame.c", "edb_cbor.c", "edb_msg.c")]
STRICT = [
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Werror",
    "-Os",
    "-ffunction-sections",
    "-fdata-sections",
    "-fstack-usage",
    f"-I{ROOT / 'c' / 'include'}",
]
TARGETS = {
    "cortex-m0plus": ("arm-none-eabi-", ["-mcpu=cortex-m0plus", "-mthumb"]),
    "cortex-m4": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb"]),
    "host": ("", []),
}
HEAP_SYMBOLS = {"malloc", "free", "calloc", "realloc", "_malloc_r", "_free_r"}
CODE_LIMIT_M0 = 3072
STACK_LIMIT = 256


def measure(prefix: str, flags: list[str], work: Path) -> dict[str, object]:
    objects = []
    for source in SOURCES:
        obj = work / (source.stem + ".o")
        subprocess.run(
            [f"{prefix}gcc", *STRICT, *flags, "-c", str(source), "-o", str(obj)],
            check=True,
            cwd=work,
        )
        objects.append(obj)
    sections: dict[str, int] = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    per_file: dict[str, int] = {}
    for obj in objects:
        out = subprocess.run(
            [f"{prefix}objdump", "-h", str(obj)], check=True, capture_output=True, text=True
        ).stdout
        file_code = 0
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 3 or not parts[0].isdigit():
                continue
            name, size = parts[1], int(parts[2], 16)
            for kind in sections:
                if name == f".{kind}" or name.startswith(f".{kind}."):
                    sections[kind] += size
                    if kind in ("text", "rodata"):
                        file_code += size
        per_file[obj.stem] = file_code
    undefined = sorted(
        {
            line.split()[-1]
            for obj in objects
            for line in subprocess.run(
                [f"{prefix}nm", "-u", str(obj)], check=True, capture_output=True, text=True
            ).stdout.splitlines()
            if line.strip()
        }
    )
    stacks: list[tuple[int, str]] = []
    for su in work.glob("*.su"):
        for line in su.read_text().splitlines():
            where, stack_bytes, _kind = line.rsplit("\t", 2)
            stacks.append((int(stack_bytes), where.split(":")[-1]))
    biggest = max(stacks)
    return {
        "code_bytes": sections["text"] + sections["rodata"],
        "code_by_file": per_file,
        "data_bytes": sections["data"],
        "bss_bytes": sections["bss"],
        "undefined": undefined,
        "heap_symbols": sorted(HEAP_SYMBOLS & set(undefined)),
        "max_stack_bytes": biggest[0],
        "max_stack_function": biggest[1],
    }


def main(argv: list[str]) -> int:
    results: dict[str, dict[str, object]] = {}
    for target, (prefix, flags) in TARGETS.items():
        if shutil.which(f"{prefix}gcc") is None:
            print(f"skip {target}: {prefix}gcc not installed")
            continue
        with tempfile.TemporaryDirectory() as work:
            results[target] = measure(prefix, flags, Path(work))
    problems = []
    for target, result in results.items():
        if result["heap_symbols"]:
            problems.append(f"{target}: uses the heap: {result['heap_symbols']}")
        if result["data_bytes"] or result["bss_bytes"]:
            problems.append(f"{target}: .data {result['data_bytes']} / .bss {result['bss_bytes']}")
        if int(str(result["max_stack_bytes"])) > STACK_LIMIT:
            problems.append(
                f"{target}: {result['max_stack_function']} uses "
                f"{result['max_stack_bytes']} bytes of stack"
            )
    m0 = results.get("cortex-m0plus")
    if m0 is not None and int(str(m0["code_bytes"])) > CODE_LIMIT_M0:
        problems.append(f"cortex-m0plus: {m0['code_bytes']} bytes of code, limit {CODE_LIMIT_M0}")
    if "--json" in argv:
        print(json.dumps(results, indent=1, sort_keys=True))
    else:
        for target, result in results.items():
            print(
                f"{target:14} code {result['code_bytes']:5} B {result['code_by_file']}  "
                f".data {result['data_bytes']}  .bss {result['bss_bytes']}  "
                f"max stack {result['max_stack_bytes']} B ({result['max_stack_function']})  "
                f"nm -u {result['undefined']}"
            )
    for problem in problems:
        print(f"LIMIT BROKEN: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
