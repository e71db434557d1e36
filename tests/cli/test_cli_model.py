"""edge-dan score, feedback and model info, run as a person would."""

from __future__ import annotations

import hashlib
import json
import secrets

import pytest
from conftest import Cli, modules_after

from edge_dan.model import TIERS, tier_directory
from edge_dan.store import Store

FAST = ("--unlock-time", "0.05")
CARING = "Cook dinner for my sick neighbour"
DOMINANT = "Demand that my staff work the weekend"
HELD_OUT = ["Bring soup to a friend who has the flu", "Order my employees to cancel their holidays"]
ANSWERS = [
    ("Cook dinner for my sick neighbour", "Make the team do it my way because I am the boss"),
    (
        "Listen to a friend who is going through a hard time",
        "Demand that my staff work the weekend",
    ),
    ("Offer to drive my elderly aunt to the doctor", "Threaten to fire anyone who disagrees"),
]


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init", *FAST).code == 0
    assert cli("profile", "set", "power=1", "achievement=0.9", "benevolence=0").code == 0
    return cli


def ranking(cli: Cli, *options: str) -> list[tuple[str, float]]:
    result = cli("score", *options, "--json")
    assert result.code == 0, result.err
    return [(r["option"], r["utility"]) for r in json.loads(result.out)["ranking"]]


def one_line_error(result: object, code: int = 2) -> str:
    assert result.code == code, (result.out, result.err)  # type: ignore[attr-defined]
    err: str = result.err  # type: ignore[attr-defined]
    assert err.startswith("edge-dan: error: ") and err.count("\n") == 1, err
    return err


