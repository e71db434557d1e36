"""The value model with none of its native accelerators: numpy and the pure-Python tokenizer.

Phones and 32-bit boards have no onnxruntime wheel, and ``tokenizers`` would bring network
libraries into an offline SDK; without them ``ValueModel.load()`` must pick the numpy runtime and
the WordPiece tokenizer by itself and judge as the native runtime does. The child process makes
both packages unimportable (as on such a device) before edge_dan is imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from modelkit import REPO, need_runtime

from edge_dan.model import ValueModel
from edge_dan.model.blas_threads import BlasThreads
from edge_dan.model.numpy_runtime import NumpySession
from edge_dan.model.onnx_file import Graph, Node

# Clear cases for the harm decision (far from the threshold either way), and everyday ones.
TEXTS = [
    "Help my neighbour carry the shopping upstairs",
    "Punch the stranger who insulted me at the bar",
    "Steal money from my employer",
    "Kill some time at the bookshop before the train",
    "Call my mother tonight",
    "Go to a salsa night with friends and dance till late",
]

CHILD = """
import json, sys
for name in ("onnxruntime", "tokenizers"):
    sys.modules[name] = None  # any import of it now fails, as where it has no wheel
from edge_dan.model import ValueModel
texts = json.loads(sys.argv[1])
out = {}
for tier in ("minilm-int8", "static-tiny"):
    model = ValueModel.load(tier=tier)
    judged = model.judge(texts) if model.judges else []
    out[tier] = {
        "runtime": model.runtime,
        "tokenizer": model.tokenizer,
        "scores": model.scores(texts).tolist(),
        "harmful": [j.harmful for j in judged],
    }
out["imported"] = sorted(
    k for k in ("onnxruntime", "tokenizers", "torch") if sys.modules.get(k) is not None
)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_natives() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(TEXTS)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_model_picks_numpy_and_wordpiece_by_itself(without_natives: dict[str, object]) -> None:
    assert without_natives["imported"] == []
    main = without_natives["minilm-int8"]
    tiny = without_natives["static-tiny"]
    assert isinstance(main, dict) and isinstance(tiny, dict)
    assert (main["runtime"], main["tokenizer"]) == ("numpy", "wordpiece")
    assert tiny["tokenizer"] == "wordpiece"


def test_it_judges_as_the_native_runtime_does(without_natives: dict[str, object]) -> None:
    need_runtime()
    for tier in ("minilm-int8", "static-tiny"):
        native = ValueModel.load(tier=tier)
        assert native.tokenizer == "tokenizers"
        found = without_natives[tier]
        assert isinstance(found, dict)
        ours = np.array(found["scores"])
        # The shipped encoder's int8 products round the activations to int8 in onnxruntime and
        # not in numpy (test_numpy_runtime.py); on corpus texts that moved scores by up to 0.021.
        # The tiny tier is the same numpy code on the same ids either way.
        tolerance = 0.05 if tier == "minilm-int8" else 1e-5
        assert np.abs(ours - native.scores(TEXTS)).max() < tolerance
        if native.judges:
            assert found["harmful"] == [j.harmful for j in native.judge(TEXTS)]
        if tier == "minilm-int8":  # the tiny tier's judgement is weaker (models/README.md)
            assert found["harmful"][1] and found["harmful"][2] and not found["harmful"][0]


def test_blas_is_held_to_the_thread_budget_during_a_run() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not BlasThreads(1).controlled:
        pytest.skip("numpy's BLAS here is not one threadpoolctl can set")

    def blas_threads() -> set[int]:
        return {
            int(lib["num_threads"])
            for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"
        }

    seen: list[set[int]] = []
    graph = Graph((Node("MatMul", ("a", "b"), ("y",), {}),), {}, ("a", "b"), ("y",))
    session = NumpySession(graph, threads=1)
    product = session._ops["MatMul"]

    def watched(node: Node, args: list[np.ndarray | None]) -> list[np.ndarray]:
        seen.append(blas_threads())
        return product(node, args)

    session._ops["MatMul"] = watched
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        a = np.ones((4, 4), dtype=np.float32)
        (y,) = session.run(None, {"a": a, "b": a})
        after = blas_threads()
    assert float(y[0, 0]) == pytest.approx(4.0)
    assert seen == [{1}]
    assert after == before  # the app's own setting is back
