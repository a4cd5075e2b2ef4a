"""`suho eval --benchmark NAME`: the reference tables, per category, per group, PR curve."""

from __future__ import annotations

import argparse
from pathlib import Path

from suho.eval.benchmarks import BENCHMARKS


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a guard on a benchmark",
                       epilog="examples:\n  suho eval --benchmark xstest\n  suho eval --benchmark ko-dev --policy ko-KR\n"
                              "  suho eval --benchmark file:my_set.jsonl",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", action="append", required=True,
                   help=f"one of {', '.join(BENCHMARKS)} or file:PATH.jsonl (repeatable)")
    p.add_argument("--model", help="suho model dir (default: $SUHO_MODEL or the shipped model)")
    p.add_argument("--policy", default="ko-KR")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports/<benchmark>/ is written here")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from suho.eval.benchmarks import load_benchmark
    from suho.eval.report import render_markdown
    from suho.eval.run import evaluate
    from suho.guard import load_guard

    guard = load_guard(args.model, policy=args.policy)
    for name in args.benchmark:
        items = load_benchmark(name)
        safe_name = name.replace("file:", "file-").replace("/", "_")
        res = evaluate(guard, items, name, args.out / safe_name)
        print(render_markdown(res))
        print(f"report: {args.out / safe_name}/summary.md")
    return 0
