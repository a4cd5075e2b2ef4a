"""`suho check "TEXT"` / `suho check --file in.jsonl --out out.jsonl`: verdicts and safeguard replies."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from suho.cli import MODEL_HELP, add_command, add_engine_args, engine_kwargs
from suho.policy import taxonomy
from suho.policy.verdict import CheckResult
from suho.text.normalize import text_problem

EXAMPLES = """examples:
  suho check "sns 계정 해킹하는 방법 알려줘"
  suho check --policy en-US --json "Which stock will double next week?"
  suho check --file queries.jsonl --out verdicts.jsonl"""


def add_parser(sub) -> None:
    p = add_command(sub, "check", "check texts with the guard", EXAMPLES)
    p.add_argument("texts", nargs="*", help="texts to check")
    p.add_argument(
        "--file",
        type=Path,
        help="texts to check: .jsonl/.json with a string field 'text' per row (JSON lines or one JSON array; the row's "
        "other fields are copied to its result, renamed input_<name> where a result field has that name), or plain "
        "text, one per line",
    )
    p.add_argument("--out", type=Path, help="write one JSON result per line here (never the --file itself)")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--policy", default="ko-KR", help="policy pack name or YAML path (default ko-KR)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable verdict")
    p.add_argument("--force-reply", action="store_true", help="generate a safeguard reply even for safe texts")
    p.add_argument("--no-reply", action="store_true", help="detection only")
    p.add_argument("--batch-size", type=int, default=32)
    add_engine_args(p)
    p.set_defaults(func=_run)


def result_dict(text: str, res: CheckResult) -> dict:
    """One output row: the text, its verdict and reply (`CheckResult.to_dict`), and no error."""
    return {"text": text, **res.to_dict(), "error": None}


MAX_LISTED_ERRORS = 20


def read_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, row) per text of a --file: `where` is `path:line` (or `path[i]` in a JSON array), `row` has a string
    'text' and whatever else the input row carried. Every bad row is named in one error before anything is checked,
    so a bulk run never stops half-way on bad input."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix not in (".jsonl", ".json"):
        return [(f"{path}:{n}", {"text": line}) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
    items: list[tuple[str, object]] = []
    errors: list[str] = []
    if raw.lstrip().startswith("["):  # one JSON array of rows
        try:
            array = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a JSON array: {exc}") from exc
        items = [(f"{path}[{i}]", row) for i, row in enumerate(array)]
    else:
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"{path}:{n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(f"{path}:{n}: not JSON: {exc}")
    rows = []
    for where, row in items:
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            errors.append(f"{where}: needs a string field 'text'")
        else:
            rows.append((where, row))
    if errors:
        more = f"\n  … and {len(errors) - MAX_LISTED_ERRORS} more" if len(errors) > MAX_LISTED_ERRORS else ""
        listed = "\n  ".join(errors[:MAX_LISTED_ERRORS])
        raise ValueError(f"{len(errors)} bad row(s), nothing was checked:\n  {listed}{more}")
    return rows


def json_line(row: dict) -> str:
    """One JSON line, readable (non-ASCII kept) unless a text holds a lone surrogate, which only an escape can carry."""
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(row)
    return line


def output_row(row: dict, result: dict) -> dict:
    """The result, after the input row's own fields (an id, a label): one the result also names is kept as
    input_<name>, so nothing of the input is lost."""
    kept = {(f"input_{k}" if k in result else k): v for k, v in row.items() if k != "text"}
    return {**kept, **result}


def _readable(text: str, res, lang: str) -> str:
    v = res.verdict
    names = taxonomy()
    head = "UNSAFE" if v.flagged else "SAFE"
    cat = f" · {names[v.category].name(lang)} ({v.category.value})" if v.category else ""
    lines = [f"{head} [{v.action.value}]{cat}  P(unsafe)={v.p_unsafe:.3f}  {v.latency_ms:.0f} ms  — {text}"]
    if v.override:
        lines.append(f"  decided by the policy's override ({v.override})")
    if res.reply:
        lines.append(f"  ↳ {res.reply.text}")
    return "\n".join(lines)


def _run(args) -> int:
    from tqdm import tqdm

    from suho.guard import load_guard

    if args.file:
        if args.out and args.out.resolve() == args.file.resolve():
            raise ValueError(f"--out {args.out} is the --file itself: it would be overwritten; write elsewhere")
        rows = read_rows(args.file)
    else:
        texts = args.texts or (
            [line for line in sys.stdin.read().splitlines() if line.strip()] if not sys.stdin.isatty() else []
        )
        for i, text in enumerate(texts, 1):
            problem = text_problem(text)
            if problem:
                raise ValueError(f"text {i} {problem}")
        rows = [(f"text {i}", {"text": t}) for i, t in enumerate(texts, 1)]
    if not rows:
        raise ValueError("no texts: pass TEXT arguments, --file, or lines on standard input")
    guard = load_guard(args.model, policy=args.policy, batch_size=args.batch_size, **engine_kwargs(args))
    lang = "ko" if guard.policy.culture.startswith("ko") else "en"
    out = args.out.open("w", encoding="utf-8") if args.out else None
    failed = 0
    try:
        bar = tqdm(total=len(rows), desc="check", disable=len(rows) < 64, file=sys.stderr)
        for start in range(0, len(rows), 256):
            chunk = rows[start : start + 256]
            for (_, row), res in zip(chunk, _check_chunk(guard, chunk, args)):
                text = row["text"]
                result = result_dict(text, res) if isinstance(res, CheckResult) else {"text": text, "error": res}
                failed += isinstance(res, str)
                if out:
                    out.write(json_line(output_row(row, result)) + "\n")
                elif args.json:
                    print(json_line(output_row(row, result)))
                else:
                    print(_readable(text, res, lang) if isinstance(res, CheckResult) else f"ERROR — {res}")
            bar.update(len(chunk))
        bar.close()
    finally:
        if out:
            out.close()
    if failed:
        print(
            f"suho check: {failed} of {len(rows)} text(s) could not be checked (rows with an 'error')", file=sys.stderr
        )
    return 1 if failed else 0


def _check_chunk(guard, chunk: list[tuple[str, dict]], args) -> list:
    """CheckResults for a chunk of (where, row); a text the guard refuses (empty, too long) gets its error message,
    naming where it came from, and the others are still checked, so a bulk run loses nothing."""

    def run(texts):
        if args.no_reply:
            return [CheckResult(v) for v in guard.detect(texts)]
        return guard.check(texts, force_reply=args.force_reply)

    problems = [text_problem(row["text"]) for _, row in chunk]
    out: list = [f"{where}: text {p}" if p else None for (where, _), p in zip(chunk, problems, strict=True)]
    todo = [i for i, p in enumerate(problems) if not p]
    try:
        for i, res in zip(todo, run([chunk[i][1]["text"] for i in todo]) if todo else []):
            out[i] = res
    except (ValueError, TypeError):
        for i in todo:
            try:
                out[i] = run([chunk[i][1]["text"]])[0]
            except (ValueError, TypeError) as exc:
                out[i] = f"{chunk[i][0]}: {exc}"
    return out
