"""Verdicts (suho.policy.verdict): built from scores in one place, re-decided under another policy, serialised."""

import json

import pytest

from suho import Action, Category, CheckResult, Label, Reply, Verdict, load_policy
from suho.policy import CATEGORY_IDS
from suho.policy.overrides import Override

KO, EN = load_policy("ko-KR"), load_policy("en-US")


def _p(**kw):
    return [kw.get(c, 0.0) for c in CATEGORY_IDS]


def test_from_scores_decides_rounds_and_names_the_model_s_top_category():
    v = Verdict.from_scores(0.9512345678, _p(uncertain_prediction=0.7, crime_advice=0.3), EN, language="en",
                            seconds=0.0123456)  # fmt: skip
    assert (v.label, v.category, v.action) == (Label.UNSAFE, Category.UNCERTAIN_PREDICTION, Action.CAUTION)
    assert v.p_unsafe == 0.951235 and v.latency_ms == 12.35 and v.policy == "en-US" and v.override is None
    assert v.category_scores["uncertain_prediction"] == round(0.9512345678 * 0.7, 6)
    assert v.model_category == Category.UNCERTAIN_PREDICTION and v.flagged


def test_an_override_is_named_and_the_model_category_kept():
    ov = Override("safe", None, text="x")
    v = Verdict.from_scores(0.99, _p(crime_advice=1.0), KO, language="ko", seconds=0, override=ov)
    assert (v.label, v.action, v.override) == (Label.SAFE, Action.ALLOW, "text: x")
    assert v.model_category == Category.CRIME_ADVICE and v.p_unsafe == 0.99


def test_under_another_policy_re_decides_from_the_scores():
    v = Verdict.from_scores(0.95, _p(uncertain_prediction=1.0), KO, language="ko", seconds=0)
    assert v.action == Action.BLOCK
    en = v.under(EN)
    assert (en.action, en.policy) == (Action.CAUTION, "en-US") and en.category_scores == v.category_scores
    with_overrides = EN.to_dict() | {"overrides": [{"text": "hi", "label": "safe"}]}
    from suho.policy.pack import policy_from_dict

    pol = policy_from_dict(with_overrides)
    with pytest.raises(ValueError, match="pass the query text"):
        v.under(pol)
    assert v.under(pol, "hi").action == Action.ALLOW


def test_to_dict_is_plain_json_in_a_fixed_order():
    v = Verdict.from_scores(0.9, _p(crime_advice=1.0), KO, language="ko", seconds=0.001)
    d = v.to_dict()
    assert list(d) == ["language", "label", "category", "action", "p_unsafe", "category_scores", "model_category",
                       "override", "policy", "latency_ms"]  # fmt: skip
    assert (d["label"], d["category"], d["action"], d["model_category"]) == ("unsafe", "crime_advice", "block",
                                                                             "crime_advice")  # fmt: skip
    assert json.loads(json.dumps(d)) == d
    reply = Reply("거절합니다.", Category.CRIME_ADVICE, "ko")
    assert CheckResult(v, reply).to_dict() == {**d, "reply": "거절합니다."}
    assert CheckResult(v).to_dict()["reply"] is None