def test_model_info_json_shows_tier_size_hash_and_validation(cli: Cli) -> None:
    result = cli("model", "info", "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    directory = tier_directory("minilm-int8")
    meta_bytes = (directory / "meta.json").read_bytes()
    meta = json.loads(meta_bytes)
    assert info["tier"] == "minilm-int8" and info["default"] is True
    assert info["sha256"] == hashlib.sha256(meta_bytes).hexdigest()
    pinned = sum(r["bytes"] for r in meta["files"].values())
    assert info["size_bytes"] == pinned + len(meta_bytes)
    for name, record in meta["files"].items():
        assert info["files"][name] == {"bytes": record["bytes"], "sha256": record["sha256"]}
    honest = meta["validation"]["results"]["int8+head"]["f1_honest"]["f1"]
    assert info["validation"]["f1"] == honest and 0.3 < honest < 1
    assert "f1_shipped_thresholds" in info["validation"]["measures"]
    text = cli("model", "info").out
    assert "minilm-int8" in text and info["sha256"] in text and f"{honest:.3f}" in text


def test_score_ranks_with_reasons_and_says_it_is_a_first_guess(ready: Cli) -> None:
    result = ready("score", CARING, DOMINANT, "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert out["first_guess"] is True and out["answers"] == 0 and out["tier"] == "minilm-int8"
    assert [r["rank"] for r in out["ranking"]] == [1, 2]
    assert {r["option"] for r in out["ranking"]} == {CARING, DOMINANT}
    for r in out["ranking"]:
        assert set(r) >= {"utility", "for", "against", "text"}
    text = ready("score", CARING, DOMINANT).out
    assert "1. " in text and "First guess" in text
    assert any(w in text for w in ("for: ", "against: "))


HARMFUL = "punch a stranger who insulted me"


def test_score_refuses_harm_whatever_the_profile_and_says_why(ready: Cli) -> None:
    # A power-loving owner who once preferred the harmful option: it is still refused.
    assert ready("feedback", "--prefer", HARMFUL, "--over", CARING).code == 0
    result = ready("score", CARING, HARMFUL, DOMINANT, "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert HARMFUL not in [r["option"] for r in out["ranking"]]
    assert [r["rank"] for r in out["ranking"]] == list(range(1, len(out["ranking"]) + 1))
    (refused,) = out["refused"]
    assert refused["option"] == HARMFUL and refused["index"] == 1
    assert refused["reason"].startswith("harms another person") and refused["kind"] == "violence"
    assert 0.5 <= refused["probability"] <= 1
    text = ready("score", CARING, HARMFUL, DOMINANT).out
    assert "Refused (would harm someone):" in text and refused["reason"] in text
    assert "edge-dan contest" in text


def test_a_contest_lifts_one_refusal_for_that_exact_text(ready: Cli) -> None:
    one_line_error(ready("contest", CARING))  # nothing to contest: it is not refused
    result = ready("contest", HARMFUL, "--note", "a boxing match", "--json")
    assert result.code == 0, result.err
    cid = json.loads(result.out)["id"]
    out = json.loads(ready("score", CARING, HARMFUL.upper(), "--json").out)
    assert HARMFUL.upper() in [r["option"] for r in out["ranking"]] and out["refused"] == []
    assert out["contested"] == [HARMFUL.upper()]
    other = json.loads(ready("score", CARING, "punch the stranger who insulted me", "--json").out)
    assert [r["option"] for r in other["refused"]] == ["punch the stranger who insulted me"]
    listed = json.loads(ready("contest", "--list", "--json").out)["contests"]
    assert [(c["id"], c["option"], c["note"]) for c in listed] == [(cid, HARMFUL, "a boxing match")]
    assert ready("contest", "--withdraw", str(cid)).code == 0
    again = json.loads(ready("score", CARING, HARMFUL, "--json").out)
    assert [r["option"] for r in again["refused"]] == [HARMFUL]
    err = one_line_error(ready("contest", "--withdraw", str(cid)))
    assert f"there is no contest {cid}; 'edge-dan contest --list' shows them" in err


def test_feedback_flips_a_held_out_pair_and_undo_restores_it(ready: Cli) -> None:
    before = ranking(ready, *HELD_OUT)
    assert before[0][0] == HELD_OUT[1]  # the power-loving profile's first guess
    for preferred, rejected in ANSWERS:
        result = ready("feedback", "--prefer", preferred, "--over", rejected, "--json")
        assert result.code == 0, result.err
        out = json.loads(result.out)
        assert out["probability_after"] >= out["probability_before"]
    after = ranking(ready, *HELD_OUT)
    assert after[0][0] == HELD_OUT[0]
    listed = json.loads(ready("feedback", "--list", "--json").out)
    assert [(f["preferred"], f["rejected"]) for f in listed["feedback"]] == ANSWERS
    assert listed["model"]["pairs"] == 3 and len(listed["history"]) == 3
    undone = listed["feedback"][1]["id"]
    undo = ready("feedback", "--undo", str(undone), "--json")
    assert undo.code == 0, undo.err
    err = one_line_error(ready("feedback", "--undo", str(undone)))
    assert f"there is no answer {undone}; 'edge-dan feedback --list' shows them" in err
    assert ready("feedback", "--undo").code == 0
    assert ready("feedback", "--undo", "--json").code == 0
    assert ranking(ready, *HELD_OUT) == before  # exactly: same order, same utilities
    one_line_error(ready("feedback", "--undo"))


def test_feedback_list_shows_answers_and_weights(ready: Cli) -> None:
    assert ready("feedback", "--prefer", CARING, "--over", DOMINANT).code == 0
    text = ready("feedback", "--list").out
    assert f"{CARING}  >  {DOMINANT}" in text and "benevolence" in text and "learned" in text


@pytest.mark.parametrize(
    "args",
    [
        ("score", ""),
        ("score", "  "),
        ("score", "Call mum", "call mum "),
        ("score", "a", "--tier", "no-such-tier"),
        ("score", "a", "--top", "0"),
        ("feedback", "--prefer", "", "--over", "b"),
        ("feedback", "--prefer", "Go for a run", "--over", "go for a run"),
        ("feedback", "--prefer", "a"),
        ("feedback", "--prefer", "a", "--over", "b", "--tier", "no-such-tier"),
        ("feedback", "--list", "--undo"),
        ("feedback",),
        ("feedback", "--undo", "x"),
        ("feedback", "--ask", "a", "b", "--rounds", "0"),
        ("feedback", "--prefer", "a", "--over", "b", "--rounds", "2"),
        ("feedback", "--ask", "a", "--list"),
        ("model", "info", "--tier", "no-such-tier"),
        ("contest",),
        ("contest", "a", "--list"),
        ("contest", "--withdraw", "x"),
        ("contest", "  "),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(cli: Cli, args: tuple[str, ...]) -> None:
    # Checked before the store is opened or the model loaded: no store needed to be told.
    err = one_line_error(cli(*args))
    assert "Call mum" not in err and "Go for a run" not in err
    if "no-such-tier" in args:
        assert "minilm-int8" in err


def test_score_needs_a_store(cli: Cli) -> None:
    err = one_line_error(cli("score", "a"), code=1)
    assert "init" in err


@pytest.mark.parametrize("tier", TIERS)
def test_model_info_for_every_shipped_tier(cli: Cli, tier: str) -> None:
    result = cli("model", "info", "--tier", tier, "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["tier"] == tier and info["size_bytes"] > 0 and len(info["sha256"]) == 64
    assert info["validation"]["f1"] is not None and 0 < info["validation"]["f1"] < 1


def test_model_info_says_whether_compute_is_exact_and_refuses_a_bad_setting(cli: Cli) -> None:
    pytest.importorskip("onnxruntime", reason="the default is exact anyway without onnxruntime")
    default = cli("model", "info", "--json")
    exact = cli("model", "info", "--json", EDGE_DAN_MODEL_EXACT="1")
    assert default.code == exact.code == 0, (default.err, exact.err)
    assert json.loads(default.out)["exact"] is False
    assert json.loads(exact.out)["exact"] is True
    assert "(exact: float32 products)" in cli("model", "info", EDGE_DAN_MODEL_EXACT="yes").out
    err = one_line_error(cli("model", "info", EDGE_DAN_MODEL_EXACT="sometimes"), code=1)
    assert "EDGE_DAN_MODEL_EXACT" in err


def test_option_texts_never_reach_disk_or_stderr_in_plaintext(ready: Cli) -> None:
    marker = f"MARKER{secrets.token_hex(6)}"
    preferred, rejected = f"Phone {marker} tonight", f"Ignore {marker} for a week"

    def scan() -> None:
        for path in ready.home.rglob("*"):
            if path.is_file():
                assert marker.encode() not in path.read_bytes(), path.name

    with Store.open(ready.home, ready.env["EDGE_DAN_PASSPHRASE"]) as held:
        held.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep every page in the WAL
        runs = [
            ready("feedback", "--prefer", preferred, "--over", rejected),
            ready("feedback", "--prefer", rejected, "--over", marker),
            ready("score", preferred, rejected),
        ]
        assert (ready.home / "store.db-wal").stat().st_size > 0
        scan()
        runs.append(ready("feedback", "--undo"))  # checkpoints: the pages move to store.db
        scan()
        assert all(r.code == 0 for r in runs), [r.err for r in runs]
        assert all(marker not in r.err for r in runs)
    listed = json.loads(ready("feedback", "--list", "--json").out)["feedback"]
    assert [(f["preferred"], f["rejected"]) for f in listed] == [(preferred, rejected)]


def test_other_commands_do_not_pay_for_numpy() -> None:
    assert "numpy" not in modules_after("import edge_dan.cli.main")


def test_little_dan_asks_telling_questions_and_keeps_the_answers(ready: Cli) -> None:
    options = [CARING, DOMINANT, HARMFUL, *HELD_OUT]
    # 1 picks the first option shown, 2 the second, s skips: three questions, two answers kept.
    result = ready("feedback", "--ask", *options, "--rounds", "3", "--json", input="1\ns\n2\n")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    questions = [json.loads(x) for x in lines if x.startswith('{"question"')]
    summary = json.loads("\n".join(lines[len(questions) :]))
    assert [q["question"] for q in questions] == [1, 2, 3]
    shown = [tuple(q["options"]) for q in questions]
    assert len(set(map(frozenset, shown))) == 3  # never the same pair twice
    assert all(HARMFUL not in pair for pair in shown)  # a refused option is never a choice
    assert summary["refused"] == 1 and summary["answers"] == 2
    kept = [(k["preferred"], k["rejected"]) for k in summary["kept"]]
    assert kept == [shown[0], shown[2][::-1]]
    listed = json.loads(ready("feedback", "--list", "--json").out)["feedback"]
    assert [(f["preferred"], f["rejected"]) for f in listed] == kept
    # questions are for the owner's eyes: on stdout, never on stderr
    assert not any(o in result.err for o in options)


def test_asking_stops_at_q_or_the_end_of_input(ready: Cli) -> None:
    stopped = ready("feedback", "--ask", CARING, DOMINANT, *HELD_OUT, input="q\n")
    assert stopped.code == 0 and "Kept 0 answers (0 in all)" in stopped.out
    ended = ready("feedback", "--ask", CARING, DOMINANT, *HELD_OUT, "--rounds", "5", input="1\n")
    assert ended.code == 0 and "Kept 1 answer (1 in all)" in ended.out
    assert ended.out.count("Which would you rather do?") == 2


def test_asking_needs_two_options_it_does_not_refuse(ready: Cli) -> None:
    err = one_line_error(ready("feedback", "--ask", HARMFUL, CARING, input="1\n"))
    assert "at least two options" in err
    assert json.loads(ready("feedback", "--list", "--json").out)["feedback"] == []
