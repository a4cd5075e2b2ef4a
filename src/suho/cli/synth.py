"""`suho synth`: synthetic harmful queries, safe look-alikes and safeguard replies from a teacher LLM."""

from __future__ import annotations

import sys

from suho.cli import add_command
from suho.cli.config import add_config_args, resolve_config
from suho.synth.run import SynthConfig, SynthReport, preview, synthesize

EXAMPLES = """examples:
  # a local vLLM / llama.cpp / Ollama server, 50 harmful + 50 look-alike Korean rows per category, with replies
  suho synth --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-72B-Instruct --per-category 50

  # OpenAI, two categories, English, key read from $OPENAI_API_KEY
  suho synth --base-url https://api.openai.com/v1 --model gpt-4o-mini --language en \\
      --categories crime_advice self_harm --out data/synth/en.jsonl

  # show the prompts without calling anything
  suho synth --dry-run --categories self_harm --kinds harmful reply

Re-running the same command resumes: rows already in --out count towards --per-category."""


def add_parser(sub) -> None:
    p = add_command(
        sub, "synth", "generate synthetic training data with a teacher LLM (OpenAI-compatible API)", EXAMPLES
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the first prompt of each category and kind, call nothing"
    )
    add_config_args(p, SynthConfig)
    p.set_defaults(func=_run)


def _run(args) -> int:
    cfg = resolve_config(SynthConfig, args.config, args)
    if args.dry_run:
        for category, kind, messages in preview(cfg):
            print(f"===== {category} / {kind} =====")
            for m in messages:
                print(f"[{m['role']}]\n{m['content']}\n")
        return 0
    report = synthesize(cfg, log=lambda m: print(f"[synth] {m}", file=sys.stderr, flush=True))
    print(render(report, cfg))
    return 0


def render(report: SynthReport, cfg: SynthConfig) -> str:
    """A Markdown summary: rows per category and kind against the target, rejections, what ran dry."""
    lines = [
        f"## {report.out} ({cfg.language}, target {cfg.per_category} per category and kind)\n",
        "| category | kind | before | new | total |",
        "|---|---|---:|---:|---:|",
    ]
    for key in sorted(set(report.existing) | set(report.written)):
        before, new = report.existing[key], report.written[key]
        lines.append(f"| {key[0]} | {key[1]} | {before} | {new} | {before + new} |")
    lines.append(f"\nsafeguard replies stored: {report.replies}")
    if report.rejected:
        lines.append("rejected: " + ", ".join(f"{r} {n}" for r, n in report.rejected.most_common()))
    if report.exhausted:
        lines.append("stopped short (no new rows in a row): " + ", ".join(f"{c}/{k}" for c, k in report.exhausted))
    lines.append(
        f"requests: {report.requests}; tokens: {report.prompt_tokens} prompt + {report.completion_tokens} completion"
    )
    return "\n".join(lines)
