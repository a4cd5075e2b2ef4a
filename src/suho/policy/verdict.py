"""What the guard returns: `Verdict` (a decision on one text), `Reply` (a safeguard reply) and `CheckResult` (both).

A verdict is built in one place, `Verdict.from_scores`, by the guard and by every baseline alike, and serialises
itself with `to_dict()`, which the command line, the HTTP server and evaluation use instead of picking fields by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from suho.policy.decision import decide
from suho.policy.overrides import Override
from suho.policy.pack import Action, Policy
from suho.policy.taxonomy import CATEGORY_IDS, Category, Label
from suho.text.normalize import normalize_query


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one text under one policy."""

    label: Label
    category: Category | None  # the category the policy acted on (None when safe)
    action: Action  # block / caution / allow
    p_unsafe: float
    category_scores: dict[str, float]  # P(unsafe) * P(category | unsafe), every category
    model_category: Category  # the model's top category, whatever the policy says
    language: str
    policy: str
    latency_ms: float
    # the policy override that decided this verdict instead of the model's scores ("text: ..." / "pattern: ...")
    override: str | None = None

    @classmethod
    def from_scores(
        cls,
        p_unsafe: float,
        p_cat: Sequence[float],
        policy: Policy,
        *,
        language: str,
        seconds: float,
        override: Override | None = None,
    ) -> Verdict:
        """The verdict `policy` gives to P(unsafe) and P(category | unsafe) [10] (or the pack's `override` for this
        text), rounded as reported: probabilities to 6 decimals, latency to 0.01 ms."""
        label, category, action, scores = decide(p_unsafe, p_cat, policy, override)
        top = max(range(len(CATEGORY_IDS)), key=lambda i: p_cat[i])  # the first of equal maxima
        return cls(
            label=label,
            category=category,
            action=action,
            p_unsafe=round(float(p_unsafe), 6),
            category_scores={k: round(v, 6) for k, v in scores.items()},
            model_category=Category(CATEGORY_IDS[top]),
            language=language,
            policy=policy.name,
            latency_ms=round(seconds * 1000, 2),
            override=override.describe() if override is not None else None,
        )

    @property
    def flagged(self) -> bool:
        return self.label == Label.UNSAFE

    def under(self, policy: Policy, text: str | None = None) -> Verdict:
        """This verdict decided under another policy, without another forward pass (the scores carry all of it).

        A policy with overrides also needs the query `text` (as given to `detect`), to match them."""
        if policy.overrides and text is None:
            raise ValueError(f"policy {policy.name!r} has overrides: pass the query text to match them")
        ov = policy.overrides.match(normalize_query(text)) if policy.overrides else None
        scores = [self.category_scores[c] for c in CATEGORY_IDS]
        label, category, action, _ = decide(1.0, scores, policy, ov)
        override = ov.describe() if ov is not None else None
        return replace(self, label=label, category=category, action=action, policy=policy.name, override=override)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: enums as their values."""
        return {
            "language": self.language,
            "label": self.label.value,
            "category": self.category.value if self.category else None,
            "action": self.action.value,
            "p_unsafe": self.p_unsafe,
            "category_scores": dict(self.category_scores),
            "model_category": self.model_category.value,
            "override": self.override,
            "policy": self.policy,
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True)
class Reply:
    text: str
    category: Category
    language: str
    truncated: bool = False  # hit max_new_tokens before the end-of-turn token
    fallback: bool = False  # generation was empty; a fixed reply was used instead
    crisis_line_added: bool = False  # self-harm reply lacked the policy's crisis line; the guard appended it
    template: bool = False  # the taxonomy's fixed reply (policy reply_mode: template), not generated


@dataclass(frozen=True)
class CheckResult:
    verdict: Verdict
    reply: Reply | None = None

    def to_dict(self) -> dict[str, Any]:
        """`Verdict.to_dict()` and the reply's text (None when there is none)."""
        return {**self.verdict.to_dict(), "reply": self.reply.text if self.reply else None}
