"""The decision rule, both forms: `decide` (one query) and `flagged` (many), run side by side on every case."""

import numpy as np
import pytest

from suho import Action, Category, Label, load_policy
from suho.policy import CATEGORY_IDS
from suho.policy.decision import decide, flagged, overridden
from suho.policy.overrides import Override

KO, EN = load_policy("ko-KR"), load_policy("en-US")
MIXED = EN.with_rule("copyright_infringement", action="allow").with_rule("crime_advice", threshold=0.3)


def _p(**kw):
    return [kw.get(c, 0.0) for c in CATEGORY_IDS]


def _both(p_unsafe, p_cat, policy):
    """`decide`'s decision, after checking that `flagged` labels the same scores the same way."""
    label, category, action, scores = decide(p_unsafe, p_cat, policy)
    row = np.array([[scores[c] for c in CATEGORY_IDS]])
    assert flagged(row, policy).tolist() == [label == Label.UNSAFE], (p_unsafe, p_cat, policy.name)
    return label, category, action, scores


@pytest.mark.parametrize(
    "p_unsafe,p_cat,policy,label,category,action",
    [
        (0.9, _p(crime_advice=1.0), KO, Label.UNSAFE, "crime_advice", Action.BLOCK),
        (0.2, _p(crime_advice=1.0), KO, Label.SAFE, None, Action.ALLOW),
        # split between two blocked harms: each below 0.5, together above -> still blocked
        (
            0.9,
            _p(crime_advice=0.45, privacy_violation=0.45, self_harm=0.1),
            KO,
            Label.UNSAFE,
            "crime_advice",
            Action.BLOCK,
        ),
        # prediction: block in ko-KR, caution in en-US
        (0.95, _p(uncertain_prediction=1.0), KO, Label.UNSAFE, "uncertain_prediction", Action.BLOCK),
        (0.95, _p(uncertain_prediction=1.0), EN, Label.UNSAFE, "uncertain_prediction", Action.CAUTION),
        # personification is allowed in en-US
        (0.95, _p(malicious_personification=1.0), EN, Label.SAFE, None, Action.ALLOW),
        # en-US: the top category is a caution one, but a blocked one ranked second still reaches its threshold
        (0.95, _p(uncertain_prediction=0.4, crime_advice=0.6), EN, Label.UNSAFE, "crime_advice", Action.BLOCK),
        # self-harm has a lower threshold
        (0.4, _p(self_harm=1.0), KO, Label.UNSAFE, "self_harm", Action.BLOCK),
        # an allowed category is ignored, however high it scores
        (0.99, _p(copyright_infringement=1.0), MIXED, Label.SAFE, None, Action.ALLOW),
    ],
)
def test_decide(p_unsafe, p_cat, policy, label, category, action):
    got_label, got_cat, got_action, scores = _both(p_unsafe, p_cat, policy)
    assert (got_label, got_cat, got_action) == (label, Category(category) if category else None, action)
    assert abs(sum(scores.values()) - p_unsafe * sum(p_cat)) < 1e-9


def test_policy_threshold_change_at_run_time():
    strict = KO.with_rule("uncertain_prediction", threshold=0.2)
    assert _both(0.3, _p(uncertain_prediction=1.0), KO)[0] == Label.SAFE
    assert _both(0.3, _p(uncertain_prediction=1.0), strict)[0] == Label.UNSAFE


@pytest.mark.parametrize("policy", [KO, EN, MIXED], ids=lambda p: p.name)
def test_both_forms_agree_on_random_scores(policy):
    rng = np.random.default_rng(1)
    p_unsafe = rng.random(400)
    p_cat = rng.dirichlet(np.full(len(CATEGORY_IDS), 0.3), size=400)
    want = [decide(float(u), c.tolist(), policy)[0] == Label.UNSAFE for u, c in zip(p_unsafe, p_cat)]
    assert flagged(p_unsafe[:, None] * p_cat, policy).tolist() == want
    assert 0 < sum(want) < len(want)  # the comparison covers both outcomes


def test_flagged_takes_other_thresholds_in_place_of_the_pack_s():
    scores = np.array([_p(crime_advice=0.4)])
    assert flagged(scores, KO).tolist() == [False]
    assert flagged(scores, KO, np.full(len(CATEGORY_IDS), 0.3)).tolist() == [True]


@pytest.mark.parametrize(
    "override,policy,want",
    [
        (Override("safe", None, text="x"), KO, (Label.SAFE, None, Action.ALLOW)),
        (Override("unsafe", "crime_advice", text="x"), KO, (Label.UNSAFE, Category.CRIME_ADVICE, Action.BLOCK)),
        (Override("unsafe", "uncertain_prediction", pattern="x"), EN, (Label.UNSAFE, Category.UNCERTAIN_PREDICTION,
                                                                        Action.CAUTION)),
        # the policy still acts on the category: an unsafe override in an allowed category is allowed
        (Override("unsafe", "malicious_personification", text="x"), EN, (Label.SAFE, None, Action.ALLOW)),
    ],
)  # fmt: skip
def test_an_override_decides_instead_of_the_scores(override, policy, want):
    assert overridden(override, policy) == want
    label, category, action, scores = decide(0.99 if want[0] == Label.SAFE else 0.01, _p(crime_advice=1.0), policy,
                                             override)  # fmt: skip
    assert (label, category, action) == want and set(scores) == set(CATEGORY_IDS)
