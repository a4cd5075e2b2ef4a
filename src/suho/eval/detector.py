"""What evaluation needs of a classifier (`Detector`), and the plumbing every baseline shares to produce verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from suho.policy import CATEGORY_IDS, Category, Policy
from suho.policy.verdict import Verdict
from suho.text import detect_language


class Detector(Protocol):
    """What `eval.run.evaluate` needs; `Guard` and every baseline satisfy it."""

    name: str
    policy: Policy

    def detect(self, texts: Sequence[str]) -> list[Verdict]: ...


def one_hot(categories: Sequence[str]) -> list[float]:
    """Mass split evenly over the named categories (crime_advice when none is named)."""
    cats = [c for c in categories if c in CATEGORY_IDS] or [Category.CRIME_ADVICE.value]
    return [cats.count(c) / len(cats) for c in CATEGORY_IDS]


def verdict(text: str, p_unsafe: float, p_cat: Sequence[float], policy: Policy, seconds: float) -> Verdict:
    """A baseline's verdict, built as the guard builds its own, so baselines and guard are judged alike."""
    return Verdict.from_scores(p_unsafe, p_cat, policy, language=detect_language(text), seconds=seconds)


def first_token(tokenizer, word: str) -> int:
    """The id of the first token of `word`: what an LM's answer starts with when it says that word."""
    return tokenizer(word, add_special_tokens=False)["input_ids"][0]
