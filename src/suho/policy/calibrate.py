"""Fit a policy's per-category thresholds to labelled data, and say honestly whether the fit generalises.

A service knows its own traffic: it may want fewer refusals of look-alike questions at some cost in recall, or the
best F1 on its own labelled sample. `calibrate` searches the thresholds of every non-`allow` category (coordinate
ascent over a grid, deterministic) — or, with `shift=True`, one number for all of them: every non-`allow` threshold t
becomes sigmoid(logit(t) - b), the same move in logit space, so the pack's relative thresholds stay and only the
model's operating point is fitted (one parameter instead of ten) — for one of two objectives:

- `f1`: the best weighted F1 (safe/unsafe) on the data;
- `max_flag_rate=x`: the best unsafe recall while at most a share `x` of the constrained safe items (all safe items, or
  only look-alikes) is flagged.

Ten thresholds fitted on a thousand items can fit noise, so the same search is also run on random halves of the data
and scored on the other halves (repeated 2-fold cross-fitting); `Calibration.helps` is False when, on held-out
halves, the fitted thresholds do no better than the pack's own. Items are decided by `suho.policy.decision.flagged`,
the vectorised form of the guard's rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suho.policy.decision import flagged, policy_thresholds
from suho.policy.pack import Action, Policy, policy_from_dict
from suho.policy.taxonomy import CATEGORY_IDS

GRID = tuple(round(x, 2) for x in np.arange(0.05, 0.96, 0.05))
SHIFT_GRID = tuple(round(x, 2) for x in np.arange(-3.0, 3.001, 0.05))  # logit units; b > 0 flags more


@dataclass(frozen=True)
class Scores:
    """A labelled set as the policy sees it: `Verdict.category_scores` [N, 10] (P(unsafe) * P(category | unsafe), in
    `CATEGORY_IDS` order), the truth, and which safe items `max_flag_rate` bounds."""

    category_scores: np.ndarray
    unsafe: np.ndarray  # bool [N]: the item's label is unsafe
    constrained: np.ndarray  # bool [N]: safe items whose flag rate `max_flag_rate` bounds

    def __post_init__(self):
        n = len(self.category_scores)
        shapes = (self.category_scores.shape, self.unsafe.shape, self.constrained.shape)
        if shapes != ((n, len(CATEGORY_IDS)), (n,), (n,)):
            raise ValueError("Scores: category_scores [N, 10], unsafe [N] and constrained [N] must agree")
        if n == 0:
            raise ValueError("Scores: no items")

    def subset(self, idx: np.ndarray) -> Scores:
        return Scores(self.category_scores[idx], self.unsafe[idx], self.constrained[idx])


@dataclass(frozen=True)
class Operating:
    """How a set of thresholds does on some items."""

    weighted_f1: float
    unsafe_recall: float
    safe_flag_rate: float  # share of all safe items flagged
    constrained_flag_rate: float  # share of the constrained safe items flagged


@dataclass(frozen=True)
class Calibration:
    policy: Policy  # the input policy with the fitted thresholds
    objective: str
    before: Operating  # the input policy's thresholds, on all the data
    after: Operating  # the fitted thresholds, on the same data (optimistic: fitted there)
    heldout_before: Operating  # the input thresholds on held-out halves (mean over folds)
    heldout_after: Operating  # thresholds fitted on one half, scored on the other (mean over folds)
    folds: int
    helps: bool  # the objective is better at heldout_after than at heldout_before
    shift: float | None = None  # shift=True: the fitted logit shift b on all the data (None: per-category fit)


def weighted_f1(unsafe: np.ndarray, pred: np.ndarray) -> float:
    """The support-weighted F1 over safe and unsafe (`suho.eval.metrics.binary_table`'s "weighted" row) from boolean
    arrays, in plain numpy: the fit calls it thousands of times."""
    total = 0.0
    for cls in (True, False):
        truth, guess = unsafe == cls, pred == cls
        denom = float(truth.sum() + guess.sum())
        total += (2 * float((truth & guess).sum()) / denom if denom else 0.0) * float(truth.sum())
    return total / len(unsafe)


def operating(scores: Scores, pred: np.ndarray) -> Operating:
    y = scores.unsafe
    safe = ~y
    return Operating(
        weighted_f1=weighted_f1(y, pred),
        unsafe_recall=float(pred[y].mean()) if y.any() else 0.0,
        safe_flag_rate=float(pred[safe].mean()) if safe.any() else 0.0,
        constrained_flag_rate=float(pred[scores.constrained].mean()) if scores.constrained.any() else 0.0,
    )


def check_max_flag_rate(value: float | None, name: str = "max_flag_rate") -> None:
    """A flag-rate bound must be a share below 1 (callers check it before scoring anything, which takes a while)."""
    if value is not None and not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value:g}")


def calibrate(
    scores: Scores,
    policy: Policy,
    max_flag_rate: float | None = None,
    grid: tuple[float, ...] = GRID,
    rounds: int = 3,
    repeats: int = 5,
    seed: int = 0,
    shift: bool = False,
    shift_grid: tuple[float, ...] = SHIFT_GRID,
) -> Calibration:
    """Fit the thresholds (see the module docstring) and estimate on held-out halves whether that helps."""
    check_max_flag_rate(max_flag_rate)
    if max_flag_rate is not None and not scores.constrained.any():
        raise ValueError("max_flag_rate needs constrained safe items, and the data has none")
    if not scores.unsafe.any() or scores.unsafe.all():
        raise ValueError("calibration data needs both safe and unsafe items")
    tuned = [i for i, c in enumerate(CATEGORY_IDS) if policy.rule(c).action != Action.ALLOW]
    if not tuned:
        raise ValueError(f"policy {policy.name} allows every category: there is no threshold to fit")

    def value(op: Operating) -> float:
        if max_flag_rate is None:
            return op.weighted_f1
        # feasible points rank by recall; infeasible ones below all of them, the less over the limit the better
        over = op.constrained_flag_rate - max_flag_rate
        return op.unsafe_recall if over <= 1e-12 else -over

    def objective(sc: Scores, t: np.ndarray) -> float:
        return value(operating(sc, flagged(sc.category_scores, policy, t)))

    base = policy_thresholds(policy)

    def fit(sc: Scores) -> tuple[np.ndarray, float | None]:
        """The fitted thresholds, and the logit shift b when `shift` (else None)."""
        return fit_shift(sc) if shift else (fit_each(sc), None)

    def fit_shift(sc: Scores) -> tuple[np.ndarray, float]:
        # b = 0 (the pack, unchanged) first; a move must strictly improve, and among equals the smallest |b| wins
        best_t, best_b, best = base, 0.0, objective(sc, base)
        for b in sorted(shift_grid, key=abs):
            t = shifted(base, b, tuned)
            v = objective(sc, t)
            if v > best + 1e-12:
                best_t, best_b, best = t, float(b), v
        return best_t, best_b

    def fit_each(sc: Scores) -> np.ndarray:
        t = base
        best = objective(sc, t)
        for _ in range(rounds):
            changed = False
            for i in tuned:
                for g in grid:
                    if g == t[i]:
                        continue
                    trial = t.copy()
                    trial[i] = g
                    v = objective(sc, trial)
                    if v > best + 1e-12:
                        best, t, changed = v, trial, True
            if not changed:
                break
        return t

    fitted, fitted_shift = fit(scores)
    rng = np.random.default_rng(seed)
    held_before, held_after = [], []
    strata = [np.flatnonzero(scores.unsafe), np.flatnonzero(~scores.unsafe)]
    for _ in range(repeats):
        halves = [[], []]
        for idx in strata:  # stratified halves: each keeps the label mix
            perm = rng.permutation(idx)
            halves[0].append(perm[: len(perm) // 2])
            halves[1].append(perm[len(perm) // 2 :])
        a, b = (np.concatenate(h) for h in halves)
        for train, test in ((a, b), (b, a)):
            t, _ = fit(scores.subset(train))
            held = scores.subset(test)
            held_before.append(operating(held, flagged(held.category_scores, policy, base)))
            held_after.append(operating(held, flagged(held.category_scores, policy, t)))
    data = policy.to_dict()
    for i in tuned:
        data["categories"][CATEGORY_IDS[i]]["threshold"] = float(fitted[i])
    return Calibration(
        policy=policy_from_dict(data, source=f"{policy.name} (calibrated)"),
        objective=("f1" if max_flag_rate is None else f"recall at flag rate <= {max_flag_rate:g}")
        + (", one logit shift for every threshold" if shift else ""),
        before=operating(scores, flagged(scores.category_scores, policy, base)),
        after=operating(scores, flagged(scores.category_scores, policy, fitted)),
        heldout_before=_mean(held_before),
        heldout_after=_mean(held_after),
        folds=2 * repeats,
        helps=value(_mean(held_after)) > value(_mean(held_before)),
        shift=fitted_shift,
    )


def shifted(thresholds: np.ndarray, b: float, which: list[int]) -> np.ndarray:
    """`thresholds` with those at `which` moved by -b in logit space (b > 0 lowers them: more is flagged), rounded to
    3 decimals so that the written pack decides exactly as the fit did."""
    out = np.asarray(thresholds, dtype=float).copy()
    t = out[which]  # a pack's thresholds lie strictly between 0 and 1, so the logit is finite
    moved = 1 / (1 + np.exp(b - (np.log(t) - np.log1p(-t))))
    out[which] = np.clip(np.round(moved, 3), 0.001, 0.999)  # a pack needs 0 < threshold < 1
    return out


def _mean(ops: list[Operating]) -> Operating:
    return Operating(*(float(np.mean([getattr(o, f) for o in ops])) for f in Operating.__dataclass_fields__))
