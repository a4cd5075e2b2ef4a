"""`suho check "TEXT"` / `suho check --file in.jsonl --out out.jsonl`: verdicts and safeguard replies."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from suho.cli import add_engine_args, engine_kwargs
from suho.policy import taxonomy


def add_parser(sub) -> None:
    p = sub.add_parser(
        "check",
        help="check texts with the guard",
        epilog='examples:\n  suho check "sns 계정 해킹하는 방법 알려줘"\n'
        '  suho check --policy en-US --json "Which stock will double next week?"\n'
        "  suho check --file queries.jsonl --out verdicts.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("texts", nargs="*", help="texts to check")
    p.add_argument("--file", type=Path, help="JSONL with a 'text' field per line (or plain text, one per line)")
    p.add_argument("--out", type=Path, help="write one JSON result per line here (with --file)")
    p.add_argument("--model", help="suho model dir (default: $SUHO_MODEL or the shipped models/suho-ko-270m)")
    p.add_argument("--policy", default="ko-KR", help="policy pack name or YAML path (default ko-KR)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable verdict")
    p.add_argument("--force-reply", action="store_true", help="generate a safeguard reply even for safe texts")
    p.add_argument("--no-reply", action="store_true", help="detection only")
    p.add_argument("--batch-size", type=int, default=32)
    add_engine_args(p)
    p.set_defaults(func=_run)


def result_dict(text: str, res) -> dict:
    v = res.verdict
    return {
        "text": text,
        "label": v.label.value,
        "category": v.category.value if v.category else None,
        "action": v.action.value,
        "p_unsafe": v.p_unsafe,
        "category_scores": v.category_scores,
        "model_category": v.model_category.value,
        "override": v.override,
        "policy": v.policy,
        "latency_ms": v.latency_ms,
        "reply": res.reply.text if res.reply else None,
    }


def _read_texts(path: Path) -> list[str]:
    texts = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError(f"{path}:{n}: needs a string field 'text'")
            texts.append(row["text"])
        else:
            texts.append(line)
    return texts


def _readable(text: str, res, lang: str) -> str:
    v = res.verdict
    names = taxonomy()
    head = "UNSAFE" if v.flagged else "SAFE"
    cat = f" · {names[v.category].name(lang)} ({v.category.value})" if v.category else ""
    lines = [f"{head} [{v.action.value}]{cat}  P(unsafe)={v.p_unsafe:.3f}  {v.latency_ms:.0f} ms  — {text}"]
    if res.reply:
        lines.append(f"  ↳ {res.reply.text}")
    return "\n".join(lines)


def _run(args) -> int:
    from tqdm import tqdm

    from suho.guard import CheckResult, load_guard

    if args.file:
        texts = _read_texts(args.file)
    else:
        texts = args.texts or (
            [line for line in sys.stdin.read().splitlines() if line.strip()] if not sys.stdin.isatty() else []
        )
    if not texts:
        raise ValueError("no texts: pass TEXT arguments, --file, or lines on standard input")
    guard = load_guard(args.model, policy=args.policy, batch_size=args.batch_size, **engine_kwargs(args))
    lang = "ko" if guard.policy.culture.startswith("ko") else "en"
    out = args.out.open("w", encoding="utf-8") if args.out else None
    failed = 0
    try:
        bar = tqdm(total=len(texts), desc="check", disable=len(texts) < 64, file=sys.stderr)
        for start in range(0, len(texts), 256):
            chunk = texts[start : start + 256]
            for text, res in zip(chunk, _check_chunk(guard, chunk, args)):
                row = result_dict(text, res) if isinstance(res, CheckResult) else {"text": text, "error": res}
                failed += isinstance(res, str)
                if out:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                elif args.json:
                    print(json.dumps(row, ensure_ascii=False))
                else:
                    print(_readable(text, res, lang) if isinstance(res, CheckResult) else f"ERROR — {res}")
            bar.update(len(chunk))
        bar.close()
    finally:
        if out:
            out.close()
    if failed:
        print(
            f"suho check: {failed} of {len(texts)} text(s) could not be checked (rows with an 'error')", file=sys.stderr
        )
    return 1 if failed else 0


def _check_chunk(guard, chunk: list[str], args) -> list:
    """CheckResults for a chunk; if one text is refused (e.g. too long), the others are checked one by one and the
    refused one gets its error message instead, so a bulk run loses nothing."""
    from suho.guard import CheckResult

    def run(texts):
        if args.no_reply:
            return [CheckResult(v) for v in guard.detect(texts)]
        return guard.check(texts, force_reply=args.force_reply)

    try:
        return run(chunk)
    except (ValueError, TypeError):
        out = []
        for text in chunk:
            try:
                out.append(run([text])[0])
            except (ValueError, TypeError) as exc:
                out.append(str(exc))
        return out
