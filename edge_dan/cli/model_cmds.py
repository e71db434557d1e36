"""``edge-dan score``, ``edge-dan feedback``, ``edge-dan contest`` and ``edge-dan model info``.

Arguments are checked before anything slow or secret happens: a bad option text or an unknown tier
costs neither a model load nor a passphrase. Option texts go to stdout only (the owner asked for
them); errors and notes never repeat them.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import TYPE_CHECKING, Any

from edge_dan.cli.context import Context
from edge_dan.cli.numbers import LARGEST_ID, whole
from edge_dan.errors import UsageError
from edge_dan.values.schwartz import ORIGINAL_VALUES

# numpy, the model runtime and the owner's feedback load only when one of these commands runs, so
# every other command starts as fast as before.
if TYPE_CHECKING:
    from edge_dan.model import ValueModel
    from edge_dan.owner.feedback import Outcome
    from edge_dan.values.personal import PersonalModel
    from edge_dan.values.ranking import RankedOption

FIRST_GUESS_NOTE = (
    "First guess from your profile. Teach Little Dan your own order with: "
    "edge-dan feedback --prefer A --over B"
)
REFUSED_NOTE = (
    "Refused options are never recommended, whatever your profile. If one is not harmful, say so "
    "with: edge-dan contest OPTION (it applies to that exact text only)"
)


def _load(tier: str | None) -> ValueModel:
    from edge_dan.model import DEFAULT_TIER, ValueModel, tier_directory

    tier = DEFAULT_TIER if tier is None else tier
    tier_directory(tier)  # UsageError naming the shipped tiers, before any loading
    return ValueModel.load(tier=tier)


def _reason(option: RankedOption) -> str:
    text = option.explanation.text
    return text.split(" (first guess", 1)[0].split(" (your profile is neutral", 1)[0]


def cmd_score(ctx: Context, args: argparse.Namespace) -> None:
    from edge_dan.values.personal import NEUTRAL_NOTE
    from edge_dan.values.ranking import clean_options, rank_judged

    options = clean_options(args.options)
    top = int(args.top)
    if not 1 <= top <= len(ORIGINAL_VALUES):
        raise UsageError(f"--top must be between 1 and {len(ORIGINAL_VALUES)}")
    model = _load(args.tier)
    judgements = model.judge(options)
    with ctx.open_owner() as owner:
        personal = owner.feedback.model()
        contested = owner.contests.option_keys()
        answers = [(a.preferred, a.rejected) for a in owner.feedback.list()]
    result = rank_judged(
        judgements,
        personal,
        texts=options,
        top=top,
        contested=contested,
        preferences=answers,
    )
    width = len(str(len(options)))
    lines = []
    for r in result.ranked:
        lines.append(f"{r.rank:>{width}}. {r.utility:+.2f}  {r.text}")
        lines.append(f"{'':>{width}}         {_reason(r)}")
    if result.refused:
        lines.append("")
        lines.append("Refused (would harm someone):")
        for f in result.refused:
            lines.append(f"{'-':>{width}}         {f.text}")
            lines.append(f"{'':>{width}}         {f.harm.reason}")
    lines.append("")
    neutral = personal.first_guess and len(set(personal.prior.tolist())) == 1
    if neutral:
        lines.append(f"Your profile is neutral: {NEUTRAL_NOTE.split(': ', 1)[1]}.")
    if personal.first_guess:
        lines.append(FIRST_GUESS_NOTE)
    else:
        lines.append(
            f"Weights learned from {personal.pairs} of your answers ('edge-dan feedback --list')."
        )
    if result.refused:
        lines.append(REFUSED_NOTE)
    ctx.emit(
        {
            "tier": model.tier,
            "first_guess": personal.first_guess,
            "answers": personal.pairs,
            **result.to_dict(),
            "contested": [
                options[r.index] for r in result.ranked if judgements[r.index].harm is not None
            ],
        },
        "\n".join(lines),
    )


def cmd_contest(ctx: Context, args: argparse.Namespace) -> None:
    from edge_dan.values.ranking import clean_option

    chosen = sum([args.option is not None, bool(args.list), args.withdraw is not None])
    if chosen != 1:
        raise UsageError("give one of: OPTION, --list, --withdraw N")
    if args.list:
        with ctx.open_owner() as owner:
            contests = owner.contests.list()
        lines = [f"{c.id:>4}  {c.at[:19]}  {c.option}  (was: {c.reason})" for c in contests]
        ctx.emit(
            {"contests": [c.to_dict() for c in contests]},
            "\n".join(lines) if lines else "No contested refusals.",
        )
        return
    if args.withdraw is not None:
        number = _answer_id(args.withdraw, flag="--withdraw")  # checked before any passphrase
        with ctx.open_owner() as owner:
            gone = owner.contests.withdraw(number)
        ctx.emit(
            {"withdrawn": gone.id},
            f"Withdrew contest {gone.id}: that option is judged again like any other.",
        )
        return
    option = clean_option(args.option, what="the contested option")
    model = _load(args.tier)
    judgement = model.judge([option])[0]
    if judgement.harm is None:
        raise UsageError("Little Dan does not refuse that option; there is nothing to contest")
    with ctx.open_owner() as owner:
        contest = owner.contests.add(option, reason=judgement.harm.reason, note=args.note or "")
    ctx.emit(
        {"id": contest.id, "reason": contest.reason},
        f"Kept contest {contest.id}: this exact option is ranked from now on (it was refused as: "
        f"{contest.reason}). Similar options are still judged. Undo with: "
        f"edge-dan contest --withdraw {contest.id}",
    )


def _moves(outcome: Outcome) -> str:
    moved = ", ".join(
        f"{v} {a:.2f}->{b:.2f}"
        for v, (a, b) in outcome.change.changes.items()
        if abs(b - a) >= 0.005  # what shows at two decimals
    )
    return moved or "nothing moved noticeably"


def _weights_table(model: PersonalModel) -> list[str]:
    implied = model.implied_profile()
    lines = [f"{'value':<15} {'prior':>6} {'learned':>8} {'+/-':>5}  as a profile weight"]
    for v, w0, w, sd in zip(
        ORIGINAL_VALUES, model.prior, model.weights, model.uncertainty, strict=True
    ):
        lines.append(f"{v:<15} {w0:>+6.2f} {w:>+8.2f} {sd:>5.2f}  {implied[v]:.2f}")
    return lines


def _feedback_add(ctx: Context, args: argparse.Namespace) -> None:
    from edge_dan.values.ranking import clean_pair

    preferred, rejected = clean_pair(args.prefer, args.over)
    model = _load(args.tier)
    scores = model.effects([preferred, rejected])
    with ctx.open_owner() as owner:
        outcome = owner.feedback.add(preferred, rejected, scores[0], scores[1], tier=model.tier)
    after = outcome.after
    u = after.utility(scores)
    p = after.prefer_probability(scores[0], scores[1])
    before_p = outcome.before.prefer_probability(scores[0], scores[1])
    ctx.emit(
        {
            "id": outcome.answer.id,
            "answers": after.pairs,
            "tier": model.tier,
            "preferred_utility": float(u[0]),
            "rejected_utility": float(u[1]),
            "probability_before": before_p,
            "probability_after": p,
            "changes": outcome.change.to_dict()["changes"],
            "weights": after.to_dict()["weights"],
        },
        f"Kept answer {outcome.answer.id} ({after.pairs} in all). The model now gives your "
        f"choice a {p:.0%} chance (it gave {before_p:.0%}).\n"
        f"Learned weights moved: {_moves(outcome)}",
    )


def _feedback_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.open_owner() as owner:
        answers = owner.feedback.list()
        model = owner.feedback.model()
        profile = owner.profile.current()
        history = owner.feedback.history()
    lines = [f"{a.id:>4}  {a.at[:19]}  {a.preferred}  >  {a.rejected}" for a in answers]
    text = "\n".join(lines) if lines else "No answers yet."
    text += "\n\n" + "\n".join(_weights_table(model))
    if model.first_guess:
        text += "\n\n" + FIRST_GUESS_NOTE
    ctx.emit(
        {
            "feedback": [a.to_dict() for a in answers],
            "model": model.to_dict(),
            "profile": profile.to_dict(),
            "implied_profile": model.implied_profile(),
            "history": [h.to_dict() for h in history],
        },
        text,
    )


def _feedback_undo(ctx: Context, args: argparse.Namespace) -> None:
    target = None if args.undo == "last" else _answer_id(args.undo)
    with ctx.open_owner() as owner:
        outcome = owner.feedback.undo(target)
    ctx.emit(
        {
            "undone": outcome.answer.id,
            "answers": outcome.after.pairs,
            "changes": outcome.change.to_dict()["changes"],
            "weights": outcome.after.to_dict()["weights"],
        },
        f"Forgot answer {outcome.answer.id} ({outcome.after.pairs} left).\n"
        f"Learned weights moved: {_moves(outcome)}",
    )


def _answer_id(text: str, *, flag: str = "--undo") -> int:
    try:
        return whole(text, minimum=1, maximum=LARGEST_ID)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def cmd_feedback(ctx: Context, args: argparse.Namespace) -> None:
    adding = args.prefer is not None or args.over is not None
    chosen = sum([adding, bool(args.list), args.undo is not None, args.ask is not None])
    if chosen != 1:
        raise UsageError("give one of: --prefer A --over B, --ask OPTION ..., --list, --undo [N]")
    if args.rounds is not None and (args.ask is None or args.rounds < 1):
        raise UsageError("--rounds goes with --ask and takes a number, 1 or more")
    if args.ask is not None:
        from edge_dan.cli.ask_cmds import feedback_ask

        feedback_ask(ctx, args, _load(args.tier))
    elif adding:
        if args.prefer is None or args.over is None:
            raise UsageError("--prefer and --over go together: --prefer A --over B")
        _feedback_add(ctx, args)
    elif args.list:
        _feedback_list(ctx, args)
    else:
        _feedback_undo(ctx, args)


def _headline(meta: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The validation entry that describes the shipped artifacts of this tier."""
    validation = meta.get("validation")
    if not isinstance(validation, dict):
        return None, {}
    results = validation.get("results")
    if not isinstance(results, dict):
        return None, {}
    # An explicit "shipped" entry wins; else the tier's own name; else what the build scripts
    # call the shipped artifacts (minilm: "int8+head", static: "static+head"); else a lone head.
    heads = [k for k in results if k.endswith("+head")]
    lone = heads[0] if len(heads) == 1 else None
    for name in (validation.get("shipped"), meta.get("tier"), "int8+head", "static+head", lone):
        if isinstance(name, str) and isinstance(results.get(name), dict):
            return name, results[name]
    return None, {}


