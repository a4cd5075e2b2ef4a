"""The decision rule: how a policy turns the model's probabilities into block / caution / allow.

Per category, score s_c = P(unsafe) * P(c | unsafe). Categories the policy `allow`s are ignored. If the summed score
of the `block` categories reaches the threshold of the highest-scoring one, the verdict is block (category = that
one); otherwise, if the summed score of the `block` + `caution` categories reaches the threshold of the highest of
those, it is caution. Summing keeps a query that the model splits between two harms (e.g. crime vs. privacy) from
slipping under both thresholds. Switching policy needs no new forward pass: the scores carry all of it.

The rule has two forms, both here: `decide` for one query (the guard, every baseline), `flagged` for many at once
(threshold fitting, `suho.policy.calibrate`). Both walk `STEPS`, and a test runs them side by side on every case.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from suho.policy.overrides import Override
from suho.policy.pack import Action, Policy
from suho.policy.taxonomy import CATEGORY_IDS, Category, Label

# (the actions whose categories are summed, the action the verdict then takes), tried in this order
STEPS: tuple[tuple[frozenset[Action], Action], ...] = (
    (frozenset({Action.BLOCK}), Action.BLOCK),
    (frozenset({Action.BLOCK, Action.CAUTION}), Action.CAUTION),
)


def step_categories(policy: Policy, actions: frozenset[Action]) -> list[str]:
    """The categories one step of the rule sums: those whose action under `policy` is in `actions`."""
    return [c for c in CATEGORY_IDS if policy.rule(c).action in actions]


def decide(
    p_unsafe: float, p_cat: Sequence[float], policy: Policy, override: Override | None = None
) -> tuple[Label, Category | None, Action, dict[str, float]]:
    """(label, category acted on, action, per-category scores) for one query.

    `override` is the pack's override for this query: it decides instead of the probabilities (the scores are the
    model's either way)."""
    scores = {c: float(p_unsafe * p) for c, p in zip(CATEGORY_IDS, p_cat)}
    if override is not None:
        return (*overridden(override, policy), scores)
    for actions, action in STEPS:
        cats = step_categories(policy, actions)
        if not cats:
            continue
        top = max(cats, key=lambda c: scores[c])
        if sum(scores[c] for c in cats) >= policy.rule(top).threshold:
            return Label.UNSAFE, Category(top), action, scores
    return Label.SAFE, None, Action.ALLOW, scores


def overridden(override: Override, policy: Policy) -> tuple[Label, Category | None, Action]:
    """The decision a policy override gives: it replaces the model's reading, and the policy still acts on it (an
    unsafe override in a category the policy allows is allowed)."""
    if override.label == Label.SAFE.value or override.category is None:
        return Label.SAFE, None, Action.ALLOW
    action = policy.rule(override.category).action
    if action == Action.ALLOW:
        return Label.SAFE, None, Action.ALLOW
    return Label.UNSAFE, Category(override.category), action


def policy_thresholds(policy: Policy) -> np.ndarray:
    """The policy's thresholds [10], in `CATEGORY_IDS` order."""
    return np.array([policy.rule(c).threshold for c in CATEGORY_IDS], dtype=float)


def flagged(category_scores: np.ndarray, policy: Policy, thresholds: np.ndarray | None = None) -> np.ndarray:
    """bool [N]: which rows of `category_scores` [N, 10] `decide` labels unsafe under `policy`, with `thresholds`
    [10] in place of the pack's when given (no overrides: they are matched on text, not scores)."""
    t = policy_thresholds(policy) if thresholds is None else np.asarray(thresholds, dtype=float)
    s = category_scores.astype(float)
    out = np.zeros(len(s), dtype=bool)
    for actions, _ in STEPS:
        cols = np.array([CATEGORY_IDS.index(c) for c in step_categories(policy, actions)])
        if len(cols) == 0:
            continue
        part = s[:, cols]
        top = cols[part.argmax(1)]
        out |= part.sum(1) >= t[top]
    return out
