"""Long inputs judged as a whole: is a benign long text flagged more often than its sentences alone?

For each long text of the held-out benchmarks (real Korean Q&A-site questions, team-written long requests, real English
prompts) the guard's verdict on the whole text is compared with its verdicts on each sentence checked on its own. A
benign text must not become unsafe by being longer: the figure to watch is the share of benign texts flagged as a
whole while none of their sentences is flagged alone. For harmful long texts the same table shows whether the whole
reading keeps the harm that a sentence alone shows.

    python bench/long_inputs.py [--model DIR] [--min-chars 100] [--limit 300] [--out reports/long_inputs.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from suho.eval.benchmarks import load_benchmark
from suho.guard import load_guard

SENTENCE_END = re.compile(r"(?<=[.!?。？！…~\n])\s+|\n+")
BENCHMARKS = ("real-ko", "long-ko", "real-en")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if len(s.strip()) >= 4]


def bucket(n_tokens: int, whole_tokens: int) -> str:
    return "read whole" if n_tokens <= whole_tokens else "read in windows"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="suho model dir (default: $SUHO_MODEL or the shipped model)")
    ap.add_argument("--min-chars", type=int, default=100, help="texts at least this long (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=300, help="at most this many texts per benchmark and label")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)

    guard = load_guard(args.model) if args.model else load_guard()
    rows = []
    for name in BENCHMARKS:
        items = [it for it in load_benchmark(name) if len(it.text) >= args.min_chars]
        for label in ("safe", "unsafe"):
            picked = [it for it in items if it.label == label][: args.limit]
            rows += [(name, it) for it in picked if len(sentences(it.text)) >= 2]
    whole = guard.detect([it.text for _, it in rows])
    parts = [sentences(it.text) for _, it in rows]
    flat = guard.detect([s for ps in parts for s in ps])
    whole_tokens = guard.scorer.windower.whole_tokens
    table: dict[tuple[str, str, str], dict[str, int]] = {}
    k = 0
    for (name, it), v, ps in zip(rows, whole, parts):
        alone = flat[k : k + len(ps)]
        k += len(ps)
        n_tokens = len(guard.tokenizer(it.text, add_special_tokens=False)["input_ids"])
        key = (name, it.label, bucket(n_tokens, whole_tokens))
        t = table.setdefault(key, {"n": 0, "whole_flagged": 0, "any_sentence_flagged": 0, "whole_only": 0})
        any_alone = any(a.flagged for a in alone)
        t["n"] += 1
        t["whole_flagged"] += v.flagged
        t["any_sentence_flagged"] += any_alone
        t["whole_only"] += v.flagged and not any_alone
    print(f"model {guard.name}; texts of at least {args.min_chars} characters; read whole up to {whole_tokens} tokens")
    print("| benchmark | label | reading | n | flagged whole | any sentence alone flagged | flagged whole only |")
    print("|---|---|---|---:|---:|---:|---:|")
    out = []
    for (name, label, reading), t in sorted(table.items()):
        n = t["n"]
        print(
            f"| {name} | {label} | {reading} | {n} | {t['whole_flagged'] / n:.3f} | "
            f"{t['any_sentence_flagged'] / n:.3f} | {t['whole_only'] / n:.3f} |"
        )
        out.append({"benchmark": name, "label": label, "reading": reading, **t})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": guard.name, "rows": out}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
