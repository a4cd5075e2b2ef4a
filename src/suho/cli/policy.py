"""`suho policy show [NAME]` / `validate FILE...` / `list` / `calibrate --data SET --out PACK.yaml`."""

from __future__ import annotations

from pathlib import Path

import yaml

from suho.cli import MODEL_HELP, add_command, pad
from suho.policy import CATEGORY_IDS, PolicyError, available_policies, load_policy, taxonomy

EXAMPLES = """examples:
  suho policy show ko-KR
  suho policy validate my-pack.yaml
  suho policy calibrate --data file:my_traffic.jsonl --max-flag-rate 0.05 --out my-pack.yaml"""


def add_parser(sub) -> None:
    p = add_command(sub, "policy", "show, list, validate or calibrate policy packs", EXAMPLES)
    ps = p.add_subparsers(dest="policy_command", required=True)
    show = ps.add_parser("show", help="print a pack (a shipped name or a YAML file)")
    show.add_argument("name", nargs="?", default="ko-KR")
    show.add_argument("--yaml", action="store_true", help="print the resolved pack as YAML")
    show.set_defaults(func=_show)
    val = ps.add_parser("validate", help="validate pack files; lists every error")
    val.add_argument("files", nargs="+")
    val.set_defaults(func=_validate)
    ls = ps.add_parser("list", help="list the shipped packs")
    ls.set_defaults(func=lambda a: print("\n".join(available_policies())))
    cal = ps.add_parser(
        "calibrate",
        help="fit a pack's thresholds to labelled data (with a held-out check) and write the new pack",
        description="Runs the guard on labelled data, fits the threshold of every non-allow category (best weighted "
        "F1, or best unsafe recall with at most --max-flag-rate of safe items flagged) and reports, from repeated "
        "2-fold cross-fitting, whether the fitted thresholds beat the pack's on held-out halves. Do not calibrate on "
        "the sets you report results on.",
    )
    cal.add_argument("--data", required=True, help="a benchmark name (e.g. dev) or file:PATH.jsonl in the suho schema")
    cal.add_argument("--policy", default="ko-KR", help="the pack to start from (a shipped name or a YAML file)")
    cal.add_argument("--model", help=MODEL_HELP)
    cal.add_argument("--max-flag-rate", type=float, help="at most this share of safe items flagged (else: best F1)")
    cal.add_argument(
        "--flag-on",
        choices=("safe", "lookalike"),
        default="safe",
        help="which safe items --max-flag-rate counts: all of them, or only look-alikes (group 'lookalike')",
    )
    cal.add_argument(
        "--shift",
        action="store_true",
        help="fit one number instead of every threshold: all move by the same amount in logit space (the pack's "
        "relative thresholds stay; only the model's operating point is fitted)",
    )
    cal.add_argument("--name", help="name of the new pack (default: <policy>-calibrated)")
    cal.add_argument("--out", required=True, type=Path, help="where to write the new pack (YAML)")
    cal.add_argument(
        "--force",
        action="store_true",
        help="write the pack even if it does not help on held-out data, or over an existing file",
    )
    cal.set_defaults(func=_calibrate)


def _show(args) -> int:
    pol = load_policy(args.name)
    if args.yaml:
        print(yaml.safe_dump(pol.to_dict(), allow_unicode=True, sort_keys=False), end="")
        return 0
    lang = "ko" if pol.culture.startswith("ko") else "en"
    print(f"{pol.name} ({pol.culture}) — {pol.description}")
    others = "".join(f"; in {language}: {line}" for language, line in pol.crisis_line_by_language.items())
    print(f"reply language: {pol.reply_language}; replies: {pol.reply_mode}; crisis line: {pol.crisis_line}{others}\n")
    print(f"{'group':8} {'category':28} {pad('name', 26)} {'action':8} threshold")
    for cat, info in taxonomy().items():
        rule = pol.rule(cat.value)
        print(
            f"{info.group.value:8} {cat.value:28} {pad(info.name(lang), 26)} {rule.action.value:8} {rule.threshold:.2f}"
        )
    if pol.overrides:
        print(f"\noverrides ({len(pol.overrides)}; they decide before the thresholds):")
        for o in pol.overrides.entries:
            print(f"  {o.label:6} {o.category or '':28} {o.describe()}")
    return 0


def _validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            load_policy(f)
            print(f"{f}: OK")
        except PolicyError as exc:
            bad += 1
            print(f"{f}: {len(exc.errors)} error(s)")
            for e in exc.errors:
                print(f"  - {e}")
    return 1 if bad else 0


