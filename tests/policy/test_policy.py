import copy

import pytest
import yaml

from suho.cli.main import main
from suho.policy import CATEGORY_IDS, Action, PolicyError, available_policies, load_policy, taxonomy
from suho.policy.pack import crisis_numbers, policy_from_dict
from suho.text.lang import detect_language


@pytest.mark.parametrize("name", available_policies())
def test_every_shipped_pack_is_valid_and_complete(name):
    pol = load_policy(name)
    assert set(pol.rules) == set(CATEGORY_IDS)
    for rule in pol.rules.values():
        assert 0 < rule.threshold < 1
    assert pol.crisis_line


def test_shipped_packs_really_differ():
    ko, en = load_policy("ko-KR"), load_policy("en-US")
    assert all(r.action == Action.BLOCK for r in ko.rules.values())
    assert en.rule("uncertain_prediction").action == Action.CAUTION
    assert en.rule("sensitive_biased").action == Action.CAUTION
    assert "109" in ko.crisis_line and "988" in en.crisis_line


@pytest.mark.parametrize("name", available_policies())
def test_every_shipped_pack_names_its_crisis_line_in_each_reply_language(name):
    pol = load_policy(name)
    own = "ko" if pol.culture.startswith("ko") else "en"
    assert pol.crisis_line_for(own) == pol.crisis_line
    for lang in ("ko", "en"):
        line = pol.crisis_line_for(lang)
        assert detect_language(line) == lang, line
        assert crisis_numbers(line) == crisis_numbers(pol.crisis_line)


def test_crisis_line_by_language_is_optional_and_round_trips():
    d = copy.deepcopy(GOOD)
    d.pop("crisis_line_by_language")
    pol = policy_from_dict(d)
    assert pol.crisis_line_for("en") == pol.crisis_line_for("ko") == pol.crisis_line
    edited = load_policy("en-US").with_rule("crime_advice", threshold=0.4)
    assert edited.crisis_line_for("ko") == load_policy("en-US").crisis_line_for("ko") != edited.crisis_line


def test_taxonomy_matches_ids_and_has_examples():
    tax = taxonomy()
    assert [c.value for c in tax] == list(CATEGORY_IDS)
    for info in tax.values():
        assert info.name_ko and info.name_en and info.definition and info.not_in and info.examples
        assert set(info.reply) == {"ko", "en"} and all(r.strip() for r in info.reply.values())
        assert ("{crisis_line}" in info.reply["ko"]) == (info.id.value == "self_harm")


def test_reply_mode_defaults_to_template_and_round_trips():
    d = copy.deepcopy(GOOD)
    d.pop("reply_mode")
    assert policy_from_dict(d).reply_mode == "template"
    assert policy_from_dict({**GOOD, "reply_mode": "generated"}).to_dict()["reply_mode"] == "generated"


GOOD = load_policy("ko-KR").to_dict()


def _broken(mutate):
    d = copy.deepcopy(GOOD)
    mutate(d)
    return d


BROKEN = [
    (lambda d: d["categories"].pop("self_harm"), "categories.self_harm: missing"),
    (lambda d: d["categories"]["crime_advice"].update(action="blok"), "categories.crime_advice.action"),
    (lambda d: d["categories"]["crime_advice"].update(threshold=1.5), "categories.crime_advice.threshold"),
    (lambda d: d["categories"]["crime_advice"].update(threshold=True), "categories.crime_advice.threshold"),
    (
        lambda d: d["categories"].update(crime_advise={"action": "block", "threshold": 0.5}),
        "did you mean 'crime_advice'",
    ),
    (lambda d: d.update(reply_language="fr"), "reply_language"),
    (lambda d: d.update(reply_mode="poem"), "reply_mode: must be one of template, generated"),
    (lambda d: d.pop("name"), "name: required"),
    (lambda d: d.update(thresholds=1), "thresholds: unknown field"),
    (lambda d: d["categories"].update(insult_offensive="block"), "categories.insult_offensive: must be a mapping"),
    (lambda d: d.update(crisis_line_by_language="109"), "crisis_line_by_language: must be a mapping"),
    (lambda d: d.update(crisis_line_by_language={"eng": "line 109"}), "did you mean 'en'"),
    (lambda d: d.update(crisis_line_by_language={"en": " "}), "crisis_line_by_language.en: must be a non-empty"),
    # a translation that loses or changes the number would send a user in crisis nowhere
    (lambda d: d.update(crisis_line_by_language={"en": "Korea's line 119"}), "same numbers as crisis_line (109)"),
]