def _f1(entry: dict[str, Any], key: str) -> dict[str, float] | None:
    item = entry.get(key)
    if isinstance(item, dict) and isinstance(item.get("f1"), int | float):
        return {k: float(v) for k, v in item.items() if isinstance(v, int | float)}
    return None


def cmd_model_info(ctx: Context, args: argparse.Namespace) -> None:
    from edge_dan.model import DEFAULT_TIER
    from edge_dan.model.integrity import META_FILE

    model = _load(args.tier)  # verifies every file against its recorded SHA-256
    meta = model.meta
    directory = model.directory
    files: dict[str, dict[str, Any]] = {}
    for name, record in sorted(meta["files"].items()):
        files[name] = {"bytes": (directory / name).stat().st_size, "sha256": record["sha256"]}
    meta_bytes = (directory / META_FILE).read_bytes()
    size = sum(f["bytes"] for f in files.values()) + len(meta_bytes)
    source, entry = _headline(meta)
    measures = {
        key: found
        for key in (
            "f1_honest",
            "f1_shipped_thresholds",
            "f1_crossfit_validation",
            "f1_tuned_on_validation",
        )
        if (found := _f1(entry, key)) is not None
    }
    headline = measures.get("f1_honest") or next(iter(measures.values()), None)
    data = {
        "tier": model.tier,
        "default": model.tier == DEFAULT_TIER,
        "directory": str(directory),
        "size_bytes": size,
        # meta.json pins the SHA-256 of every other file, so its own hash names the whole build.
        "sha256": hashlib.sha256(meta_bytes).hexdigest(),
        "files": files,
        "encoder": meta["encoder"].get("kind"),
        "runtime": model.runtime,
        "exact": model.exact,
        "tokenizer": model.tokenizer,
        "dim": model.dim,
        "categories": len(model.categories),
        "validation": {
            "f1": None if headline is None else headline["f1"],
            "source": source,
            "measures": measures,
        },
    }
    lines = [
        f"tier        {model.tier}{' (default)' if data['default'] else ''}",
        f"directory   {directory}",
        f"size        {size / 1e6:.1f} MB in {len(files) + 1} files",
        f"sha256      {data['sha256']} (meta.json, which pins every file)",
    ]
    lines += [f"  {n:<14} {f['bytes']:>10} B  {f['sha256']}" for n, f in files.items()]
    lines.append(
        f"encoder     {data['encoder']}, {model.dim} dimensions, {data['categories']} categories,"
        f" run by {model.runtime}"
        f"{' (exact: float32 products)' if model.exact else ' (int8 activations)'}"
        f", ids by {model.tokenizer}"
    )
    if measures:
        shown = ", ".join(
            f"{k.removeprefix('f1_').replace('_', ' ')} {m['f1']:.3f}" for k, m in measures.items()
        )
        lines.append(f"validation  F1 {shown}")
    else:
        lines.append("validation  no figures recorded in the model metadata")
    judge = meta.get("judge")
    dev = judge.get("dev") if isinstance(judge, dict) else None
    if isinstance(dev, dict) and isinstance(dev.get("harm"), dict):
        harm, direction = dev["harm"], dev.get("direction", {})
        data["judgement"] = {
            "harm_recall": harm.get("recall"),
            "harmless_refused": harm.get("refused_harmless"),
            "direction_auc_mean": direction.get("auc_mean"),
            "minimal_pairs_right": direction.get("pairs_right"),
            "split": "everyday dev",
        }
        lines.append(
            f"judgement   harm recall {harm.get('recall', 0):.3f} with "
            f"{harm.get('refused_harmless', 0):.1%} of harmless options refused; direction AUC "
            f"{direction.get('auc_mean', 0):.3f}; minimal pairs "
            f"{direction.get('pairs_right', 0):.3f} (everyday dev split)"
        )
    elif not model.judges:
        lines.append("judgement   none: this tier cannot read direction or harm")
    ctx.emit(data, "\n".join(lines))
