"""Safeguard replies as the policy wants them (suho.policy.replies), without a model."""

import pytest

from suho import Category, load_policy
from suho.policy.replies import FALLBACK, generated_reply, has_crisis_line, template_reply


@pytest.mark.parametrize(
    "reply,line,expected",
    [
        ("힘들면 109에 전화하세요.", "자살예방상담전화 109", True),
        ("힘들면 상담을 받아 보세요.", "자살예방상담전화 109", False),
        ("Call or text 988 any time.", "988 Suicide & Crisis Lifeline (call or text 988)", True),
        ("정신건강위기상담 1577-0199", "정신건강위기상담전화 1577-0199", True),
        ("Please talk to someone.", "your school counsellor", False),
        ("Please talk to your school counsellor.", "your school counsellor", True),
    ],
)
def test_has_crisis_line(reply, line, expected):
    assert has_crisis_line(reply, line) is expected


def test_a_generated_self_harm_reply_without_the_crisis_line_gets_it_appended():
    ko = load_policy("ko-KR")
    r = generated_reply("많이 힘드시죠.", Category.SELF_HARM, "ko", ko, ended=True)
    assert r.crisis_line_added and "109" in r.text and r.text.startswith("많이 힘드시죠. ")
    kept = generated_reply("자살예방상담전화 109에 연락해 주세요.", Category.SELF_HARM, "ko", ko, ended=False)
    assert not kept.crisis_line_added and kept.truncated and kept.text == "자살예방상담전화 109에 연락해 주세요."


def test_an_empty_generation_falls_back_to_a_fixed_refusal():
    r = generated_reply("", Category.CRIME_ADVICE, "en", load_policy("en-US"), ended=True)
    assert r.fallback and r.text == FALLBACK["en"] and not r.crisis_line_added


def test_template_reply_fills_in_the_policy_crisis_line():
    r = template_reply(Category.SELF_HARM, "en", load_policy("en-US"))
    assert r.template and "988" in r.text and "{" not in r.text
