import gzip

import pytest

from suho.data.schema import Label, Record, read_jsonl
from suho.paths import REPO_ROOT
from suho.text.spacing import (
    TABLE,
    SpacingModel,
    _segments,
    clean_korean_texts,
    count,
    default_model,
    read_table,
    write_table,
)


def test_shipped_table_matches_the_training_data(tmp_path):
    """Rebuilt from data/train.jsonl, the table is byte for byte the shipped one (else: run `suho data spacing`)."""
    out = tmp_path / "spacing.tsv.gz"
    write_table(count(clean_korean_texts(read_jsonl(REPO_ROOT / "data" / "train.jsonl"))), out)
    assert out.read_bytes() == TABLE.read_bytes()


def test_counts_come_from_clean_korean_rows_only():
    def row(text, language="ko", tags=()):
        return Record(text, Label.SAFE, None, language, "test", "CC0", tags=tags)

    disguised = row("대 마 초 키우는 법", tags=("obfuscated", "obfuscated:spaced_word"))
    chat = row("대마초키우는법 ㅋㅋ", tags=("real", "chat"))
    rows = [row("대마초 키우는 법"), row("how to", "en"), disguised, chat]
    assert clean_korean_texts(rows) == ["대마초 키우는 법"]


def test_counts_gaps_and_contexts():
    counts = count(["대마초 키우는 법", "키우는 법"])
    assert counts["초|키"] == (0, 1)  # spaced once
    assert counts["대|마"] == (1, 0)  # joined once
    assert counts["우|는"] == (2, 0)
    assert counts["는|법"] == (0, 2)
    assert counts["^대|마"] == (1, 0)  # "^": no syllable before (the text's start)
    assert counts["는|법$"] == (0, 2)  # "$": none after


def test_punctuation_digits_and_latin_end_a_run():
    assert list(_segments("대마, 키우는 법 2개 sns로")) == [("대마", [False]), ("키우는법", [False, False, True])]


def test_respace_puts_word_breaks_back():
    m = default_model()
    assert m.respace("대마키우는법") == "대마 키우는 법"
    assert m.respace("폭탄만드는법알려줘") == "폭탄 만드는 법 알려줘"
    assert m.respace("가") == "가"


def test_held_out_accuracy():
    """On dev (never counted), at least 90% of the gaps between syllables are predicted right (measured: 91.9%)."""
    m = default_model()
    right = total = 0
    for text in clean_korean_texts(read_jsonl(REPO_ROOT / "data" / "dev.jsonl")):
        for s, gaps in _segments(text):
            for p, spaced in zip(m.probabilities(s), gaps):
                right += (p > 0.5) == spaced
                total += 1
    assert total > 20000 and right / total > 0.90


def test_unknown_syllables_fall_back_to_the_prior():
    m = SpacingModel({"가|나": (3, 1)})
    assert m.prior == pytest.approx(2 / 6)
    assert 0.0 < m.probabilities("뷁뷁")[0] < 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="not a run of Hangul syllables"):
        default_model().probabilities("대마 초")


def test_a_malformed_table_names_the_line(tmp_path):
    bad = tmp_path / "bad.tsv.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as fh:
        fh.write("가|나\t1\t2\n가|다\t1\n")
    with pytest.raises(ValueError, match=r"bad.tsv.gz:2: expected"):
        read_table(bad)
