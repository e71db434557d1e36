"""Embed a fixed set of texts with one or more ONNX encoders and print the vectors as JSON.

``check.py`` runs this file natively and under ``qemu-x86_64-static -cpu MODEL`` with the same
interpreter, models and texts, then compares the numbers. Encoding goes through the run-time code
(``edge_dan.model.encoder.OnnxEncoder``: tokenization, truncation, length-sorted batches) with one
intra-op thread. With ``--head`` the vectors are also scored by ``edge_dan.model.head.ValueHead``
(``head.npz`` of a shipped tier), so score differences can be read next to vector differences.

It also reports the CPUID features this process sees (the same bits onnxruntime's MLAS reads to
pick its kernels): under qemu that is what TCG really emulates, not what the named model promises.

Usage: ``python embed_texts.py --model NAME=PATH.onnx [--model ...] --tokenizer tokenizer.json
[--head head.npz] [--batch-size 1] [--limit N] OUT.json``
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE.parent / "aarch64"))

from score_texts import TEXTS as EDGE_CASES  # noqa: E402  (tools/aarch64/score_texts.py)

# Short everyday options (the run-time use), then the aarch64 check's edge cases and long texts.
OPTIONS: tuple[str, ...] = (
    "Go hiking in the mountains this weekend.",
    "Stay home and watch a film.",
    "Donate part of my bonus to the food bank.",
    "Buy the cheaper car and save the rest.",
    "Ask my manager for a raise.",
    "Visit grandma on Sunday.",
    "Try the new Thai restaurant downtown.",
    "Follow the building rules and skip the extension.",
    "Volunteer at the animal shelter.",
    "Learn to play the guitar.",
    "Take the job offer abroad.",
    "Install solar panels on the roof.",
    "yes",
    "Lie to my friend so she is not hurt.",
)
TEXTS: tuple[str, ...] = OPTIONS + tuple(EDGE_CASES)

# --- CPUID, read directly (x86-64 only) -----------------------------------------------------------

# cpuid(leaf=edi, subleaf=esi) -> uint32[4] at rdx (eax, ebx, ecx, edx); rbx is callee-saved.
_CPUID_CODE = bytes.fromhex(
    "53" "89f8" "89f1" "4989d0" "0fa2" "418900" "41895804" "41894808" "4189500c" "5b" "c3"
)  # fmt: skip
# xgetbv(ecx=edi) -> edx:eax in rax.
_XGETBV_CODE = bytes.fromhex("89f9" "0f01d0" "48c1e220" "4809d0" "c3")  # fmt: skip

# (leaf, subleaf, register, bit) of the features MLAS dispatches on.
_FEATURES: dict[str, tuple[int, int, int, int]] = {
    "sse3": (1, 0, 2, 0),
    "ssse3": (1, 0, 2, 9),
    "fma": (1, 0, 2, 12),
    "sse4_1": (1, 0, 2, 19),
    "sse4_2": (1, 0, 2, 20),
    "osxsave": (1, 0, 2, 27),
    "avx": (1, 0, 2, 28),
    "f16c": (1, 0, 2, 29),
    "avx2": (7, 0, 1, 5),
    "avx512f": (7, 0, 1, 16),
    "avx512dq": (7, 0, 1, 17),
    "avx512bw": (7, 0, 1, 30),
    "avx512vl": (7, 0, 1, 31),
    "avx512_vnni": (7, 0, 2, 11),
    "avx_vnni": (7, 1, 0, 4),
    "amx_int8": (7, 0, 3, 25),
}


class _Code:
    """A small piece of machine code in an executable page, callable through ctypes."""

    def __init__(self, code: bytes, restype: Any, argtypes: list[Any]) -> None:
        self._page = mmap.mmap(
            -1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
        )
        self._page.write(code)
        # Keep the page and the view alive as long as this object: the function pointer does not.
        self._view = ctypes.c_char.from_buffer(self._page)
        self.call = ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.addressof(self._view))


def cpu_features() -> dict[str, Any]:
    """CPUID feature bits and the OS-enabled register state (XCR0), or why they are unknown."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return {"unknown": f"not x86-64 ({platform.machine()})"}
    try:
        cpuid = _Code(
            _CPUID_CODE, None, [ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)]
        )
        out = (ctypes.c_uint32 * 4)()
        cache: dict[tuple[int, int], tuple[int, ...]] = {}

        def regs(leaf: int, sub: int) -> tuple[int, ...]:
            if (leaf, sub) not in cache:
                cpuid.call(leaf, sub, out)
                cache[(leaf, sub)] = tuple(out)
            return cache[(leaf, sub)]

        max_leaf = regs(0, 0)[0]
        vendor = b"".join(
            r.to_bytes(4, "little") for r in (regs(0, 0)[1], regs(0, 0)[3], regs(0, 0)[2])
        )
        flags = {
            name: leaf <= max_leaf and bool(regs(leaf, sub)[reg] >> bit & 1)
            for name, (leaf, sub, reg, bit) in _FEATURES.items()
        }
        xcr0 = 0
        if flags["osxsave"]:
            xgetbv = _Code(_XGETBV_CODE, ctypes.c_uint64, [ctypes.c_uint32])
            xcr0 = int(xgetbv.call(0))
    except (OSError, ValueError) as exc:  # no executable mappings allowed, for example
        return {"unknown": f"cpuid probe failed: {exc}"}
    # What MLAS can use: AVX state needs XCR0 bits 1-2, AVX-512 state bits 5-7 as well.
    avx_os = flags["avx"] and flags["osxsave"] and xcr0 & 0x6 == 0x6
    avx512_os = avx_os and xcr0 & 0xE0 == 0xE0
    usable = [n for n in ("sse3", "ssse3", "sse4_1", "sse4_2") if flags[n]]
    usable += [n for n in ("avx", "fma", "f16c", "avx2", "avx_vnni") if flags[n] and avx_os]
    usable += [
        n
        for n in ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni")
        if flags[n] and avx512_os
    ]
    return {"vendor": vendor.decode("ascii", "replace"), "xcr0": hex(xcr0), "usable": usable}


