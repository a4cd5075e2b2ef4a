"""Korean typed with the keyboard in English mode (suho.text.keyboard) and its place in the normaliser."""

import random

import pytest

from suho.text.keyboard import compose, mostly_typed, to_hangul, to_keys
from suho.text.normalize import normalize_query
from suho.text.romaja import unromanize


@pytest.mark.parametrize(
    "keys,hangul",
    [
        ("tlqkf", "시발"),
        ("gksrmf", "한글"),
        ("dkssudgktpdy", "안녕하세요"),
        ("rhoscksgdk", "괜찮아"),  # two vowel keys (ㅗㅐ) and a double final (ㄴㅎ)
        ("dlfrdjTdj", "읽었어"),  # shift-T is ㅆ
        ("qnpfr", "뷁"),
        ("rkqtdl", "값이"),  # ㅂㅅ is a double final only when no vowel follows the ㅅ
        ("rkqtk", "갑사"),
    ],
)
def test_keys_compose_as_the_input_method_composes_them(keys, hangul):
    assert compose(keys) == hangul
    assert to_keys(hangul) == keys


def test_every_syllable_and_random_words_round_trip():
    syllables = [chr(c) for c in range(0xAC00, 0xD7A4)]
    assert all(compose(to_keys(s)) == s for s in syllables)
    rng = random.Random(0)
    for _ in range(3000):
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 6)))
        assert compose(to_keys(word)) == word


@pytest.mark.parametrize("word", ["hello", "python", "the", "ㅋㅋ", "dk", "abc1"])
def test_what_does_not_compose_into_whole_syllables_is_not_read(word):
    assert to_hangul(word) is None


def test_a_two_syllable_reading_needs_its_pair_seen_in_clean_text():
    assert compose("rock") == "개차" and to_hangul("rock") is None


@pytest.mark.parametrize(
    "typed,plain",
    [
        ("tlqkf 진짜", "시발 진짜"),  # one word in a Korean query
        ("eoakch zldnsms qjq", "대마초 키우는 법"),  # the whole query
        ("tkfdls qkdqjq dkffuwnj", "살인 방법 알려줘"),
        # once two words read as typed keys, short words and unseen names are read too
        ("sk dhfgo dlwlrgkaus tjdrhdgkf dnsdlswl dkffuwnj", "나 올해 이직하면 성공할 운인지 알려줘"),
        ("여기 eodi야", "여기 어디야"),  # reads both ways (대야 as keys): the better-attested reading wins
    ],
)
def test_the_normaliser_reads_typed_keys_back(typed, plain):
    assert normalize_query(typed) == plain
    assert unromanize(typed) == plain


@pytest.mark.parametrize(
    "clean",
    [
        "rock music",
        "the dogma of time",
        "How do I kill a Python process?",
        "QWERTY keyboard",
        # Natural Questions queries in which one word composes into seen syllables (claus -> 치면, alaskan -> 밈나무):
        # an English sentence is not a query typed in English mode
        "who sings santa claus is coming to town",
        "when did the alaskan gold rush start and end",
    ],
)
def test_english_stays_english(clean):
    assert normalize_query(clean) == clean


def test_a_latin_text_is_read_as_typed_keys_only_when_most_of_its_words_are():
    assert to_hangul("claus") == "치면"  # composes, and both syllables are seen together ...
    assert not mostly_typed("who sings santa claus is coming to town")  # ... but one word of six is chance
    assert mostly_typed("tkfdls qkdqjq dkffuwnj")
    # one word alone: read only as a common Korean word (시발, 병신, 살인: each pair seen 20+ times)
    assert mostly_typed("tlqkf") and mostly_typed("qudtls!!") and mostly_typed("tkfdls")
    assert not mostly_typed("fork")  # 래가: seen 5 times
    assert normalize_query("tlqkf") == "시발" and normalize_query("fork") == "fork"