@pytest.mark.parametrize("mutate,expected", BROKEN)
def test_broken_packs_name_the_field(mutate, expected):
    with pytest.raises(PolicyError) as err:
        policy_from_dict(_broken(mutate), "test")
    assert any(expected in e for e in err.value.errors), err.value.errors


def test_all_errors_reported_at_once():
    def two(d):
        d["categories"]["crime_advice"]["action"] = "nope"
        d["categories"]["self_harm"]["threshold"] = 0

    with pytest.raises(PolicyError) as err:
        policy_from_dict(_broken(two), "test")
    assert len(err.value.errors) == 2


def test_with_rule_changes_one_category_at_run_time():
    pol = load_policy("ko-KR").with_rule("uncertain_prediction", action="allow", threshold=0.9)
    assert pol.rule("uncertain_prediction").action == Action.ALLOW
    assert pol.rule("crime_advice").action == Action.BLOCK
    with pytest.raises(PolicyError):
        load_policy("ko-KR").with_rule("crime_advice", threshold=2.0)


def test_with_rule_names_an_unknown_category_and_suggests_one():
    with pytest.raises(PolicyError, match="unknown category 'selfharm' \\(did you mean 'self_harm'\\?\\)"):
        load_policy("ko-KR").with_rule("selfharm", action="allow")


def test_unknown_name_suggests(tmp_path):
    with pytest.raises(PolicyError, match="did you mean 'ko-KR'"):
        load_policy("ko-kr")


def test_an_unreadable_pack_file_is_named_in_its_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ncategories: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML") as err:
        load_policy(broken)
    assert f"{broken}" in str(err.value).split("not valid YAML")[1] and "<unicode string>" not in str(err.value)
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes("name: x\n".encode("utf-16"))
    with pytest.raises(PolicyError, match="not UTF-8 text") as err:
        load_policy(utf16)
    assert str(utf16) in str(err.value)


def test_cli_validate_and_show(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD, allow_unicode=True), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_broken(lambda d: d["categories"].pop("self_harm")), allow_unicode=True))
    assert main(["policy", "validate", str(good)]) == 0
    assert main(["policy", "validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "good.yaml: OK" in out and "categories.self_harm: missing" in out
    assert main(["policy", "show", "en-US"]) == 0
    assert "caution" in capsys.readouterr().out
    notyaml = tmp_path / "x.yaml"
    notyaml.write_text("a: [unclosed", encoding="utf-8")
    assert main(["policy", "validate", str(notyaml)]) == 1


def test_every_edge_case_names_a_label_and_real_categories():
    import re

    from suho.policy.taxonomy import CATEGORY_IDS, edge_cases

    cases = edge_cases()
    assert {"swearing at no one", "a victim describing abuse", "a jailbreak with no request"} <= {c.case for c in cases}
    for c in cases:
        assert c.label in ("safe", "unsafe") or c.label.startswith("the label of"), c.case
        assert c.examples and c.why, c.case
        if c.label == "unsafe":
            named = set(re.findall(r"[a-z_]+", c.category or "")) & set(CATEGORY_IDS)
            assert named, f"{c.case}: an unsafe edge names its category"
        if c.label == "safe":
            assert c.category is None, c.case
