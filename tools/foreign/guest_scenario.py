"""The mobile profile end to end, as ``armv7_check.py`` runs it inside the armv7 guest.

With no onnxruntime, tokenizers or sqlcipher3 importable: the value model loads with
``runtime="auto"`` (it must pick numpy), each owner's store opens (the stdlib-sqlite3 backend
where sqlcipher3 is absent), and two agents on ``LoopbackNetwork`` (TCP on 127.0.0.1 only; adverts
pass in-process, so mDNS discovery is not exercised here) pair by numeric comparison and negotiate
a free-text plan whose options each owner's values judge through the numpy runtime. The accord is
verified offline. Every step is recorded in the JSON written to the path given as argument; a
step that cannot run says why instead of failing the script.

Usage: ``python guest_scenario.py OUT.json``
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NATIVE = ("sqlcipher3", "onnxruntime", "tokenizers")
PLANS = ["Cook lunch for grandma", "Go to an all-night techno party", "Walk in the park together"]
NO_STORE = "store backend without sqlcipher3 not available"
# Emulation runs the model and the agents' loops tens of times slower than a board would.
TIMEOUT = 600.0


async def pair_and_negotiate(home: Path, model: Any, result: dict[str, Any]) -> None:
    from edge_dan import (
        Agent,
        LoopbackHub,
        LoopbackNetwork,
        OutcomeSpace,
        Owner,
        TextIssue,
        strategy_for,
    )

    saturday = OutcomeSpace([TextIssue("plan", tuple(PLANS))])
    codes: dict[str, str] = {}

    def confirmer(who: str) -> Any:
        async def confirm(code: str, fingerprint: str) -> str:
            codes[who] = code  # each owner's screen; both must show the same six digits
            return "neighbour"

        return confirm

    start = time.perf_counter()
    ana = Owner.create(home / "ana", "ana's secret")
    ben = Owner.create(home / "ben", "ben's secret")
    ana.profile.edit({"benevolence": 0.9, "tradition": 0.8, "stimulation": 0.2})
    ben.profile.edit({"benevolence": 0.7, "stimulation": 0.8, "hedonism": 0.7})
    seconds = round(time.perf_counter() - start, 2)
    from edge_dan.store.engines import engine_of_file  # which engine wrote the owner's file

    engine = engine_of_file(home / "ana" / "store.db").name
    result["store"] = {"opened": True, "engine": engine, "seconds": seconds}

    hub = LoopbackHub()
    answer = lambda peer, title, space: strategy_for(ben, space, model)  # noqa: E731
    start = time.perf_counter()
    async with (
        Agent(ana, networks=[LoopbackNetwork(hub)], on_pairing=confirmer("ana"),
              value_model=model) as a,
        Agent(ben, networks=[LoopbackNetwork(hub)], on_pairing=confirmer("ben"),
              on_agenda=answer, value_model=model) as b,
    ):  # fmt: skip
        await b.open_to_pairing(TIMEOUT)
        offer = await a.wait_for_pairing_offer(timeout=TIMEOUT)
        peer = await a.pair(offer.key, confirmer("ana"))
        await a.wait_for_partner(peer.identity_key, timeout=TIMEOUT)
        result["pairing"] = {
            "codes_match": len(codes) == 2 and codes["ana"] == codes["ben"],
            "seconds": round(time.perf_counter() - start, 2),
        }
        start = time.perf_counter()
        mine = strategy_for(ana, saturday, model)
        outcome = await a.negotiate([peer.identity_key], "Saturday", saturday, mine)
    accord = outcome.accord
    verified = False
    if accord is not None:
        accord.verify()  # raises if any signature is wrong
        verified = True
    result["negotiation"] = {
        "agreed": accord is not None,
        "verified": verified,
        "outcome": str(outcome),
        "seconds": round(time.perf_counter() - start, 2),
    }


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    result: dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "native_importable": {n: importlib.util.find_spec(n) is not None for n in NATIVE},
    }
    from edge_dan import ValueModel

    start = time.perf_counter()
    model = ValueModel.load()  # runtime="auto": numpy, as onnxruntime is absent
    seconds = round(time.perf_counter() - start, 2)
    result["model"] = {"runtime": model.runtime, "load_seconds": seconds}
    try:
        import edge_dan.owner  # noqa: F401  (imports the store)
    except ModuleNotFoundError as exc:
        if exc.name != "sqlcipher3":
            raise
        result["store"] = {"opened": False, "reason": NO_STORE}
    if "store" not in result:
        with tempfile.TemporaryDirectory(prefix="edge-dan-guest.") as home:
            asyncio.run(pair_and_negotiate(Path(home), model, result))
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
