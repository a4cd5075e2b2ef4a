"""`suho eval --benchmark NAME`: the reference tables, per category, per group, PR curve, with baselines beside.

Each model or baseline is written to `reports/<benchmark>/<name>/` (predictions, metrics, summary, PR curve); the
combined `reports/<benchmark>/summary.md` has one row per model/baseline and is what is printed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from suho.cli import MODEL_HELP, add_command, add_engine_args, engine_kwargs
from suho.eval.baselines import BASELINES
from suho.eval.benchmarks import BENCHMARKS

EXAMPLES = """examples:
  suho eval --benchmark xstest
  suho eval --benchmark ko-dev --policy ko-KR
  suho eval --benchmark file:my_set.jsonl
  suho eval --benchmark xstest --baseline keyword --baseline zeroshot --baseline ic
  suho eval --benchmark ko-dev --no-model --baseline openai-ic:gpt-4o-mini --base-url https://api.openai.com/v1
  suho eval --benchmark xstest --baseline llamaguard:~/models/Llama-Guard-3-1B"""


def add_parser(sub) -> None:
    p = add_command(sub, "eval", "evaluate a guard (and baselines) on a benchmark", EXAMPLES)
    p.add_argument(
        "--benchmark",
        action="append",
        required=True,
        help=f"one of {', '.join(BENCHMARKS)} or file:PATH.jsonl (repeatable)",
    )
    p.add_argument("--model", action="append", help=f"{MODEL_HELP}; repeatable")
    p.add_argument("--no-model", action="store_true", help="evaluate only the baselines")
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME[:ARG]",
        help="repeatable; "
        + "; ".join(f"{b.name}{'' if b.required else '['}:{b.arg}{'' if b.required else ']'}: {b.description}"
                    for b in BASELINES.values()),
    )  # fmt: skip
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for openai/openai-ic (default $OPENAI_BASE_URL)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--policy", default="ko-KR")
    add_engine_args(p)
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports/<benchmark>/ is written here")
    p.set_defaults(func=_run)


def _dirname(name: str) -> str:
    """A directory name: `file:data/my_set.jsonl` -> `file-my_set`, `openai:org/model` -> `openai-org-model`."""
    if name.startswith("file:"):
        name = "file-" + Path(name[5:]).stem
    return re.sub(r"[^\w.-]+", "-", name).strip("-") or "model"


def _run(args) -> int:
    from suho.eval.baselines import BaselineOptions, load_baseline, resolve
    from suho.eval.benchmarks import load_benchmark
    from suho.eval.run import evaluate
    from suho.guard import load_guard
    from suho.policy import load_policy

    for spec in args.baseline:
        resolve(spec)  # a typo fails before anything heavy loads
    if args.no_model and not args.baseline:
        raise ValueError("nothing to evaluate: --no-model needs at least one --baseline")
    benches = {name: load_benchmark(name) for name in args.benchmark}
    policy = load_policy(args.policy)
    detectors = (
        [] if args.no_model else [load_guard(m, policy=policy, **engine_kwargs(args)) for m in (args.model or [None])]
    )
    opts = BaselineOptions(policy=policy, base_url=args.base_url, api_key_env=args.api_key_env)
    detectors += [load_baseline(spec, opts) for spec in args.baseline]
    dirs: list[str] = []
    for det in detectors:
        d = _dirname(det.name)
        dirs.append(d if d not in dirs else f"{d}-{len(dirs) + 1}")

    for name, items in benches.items():
        bench_dir = args.out / _dirname(name)
        results = []
        for det, d in zip(detectors, dirs):
            errors = getattr(det, "parse_errors", None)
            seen = len(errors) if errors is not None else 0
            res = evaluate(det, items, name, bench_dir / d)
            if errors is not None:  # classifiers whose free-text replies can fail to parse
                _record_parse_errors(res, errors[seen:], bench_dir / d)
            results.append(res)
        summary = render_comparison(results, dirs)
        (bench_dir / "summary.md").write_text(summary, encoding="utf-8")
        print(summary)
        print(f"report: {bench_dir}/summary.md")
    return 0


def _record_parse_errors(res: dict, errors: list[dict], out_dir: Path) -> None:
    res["parse_errors"] = len(errors)
    (out_dir / "metrics.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    with (out_dir / "parse_errors.jsonl").open("w", encoding="utf-8") as fh:
        for e in errors:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")


def render_comparison(results: list[dict], dirs: list[str]) -> str:
    """One benchmark, many models: the reference table, then CIs, over-refusal by group and recall by category."""
    from suho.eval.report import BINARY_HEADER, binary_row, cell, paired_section

    first = results[0]
    out = [
        f"# {first['benchmark']} — {first['n']} items, policy {first['policy']}",
        "",
        BINARY_HEADER,
        *(binary_row(r["model"], r["binary"]) for r in results),
        "",
        "| model | W. F1 95% CI | AP of P(unsafe) | parse errors | seconds | report |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r, d in zip(results, dirs):
        lo, hi = r["weighted_f1_ci95"]
        errs = r.get("parse_errors", "-")
        out.append(
            f"| {r['model']} | {lo:.3f}–{hi:.3f} | {cell(r['scores']['average_precision'])} | {errs} | "
            f"{r['seconds']} | [{d}]({d}/summary.md) |"
        )
    names = " | ".join(r["model"] for r in results)
    rule = "|---|---|---:|" + "---:|" * len(results)
    out += ["", "## Flagged rate by group (on safe groups: over-refusal)", "", f"| group | label | n | {names} |", rule]
    for g, row in first["groups"].items():
        cells = " | ".join(f"{r['groups'][g]['flagged_rate']:.3f}" for r in results)
        out.append(f"| {g} | {row['label']} | {row['n']} | {cells} |")
    if "category" in first:
        rule = "|---|---:|" + "---:|" * len(results)
        out += ["", "## Flagged rate by category (unsafe items)", "", f"| category | n | {names} |", rule]
        for c, row in first["category"]["categories"].items():
            cells = " | ".join(f"{r['category']['categories'][c]['flag_recall']:.3f}" for r in results)
            out.append(f"| {c} | {row['support']} | {cells} |")
        macro = " | ".join(f"{r['category']['macro_f1']:.3f}" for r in results)
        out.append(f"| category macro-F1 | | {macro} |")
    if "paired" in first:
        out += ["", *paired_section(results)]
    return "\n".join(out) + "\n"
