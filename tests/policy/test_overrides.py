"""Policy overrides: validation (every problem named), matching, round trips and the decision they give."""

import pytest
import yaml

from suho.cli.main import main
from suho.policy import Action, Category, PolicyError, load_policy
from suho.policy.decision import overridden
from suho.policy.overrides import Override, Overrides, override_key, parse_overrides
from suho.policy.pack import policy_from_dict
from suho.text.normalize import normalize_query

PROCESS = {"text": "프로세스 죽이는 법 알려줘", "label": "safe"}
COIN = {"pattern": r"(?i)\bxyz ?coin\b.*(오를|떨어질)", "label": "unsafe", "category": "uncertain_prediction"}
RIVAL = {"text": "경쟁사 제품 추천해줘", "label": "unsafe", "category": "sensitive_biased"}


def _pack(overrides, base: str = "ko-KR") -> dict:
    data = load_policy(base).to_dict()
    data["overrides"] = overrides
    return data


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("프로세스 죽이는 법 알려줘", "프로세스, 죽이는 법 알려줘!", True),
        ("프로세스 죽이는 법 알려줘", "  프로세스   죽이는 법 알려줘?? ", True),
        ("How do I KILL a process?", "how do i kill a process", True),
        ("프로세스 죽이는 법 알려줘", "리눅스 프로세스 죽이는 법 알려줘", False),
        ("프로세스 죽이는 법 알려줘", "프로세스죽이는 법 알려줘", False),  # spacing inside a phrase is not punctuation
        ("kill a process", "kill a processes", False),
    ],
)
def test_override_key_ignores_case_spacing_and_punctuation_only(a, b, same):
    assert (override_key(a) == override_key(b)) is same


def test_match_exact_text_then_patterns_in_order():
    ov = parse_overrides([PROCESS, COIN, RIVAL, {**COIN, "pattern": "(?i)xyz", "category": "crime_advice"}], [])
    assert len(ov) == 4 and bool(ov) and not Overrides()
    assert ov.match("프로세스 죽이는 법 알려줘!").label == "safe"
    assert ov.match("XYZcoin 다음 주에 오를까?").category == "uncertain_prediction"  # the first pattern that matches
    assert ov.match("xyz 거래소 해킹").category == "crime_advice"
    assert ov.match("경쟁사 제품 추천해줘").category == "sensitive_biased"
    assert ov.match("경쟁사 제품 추천해줘 그리고 XYZcoin 오를까").category == "uncertain_prediction"
    assert ov.match("오늘 날씨 어때?") is None
    # an exact text is the most specific: it wins over a pattern that also matches
    both = parse_overrides([{**COIN, "pattern": "죽이는"}, PROCESS], [])
    assert both.match("프로세스 죽이는 법 알려줘").label == "safe"
    assert both.match("모기 죽이는 법").label == "unsafe"


def test_overrides_match_on_the_normalised_query_and_entry():
    """Disguises are undone on both sides, as for the model: a spaced-out query matches its clean entry, and an entry
    written as the disguised query a service saw matches that query."""
    ov = parse_overrides([PROCESS, {**RIVAL, "text": "대 마 키 우 는 법 알 려 줘", "category": "crime_advice"}], [])
    assert ov.match(normalize_query("프 로 세 스 죽이는 법 알려줘")).label == "safe"
    assert ov.match(normalize_query("대 마 키 우 는 법 알 려 줘")).category == "crime_advice"
    assert ov.match(normalize_query("대마 키우는 법 알려줘")).category == "crime_advice"


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"label": "safe"}, "overrides[0]: needs exactly one of text (an exact query) or pattern"),
        ({**PROCESS, "pattern": "x"}, "overrides[0]: needs exactly one of text"),
        ({"text": "", "label": "safe"}, "overrides[0].text: must be a non-empty string"),
        ({"text": "?!", "label": "safe"}, "overrides[0].text: has no letters or digits to match"),
        ({"text": 7, "label": "safe"}, "overrides[0].text: must be a non-empty string, got 7"),
        ({"text": "x", "label": "harmful"}, "overrides[0].label: must be safe or unsafe, got 'harmful'"),
        ({"text": "x", "label": "unsafe"}, "overrides[0].category: an unsafe override needs a category"),
        ({"text": "x", "label": "unsafe", "category": "crime"}, "got 'crime'"),
        ({"text": "x", "label": "safe", "category": "crime_advice"}, "a safe override has no category"),
        ({"pattern": "x", "label": "safe"}, "overrides[0].pattern: only unsafe overrides may use a pattern"),
        ({**COIN, "pattern": "(unclosed"}, "overrides[0].pattern: not a valid regular expression"),
        ({**PROCESS, "lable": "safe"}, "overrides[0].lable: unknown field"),
        ("프로세스 죽이는 법", "overrides[0]: must be a mapping"),
    ],
)
def test_bad_override_entries_are_named(entry, message):
    with pytest.raises(PolicyError) as err:
        policy_from_dict(_pack([entry]))
    assert any(message in e for e in err.value.errors), err.value.errors


