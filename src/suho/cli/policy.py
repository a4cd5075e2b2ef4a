"""`suho policy show [NAME]` / `suho policy validate FILE...` / `suho policy list`."""

from __future__ import annotations

import argparse
import unicodedata

import yaml

from suho.policy import PolicyError, available_policies, load_policy, taxonomy


def add_parser(sub) -> None:
    p = sub.add_parser(
        "policy",
        help="show, list or validate policy packs",
        epilog="examples:\n  suho policy show ko-KR\n  suho policy validate my-pack.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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


def _show(args) -> int:
    pol = load_policy(args.name)
    if args.yaml:
        print(yaml.safe_dump(pol.to_dict(), allow_unicode=True, sort_keys=False), end="")
        return 0
    lang = "ko" if pol.culture.startswith("ko") else "en"
    print(f"{pol.name} ({pol.culture}) — {pol.description}")
    print(f"reply language: {pol.reply_language}; replies: {pol.reply_mode}; crisis line: {pol.crisis_line}\n")
    print(f"{'group':8} {'category':28} {_pad('name', 26)} {'action':8} threshold")
    for cat, info in taxonomy().items():
        rule = pol.rule(cat.value)
        print(
            f"{info.group.value:8} {cat.value:28} {_pad(info.name(lang), 26)} "
            f"{rule.action.value:8} {rule.threshold:.2f}"
        )
    return 0


def _pad(text: str, width: int) -> str:
    """Left-justify by display width (Hangul takes two columns)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


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
