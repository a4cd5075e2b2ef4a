"""`suho data build` / `suho data stats` / `suho data validate` / `suho data spacing`."""

from __future__ import annotations

from pathlib import Path

from suho.cli import add_command
from suho.data.build import build, stats
from suho.data.schema import read_jsonl
from suho.paths import REPO_ROOT
from suho.text.romaja import ENGLISH_WORDS, english_words, write_words
from suho.text.spacing import TABLE, clean_korean_texts, count, counted, write_table

EXAMPLES = """examples:
  suho data build
  suho data stats data/train.jsonl data/dev.jsonl"""


def add_parser(sub) -> None:
    p = add_command(sub, "data", "build, validate and describe the training data", EXAMPLES)
    ps = p.add_subparsers(dest="data_command", required=True)
    b = ps.add_parser("build", help="seed files + public corpora -> data/train.jsonl, data/dev.jsonl")
    seed_dir = REPO_ROOT / "data" / "seed"
    b.add_argument("--seed-dir", type=Path, default=seed_dir, help="hand-written seed files (default: %(default)s)")
    b.add_argument(
        "--out-dir",
        type=Path,
        default=REPO_ROOT / "data",
        help="where train.jsonl and dev.jsonl are written (default: the repository's own %(default)s, whatever the "
        "working folder)",
    )
    b.add_argument("--shared", type=Path, default=None, help="public datasets dir (default ../shared/data)")
    b.add_argument("--seed", type=int, default=1234, help="split and sampling seed (default: %(default)s)")
    b.set_defaults(func=_build)
    s = ps.add_parser("stats", help="counts per category x language x source")
    s.add_argument(
        "files", nargs="*", type=Path, default=[REPO_ROOT / "data" / "train.jsonl", REPO_ROOT / "data" / "dev.jsonl"]
    )
    s.set_defaults(func=_stats)
    v = ps.add_parser("validate", help="validate JSONL files against the record schema")
    v.add_argument("files", nargs="+", type=Path)
    v.set_defaults(func=_validate)
    sp = ps.add_parser(
        "spacing",
        help="rebuild the normaliser's tables (suho.text.spacing, suho.text.romaja) from the training data",
        description="Counts, for every gap between two syllables in the clean Korean rows of the training data, "
        "whether a space stands there (the normaliser puts word breaks back into spaced-out text, and reads "
        "romanised words back into Hangul, with it), and lists the words of the English rows (never read as "
        "romanised Korean). Run it after `suho data build`: tests check that the shipped tables match "
        "data/train.jsonl.",
    )
    sp.add_argument("--train", type=Path, default=REPO_ROOT / "data" / "train.jsonl")
    sp.add_argument("--out", type=Path, default=TABLE, help="the spacing table (default: the shipped one)")
    sp.add_argument("--english-out", type=Path, default=ENGLISH_WORDS, help="the English word list")
    sp.set_defaults(func=_spacing)


def _build(args) -> int:
    report = build(args.seed_dir, args.out_dir, seed=args.seed, shared=args.shared)
    for reason, n in sorted(report.dropped.items()):
        print(f"  dropped {n:6d}  {reason}")
    return 0


def _stats(args) -> int:
    for f in args.files:
        records = read_jsonl(f)
        s = stats(records)
        print(f"## {f} ({len(records)} rows)\n")
        print("| category | ko | en |\n|---|---:|---:|")
        cats = sorted({c for c, _ in s["category_language"]})
        for c in cats:
            print(f"| {c} | {s['category_language'][(c, 'ko')]} | {s['category_language'][(c, 'en')]} |")
        print("\n| source | safe | unsafe |\n|---|---:|---:|")
        for src in sorted({x for x, _ in s["source_label"]}):
            print(f"| {src} | {s['source_label'][(src, 'safe')]} | {s['source_label'][(src, 'unsafe')]} |")
        print(f"\nunsafe rows with a safeguard reply: ko {s['with_reply']['ko']}, en {s['with_reply']['en']}\n")
        if s["obfuscated"]:
            print("| obfuscated copies (kind) | safe | unsafe |\n|---|---:|---:|")
            for kind in sorted({k for k, _ in s["obfuscated"]}):
                print(f"| {kind} | {s['obfuscated'][(kind, 'safe')]} | {s['obfuscated'][(kind, 'unsafe')]} |")
            print()
    return 0


def _validate(args) -> int:
    for f in args.files:
        print(f"{f}: {len(read_jsonl(f))} valid rows")
    return 0


def _spacing(args) -> int:
    rows = read_jsonl(args.train)
    texts = clean_korean_texts(rows)
    counts = count(texts)
    write_table(counts, args.out)
    print(f"{len(texts)} Korean rows -> {len(counts)} contexts in {args.out}")
    words = english_words(r.text for r in rows if r.language == "en" and counted(r))
    write_words(words, args.english_out)
    print(f"{len(words)} English words -> {args.english_out}")
    return 0