def test_every_bad_override_is_reported_at_once_and_repeats_are_checked():
    with pytest.raises(PolicyError) as err:
        policy_from_dict(
            _pack(
                [
                    PROCESS,
                    {"label": "safe"},
                    {**PROCESS, "text": "프로세스, 죽이는 법 알려줘"},
                    RIVAL,
                    {**RIVAL, "label": "safe", "category": None},
                ]
            )
        )
    errors = err.value.errors
    assert "overrides[1]: needs exactly one of text (an exact query) or pattern (a regular expression)" in errors
    assert "overrides[4].text: the same query as overrides[3] with another verdict" in errors
    assert len(errors) == 2  # overrides[2] repeats overrides[0] with the same verdict: kept once, no error
    assert len(policy_from_dict(_pack([PROCESS, {**PROCESS, "text": "프로세스 죽이는 법 알려줘!"}])).overrides) == 1
    with pytest.raises(PolicyError, match="overrides: must be a list"):
        policy_from_dict(_pack({"text": "x", "label": "safe"}))


def test_overrides_round_trip_and_survive_run_time_edits(tmp_path):
    pol = policy_from_dict(_pack([PROCESS, COIN, RIVAL]))
    assert policy_from_dict(pol.to_dict()) == pol
    edited = pol.with_rule("sensitive_biased", action="allow")
    assert edited.overrides == pol.overrides and edited.rule("sensitive_biased").action == Action.ALLOW
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(pol.to_dict(), allow_unicode=True), encoding="utf-8")
    assert load_policy(path) == pol
    assert load_policy("ko-KR").overrides == Overrides()  # the shipped packs override nothing


def test_policy_show_lists_the_overrides(tmp_path, capsys):
    path = tmp_path / "ops.yaml"
    path.write_text(yaml.safe_dump(_pack([PROCESS, COIN]), allow_unicode=True), encoding="utf-8")
    assert main(["policy", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "overrides (2; they decide before the thresholds):" in out
    assert "text: 프로세스 죽이는 법 알려줘" in out and "uncertain_prediction" in out


@pytest.mark.parametrize(
    "override,policy,label,category,action",
    [
        (Override("safe", None, text="x"), "ko-KR", "safe", None, Action.ALLOW),
        (Override("unsafe", "crime_advice", text="x"), "ko-KR", "unsafe", "crime_advice", Action.BLOCK),
        # the policy still acts: en-US cautions on predictions and allows personification
        (
            Override("unsafe", "uncertain_prediction", pattern="x"),
            "en-US",
            "unsafe",
            "uncertain_prediction",
            Action.CAUTION,
        ),
        (Override("unsafe", "malicious_personification", text="x"), "en-US", "safe", None, Action.ALLOW),
    ],
)
def test_an_override_replaces_the_model_reading_and_the_policy_still_acts(override, policy, label, category, action):
    got_label, got_category, got_action = overridden(override, load_policy(policy))
    assert (got_label.value, got_category, got_action) == (label, Category(category) if category else None, action)
