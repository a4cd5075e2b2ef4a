"""`suho eval-replies`: generate safeguard replies for unsafe benchmark items and measure them (suho.eval.replies)."""

from __future__ import annotations

import json
from pathlib import Path

from suho.cli import MODEL_HELP, add_command

EXAMPLES = """examples:
  suho eval-replies --benchmark dev --per-category 3
  suho eval-replies --judge gpt-4o-mini --base-url https://api.openai.com/v1   # + LLM-judged harmless/helpful scores"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "eval-replies",
        "measure generated safeguard replies (language, crisis line, diversity; optionally an LLM judge)",
        EXAMPLES,
        description="For up to --per-category unsafe items per category and language, generate the model's reply "
        "(reply_mode: generated, whatever the pack says) and check its language, whether the guard flags it, the "
        "crisis line of self-harm replies, its length and diversity.",
    )
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--benchmark", default="dev")
    p.add_argument("--per-category", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path("reports/replies"))
    p.add_argument("--judge", metavar="MODEL", help="OpenAI-compatible chat model that scores each reply")
    p.add_argument("--base-url", help="the judge's endpoint (default $OPENAI_BASE_URL, else OpenAI's API)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the judge's key")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from suho.eval.benchmarks import load_benchmark
    from suho.eval.replies import add_judgement, evaluate_replies, render, sample_items
    from suho.guard import load_guard

    client = None
    if args.judge:
        from suho.synth.client import ChatClient, resolve_base_url

        client = ChatClient(resolve_base_url(args.base_url), args.judge, api_key_env=args.api_key_env)
    guard = load_guard(args.model)  # replies use each language's pack (eval.replies.POLICY_FOR)
    res = evaluate_replies(guard, sample_items(load_benchmark(args.benchmark), args.per_category))
    if client is not None:
        add_judgement(res, client)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "replies.jsonl").open("w", encoding="utf-8") as fh:
        for r in res["rows"]:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (args.out / "summary.md").write_text(render(res["summary"]), encoding="utf-8")
    print(render(res["summary"]))
    return 0