# --- embedding -----------------------------------------------------------------------------------


def open_encoder(model: Path, tokenizer: Path, batch_size: int) -> Any:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from edge_dan.model.encoder import OnnxEncoder

    tok = Tokenizer.from_file(str(tokenizer))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    pad = tok.token_to_id("[PAD]")
    return OnnxEncoder(
        session,
        tok,
        dim=int(session.get_outputs()[0].shape[-1]),
        max_length=128,
        pad_id=0 if pad is None else int(pad),
        batch_size=batch_size,
        output=session.get_outputs()[0].name,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--head", type=Path, help="head.npz of a tier: also print scores")
    parser.add_argument("--judge", type=Path, help="judge.npz of a tier: also effects and harm")
    parser.add_argument("--texts", type=Path, help="one text per line instead of the fixed set")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--limit", type=int, default=len(TEXTS), help="first N texts only")
    args = parser.parse_args(argv)

    import numpy as np

    source = TEXTS if args.texts is None else tuple(args.texts.read_text("utf-8").splitlines())
    texts = list(source[: args.limit])
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu": cpu_features(),
        "n_texts": len(texts),
        "models": {},
    }
    head = None
    if args.head:
        from edge_dan.model.head import ValueHead

        with np.load(args.head, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        head = ValueHead(arrays, dim=int(arrays["w"].shape[0]), k=int(arrays["w"].shape[1]))
    judge = None
    if args.judge:
        from edge_dan.model.judge import JudgeHead

        judge = JudgeHead.from_bytes(args.judge.read_bytes(), dim=384, name=str(args.judge))
    for spec in args.model:
        name, _, path = spec.partition("=")
        start = time.perf_counter()
        encoder = open_encoder(Path(path), args.tokenizer, args.batch_size)
        vectors = encoder.embed(texts)
        entry: dict[str, Any] = {
            "vectors": vectors.astype(float).tolist(),
            "seconds": round(time.perf_counter() - start, 2),
        }
        if head is not None:
            entry["scores"] = head.probabilities(vectors).tolist()
            entry["thresholds"] = head.thresholds.tolist()
        if judge is not None:
            p = judge.effect_probabilities(vectors)
            entry["effects"] = (p[..., 2] - p[..., 0]).tolist()
            entry["harm"] = judge.harm_probability(vectors).tolist()
            entry["harm_threshold"] = judge.harm_threshold
        result["models"][name] = entry
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
