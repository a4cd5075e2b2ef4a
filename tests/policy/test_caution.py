"""A pack's caution_message: validated like the rest of the pack, naming the bad value; every shipped pack's message
renders for every category in every reply language."""

import copy

import pytest

from suho.policy import CATEGORY_IDS, Category, PolicyError, available_policies, load_policy
from suho.policy.caution import caution_text
from suho.policy.pack import policy_from_dict

GOOD = load_policy("en-US").to_dict()


@pytest.mark.parametrize("name", available_policies())
@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_shipped_pack_has_a_caution_message_for_every_category(name, language):
    pol = load_policy(name)
    for cat in CATEGORY_IDS:
        text = caution_text(pol.caution_message, Category(cat), language)
        assert "{" not in text and len(text) > 40
    named = caution_text(pol.caution_message, Category.UNCERTAIN_PREDICTION, language)
    assert ("불확실한 예측" if language == "ko" else "Uncertain prediction") in named


def test_caution_message_round_trips_and_is_optional():
    pol = policy_from_dict(GOOD)
    assert policy_from_dict(pol.to_dict()) == pol and pol.caution_message
    assert pol.with_rule("crime_advice", threshold=0.4).caution_message == pol.caution_message
    bare = copy.deepcopy(GOOD)
    bare.pop("caution_message")
    assert policy_from_dict(bare).caution_message == {}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("be careful", "caution_message: must be a mapping of language"),
        ({"ko": "조심"}, "caution_message: must give every language a reply can be in; missing en"),
        ({"ko": "조심", "en": " "}, "caution_message.en: must be a non-empty string"),
        ({"ko": "조심", "en": "careful", "fr": "prudence"}, "caution_message.fr: unknown language"),
        ({"ko": "조심", "en": "careful about {topic}"}, "caution_message.en: unknown placeholder {topic}"),
        ({"ko": "조심 {", "en": "careful"}, "caution_message.ko: Single '{' encountered"),
    ],
)
def test_a_bad_caution_message_is_named(value, expected):
    with pytest.raises(PolicyError) as err:
        policy_from_dict({**copy.deepcopy(GOOD), "caution_message": value}, "test")
    assert expected in str(err.value)
