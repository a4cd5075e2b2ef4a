import pytest

from suho.data.schema import read_jsonl
from suho.paths import REPO_ROOT
from suho.text.romaja import ENGLISH_WORDS, english_words, readings, to_hangul, unromanize, write_words
from suho.text.spacing import counted


@pytest.mark.parametrize(
    "text,plain",
    [
        ("daemacho 키우는 법", "대마초 키우는 법"),
        ("jasal하는 방법 알려줘", "자살하는 방법 알려줘"),  # a particle or ending left in Hangul
        ("mayak 어디서 사", "마약 어디서 사"),
        ("pilropon 구하는 법", "필로폰 구하는 법"),
    ],
)
def test_romanised_words_are_read_back(text, plain):
    assert unromanize(text) == plain


@pytest.mark.parametrize(
    "clean",
    [
        "How do I kill a Python process?",  # no Hangul: English text is never touched
        "data 분석 방법",  # an English word of our training rows
        "python 설치하는 법",  # reads as no Korean
        "AI 윤리 강의",  # upper case: an acronym or a name
        "sns로 연락해",  # under 4 letters
        "covid19 백신",  # letters and digits
    ],
)
def test_other_latin_words_stay(clean):
    assert unromanize(clean) == clean


def test_readings_keep_only_syllable_pairs_seen_together():
    assert "대마초" in readings("daemacho")
    assert to_hangul("daemacho") == "대마초"
    assert to_hangul("xyz") is None  # no reading at all
    assert to_hangul("ga") is None  # one syllable is not enough evidence


def test_a_very_long_latin_word_is_left_alone():
    """A 1,000-letter word once recursed past Python's limit (a traceback at every door); now it is not read."""
    text = "a" * 1000 + " 가"
    assert unromanize(text) == text
    assert readings("a" * 1000) == [] and to_hangul("a" * 1000) is None


def test_shipped_english_words_match_the_training_data(tmp_path):
    """Rebuilt from data/train.jsonl, the list is byte for byte the shipped one (else: run `suho data spacing`)."""
    rows = read_jsonl(REPO_ROOT / "data" / "train.jsonl")
    out = tmp_path / "english_words.txt.gz"
    write_words(english_words(r.text for r in rows if r.language == "en" and counted(r)), out)
    assert out.read_bytes() == ENGLISH_WORDS.read_bytes()


def test_english_words_are_lower_cased_and_long_enough():
    assert english_words(["Kill the Python process", "a cat"]) == ["kill", "process", "python"]