def _calibrate(args) -> int:
    import numpy as np

    from suho.eval.benchmarks import BENCHMARKS, load_benchmark
    from suho.eval.run import detect_all
    from suho.guard import load_guard
    from suho.policy.calibrate import Scores, calibrate, check_max_flag_rate

    if args.data in BENCHMARKS and BENCHMARKS[args.data].test_set:
        print(f"warning: {args.data} is an evaluation set; results reported on it after calibrating there are not "
              "held-out results")  # fmt: skip
    if args.out.exists() and not args.force:
        raise ValueError(f"{args.out} exists; pass --force to overwrite it")
    # the arguments are checked before the model scores anything (that takes a while)
    check_max_flag_rate(args.max_flag_rate, "--max-flag-rate")
    if args.flag_on == "lookalike" and args.max_flag_rate is None:
        raise ValueError("--flag-on lookalike bounds the flag rate --max-flag-rate sets: pass --max-flag-rate too")
    items = load_benchmark(args.data)
    policy = load_policy(args.policy)
    guard = load_guard(args.model, policy=policy)
    verdicts = detect_all(guard, [it.text for it in items], "scoring")
    decided = [v.override is not None for v in verdicts]
    if any(decided):  # the thresholds do not decide these: fitting them there would fit nothing real
        print(f"{sum(decided)} of {len(items)} items are decided by the pack's overrides: left out of the fit")
        items = [it for it, d in zip(items, decided, strict=True) if not d]
        verdicts = [v for v, d in zip(verdicts, decided, strict=True) if not d]
    unsafe = np.array([it.label == "unsafe" for it in items])
    constrained = ~unsafe & (
        np.array([it.group == "lookalike" for it in items]) if args.flag_on == "lookalike" else True
    )
    category_scores = np.array([[v.category_scores[c] for c in CATEGORY_IDS] for v in verdicts])
    scores = Scores(category_scores, unsafe, constrained)
    cal = calibrate(scores, policy, max_flag_rate=args.max_flag_rate, shift=args.shift)
    flag_name = "look-alikes flagged" if args.flag_on == "lookalike" else "safe flagged"
    print(f"\n{args.data}: {len(items)} items ({int(unsafe.sum())} unsafe); objective: {cal.objective}\n")
    extra = f" {flag_name:>19}" if args.flag_on == "lookalike" else ""  # else it is the safe-flagged column again
    print(f"{'thresholds':12} {'weighted F1':>11} {'unsafe recall':>13} {'safe flagged':>12}{extra}")
    _rows(cal.before, cal.after, args.flag_on == "lookalike")
    print(f"\nheld-out halves (fitted on the other half, mean of {cal.folds} folds):")
    _rows(cal.heldout_before, cal.heldout_after, args.flag_on == "lookalike")
    changed = {c: (policy.rule(c).threshold, r.threshold) for c, r in cal.policy.rules.items()
               if r.threshold != policy.rule(c).threshold}  # fmt: skip
    if cal.shift is not None:
        print(f"  fitted logit shift b = {cal.shift:+.2f} (b > 0 flags more)")
    for c, (old, new) in changed.items():
        print(f"  {c:28} {old:.2f} -> {new:.2f}")
    if not cal.helps and not args.force:
        print("\nthe fitted thresholds do not beat the pack's on held-out halves: keep the pack (--force writes it)")
        return 1
    data = cal.policy.to_dict()
    data["name"] = args.name or f"{policy.name}-calibrated"
    header = (
        f"# {data['name']}: {policy.name} with thresholds fitted by `suho policy calibrate` on {args.data} "
        f"({len(items)} items, model {guard.name}); objective: {cal.objective}.\n"
        f"# on that data: {_change(cal.before, cal.after, flag_name)}\n"
        f"# on held-out halves: {_change(cal.heldout_before, cal.heldout_after, flag_name)}\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def _change(a, b, flag_name: str) -> str:
    return (
        f"weighted F1 {a.weighted_f1:.4f} -> {b.weighted_f1:.4f}, unsafe recall {a.unsafe_recall:.4f} -> "
        f"{b.unsafe_recall:.4f}, {flag_name} {a.constrained_flag_rate:.4f} -> {b.constrained_flag_rate:.4f}"
    )


def _rows(pack, fitted, lookalikes: bool) -> None:
    for label, op in (("pack", pack), ("fitted", fitted)):
        extra = f" {op.constrained_flag_rate:19.4f}" if lookalikes else ""
        print(f"{label:12} {op.weighted_f1:11.4f} {op.unsafe_recall:13.4f} {op.safe_flag_rate:12.4f}{extra}")
