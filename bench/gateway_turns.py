"""What the gateway's reading of earlier turns buys, measured on red-team data: MultiJail's Korean prompts (human
red-team requests translated by people, data/eval/multijail.csv, never trained on) each split over two user turns,
then checked exactly as the gateway checks a conversation (suho.serve.chat.texts_to_check + decisive, default
settings), with the shipped model.

    python bench/gateway_turns.py [--model DIR] [--policy ko-KR] [--json]

A prompt of two or more sentences is split between its sentences (turn 1 the first half), a one-sentence prompt at
the space nearest its middle. Reported, as the share of conversations the policy flags (block or caution):
  turn 2 alone        what a guard that reads each message by itself sees
  gateway             turn 2 alone and turns 1 + 2 joined, the more severe verdict deciding
  whole prompt        the unsplit prompt as one message (the reference)
and what it costs on safe traffic, Korean safe dev rows (never trained on) paired at random (seed 0, --pairs each):
  safe, safe          two safe turns
  red-team, safe      a safe question after a red-team turn (the gateway may hold the earlier turn against it)
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from pathlib import Path

from suho.guard import load_guard
from suho.policy import Action
from suho.serve.chat import Turn, decisive, texts_to_check
from suho.serve.settings import ServeSettings

ROOT = Path(__file__).resolve().parents[1]
_SENTENCE = re.compile(r"(?<=[.!?。？！…~])\s+")


def split_in_two(text: str) -> tuple[str, str]:
    sentences = [s for s in _SENTENCE.split(text.strip()) if s]
    if len(sentences) >= 2:
        half = len(sentences) // 2
        return " ".join(sentences[:half]), " ".join(sentences[half:])
    spaces = [m.start() for m in re.finditer(" ", text.strip())]
    if not spaces:
        return "", text
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return text[:cut], text[cut + 1 :]


class Reader:
    """guard.detect with each text's verdict kept: the same turn read alone in several series is scored once."""

    def __init__(self, guard):
        self.guard, self.actions = guard, {}

    def __call__(self, texts: list[str]) -> list[Action]:
        new = sorted({t for t in texts if t not in self.actions})
        for start in range(0, len(new), 64):  # in steps, so a long run shows its progress
            chunk = new[start : start + 64]
            self.actions.update(zip(chunk, (v.action for v in self.guard.detect(chunk)), strict=True))
            print(f"  {len(self.actions)} texts read", file=sys.stderr, flush=True)
        return [self.actions[t] for t in texts]


def flagged(read: Reader, conversations: list[list[str]], settings: ServeSettings) -> tuple[list[bool], int]:
    """Per conversation (its user turns), whether the gateway's reading flags it; and how many the joined text
    decided (flagged where the latest turn alone was not)."""
    checks = [
        texts_to_check(
            [Turn(i, t) for i, t in enumerate(c) if t],
            *(settings.context_turns, settings.context_chars),
            settings.max_chars,
        )
        for c in conversations
    ]
    every = read([t for texts in checks for t in texts])
    out, by_context, start = [], 0, 0
    for texts in checks:
        actions = every[start : start + len(texts)]
        start += len(texts)
        i = decisive(actions)
        out.append(actions[i] != Action.ALLOW)
        by_context += i == 1 and actions[i] != Action.ALLOW
    return out, by_context


def rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="suho model dir (default: the shipped one)")
    p.add_argument("--policy", default="ko-KR")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--pairs", type=int, default=150, help="safe conversations of each kind (default 150)")
    p.add_argument("--limit", type=int, help="the first N red-team prompts only (default: all 315)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    settings = ServeSettings()
    read = Reader(load_guard(args.model, policy=args.policy, threads=args.threads))
    guard = read.guard
    with (ROOT / "data" / "eval" / "multijail.csv").open(encoding="utf-8-sig") as fh:
        prompts = [r["ko"] for r in csv.DictReader(fh) if r["ko"].strip()][: args.limit]
    with (ROOT / "data" / "dev.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    safe = [r["text"] for r in rows if r["label"] == "safe" and r["language"] == "ko"]
    rng = random.Random(0)
    t0 = time.perf_counter()
    split = [split_in_two(t) for t in prompts]
    pairs = [rng.sample(safe, 2) for _ in range(args.pairs)]
    after = [[t, rng.choice(safe)] for t in rng.sample(prompts, min(args.pairs, len(prompts)))]

    def series(name: str, conversations: list[list[str]]) -> tuple[list[bool], int]:
        out = flagged(read, conversations, settings)  # each series said as it ends: a long run keeps what it found
        print(f"{name}: {sum(out[0])}/{len(out[0])} flagged", file=sys.stderr, flush=True)
        return out

    second, _ = series("red-team turn 2 alone", [[b] for _, b in split])
    gateway, by_context = series("red-team gateway", [[a, b] for a, b in split])
    safe_alone, _ = series("safe, safe: turn 2 alone", [[b] for _, b in pairs])
    safe_gateway, _ = series("safe, safe: gateway", pairs)
    after_alone, _ = series("red-team, safe: turn 2 alone", [[b] for _, b in after])
    after_gateway, _ = series("red-team, safe: gateway", after)
    whole, _ = series("red-team whole prompt", [[t] for t in prompts])
    result = {
        "model": guard.name,
        "policy": args.policy,
        "context_turns": settings.context_turns,
        "context_chars": settings.context_chars,
        "red_team_split": {
            "conversations": len(prompts),
            "turn2_alone": rate(second),
            "gateway": rate(gateway),
            "caught_by_context": by_context,
            "whole_prompt": rate(whole),
        },
        "safe_then_safe": {"conversations": len(pairs), "turn2_alone": rate(safe_alone), "gateway": rate(safe_gateway)},
        "red_team_then_safe": {
            "conversations": len(after),
            "turn2_alone": rate(after_alone),
            "gateway": rate(after_gateway),
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    r, s, a = result["red_team_split"], result["safe_then_safe"], result["red_team_then_safe"]
    print(f"{guard.name}, policy {args.policy}, context_turns {settings.context_turns}, {result['seconds']} s")
    print(f"MultiJail ko split in two turns ({r['conversations']}): flagged")
    print(
        f"  turn 2 alone {r['turn2_alone']:.1%}   gateway {r['gateway']:.1%} ({r['caught_by_context']} by the joined "
        f"turns)   whole prompt {r['whole_prompt']:.1%}"
    )
    print(
        f"safe, safe ({s['conversations']}): flagged  turn 2 alone {s['turn2_alone']:.1%}   gateway {s['gateway']:.1%}"
    )
    print(
        f"red-team, safe ({a['conversations']}): flagged  turn 2 alone {a['turn2_alone']:.1%}   gateway "
        f"{a['gateway']:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
