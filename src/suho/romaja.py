"""Romanised Korean back to Hangul: `daemacho 키우는 법` -> `대마초 키우는 법`.

Users write the one word a filter would catch in Latin letters, syllable by syllable in the Revised Romanization
(`daemacho`, `jasal`, `mayak`), and leave the rest of the query in Hangul. A Latin word can often be read back only one
way that is Korean: read it as syllables (lead consonant, vowel, optional final consonant), keep only readings in
which every two neighbouring syllables have been seen written together in our clean Korean text (the pair counts of
`suho.spacing`'s table), and take the reading whose pairs are seen most often.

Only words that look like such a disguise are read: lower-case, 4+ letters, inside text that has Hangul, and not a
word of our English training rows (`data`, `waiting`, `game` are English); anything else stays as it is.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from suho.spacing import default_model, is_syllable, write_gzip

ENGLISH_WORDS = Path(__file__).with_name("english_words.txt.gz")
MIN_LETTERS = 4
MAX_LETTERS = 40  # longer than any romanised word; also bounds the reading's recursion
_LATIN_WORD = re.compile(rf"(?<![A-Za-z0-9])[a-z]{{{MIN_LETTERS},{MAX_LETTERS}}}(?![A-Za-z0-9])")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_MAX_READINGS = 5000  # a word with more readings than this is left as it is (no Korean word is that ambiguous)

# Revised Romanization, syllable by syllable, with no sound-change rules: how people type it in a hurry. The one
# table: `romanize` writes with it (suho.data.obfuscate's disguises too), and reading back inverts `romanize`.
RR_LEADS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
RR_VOWELS = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu",
    "ui", "i",
]  # fmt: skip
RR_TAILS = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng", "t",
    "t", "k", "t", "p", "t",
]  # fmt: skip


def romanize(word: str) -> str:
    """Each Hangul syllable of `word` in Latin letters (`대마초` -> `daemacho`); other characters as they are."""
    out = []
    for ch in word:
        if is_syllable(ch):
            code = ord(ch) - 0xAC00
            out.append(RR_LEADS[code // 588] + RR_VOWELS[(code % 588) // 28] + RR_TAILS[code % 28])
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1)
def _spellings() -> dict[str, tuple[str, ...]]:
    """Latin spelling -> the syllables `romanize` writes that way (all 11,172)."""
    out: dict[str, list[str]] = {}
    for code in range(0xAC00, 0xD7A4):
        out.setdefault(romanize(chr(code)), []).append(chr(code))
    return {k: tuple(v) for k, v in out.items()}


def english_words(texts: Iterable[str]) -> list[str]:
    """The lower-cased words (4+ letters) of English texts, sorted."""
    return sorted({w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t) if len(w) >= MIN_LETTERS})


def write_words(words: list[str], path: Path = ENGLISH_WORDS) -> None:
    write_gzip(path, "".join(w + "\n" for w in words))


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    with gzip.open(ENGLISH_WORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def load_tables() -> None:
    """Read the tables now (the spacing model's pair counts, the English words) rather than on the first word."""
    default_model()
    _english()
    _spellings()


def readings(word: str) -> list[str]:
    """Every Hangul reading of a Latin word whose neighbouring syllables were all seen together (at most a few
    thousand; [] when there are more, or none)."""
    if len(word) > MAX_LETTERS:
        return []
    joined, spellings = default_model().joined, _spellings()
    longest = max(map(len, spellings))

    @cache
    def rest(i: int) -> tuple[str, ...]:
        if i == len(word):
            return ("",)
        out: list[str] = []
        for end in range(i + 1, min(len(word), i + longest) + 1):
            for syl in spellings.get(word[i:end], ()):
                out += [syl + a for a in rest(end) if not a or syl + a[0] in joined]
                if len(out) > _MAX_READINGS:
                    raise _TooMany
        return tuple(out)

    try:
        return list(rest(0))
    except _TooMany:
        return []


class _TooMany(Exception):
    pass


@lru_cache(maxsize=4096)
def to_hangul(word: str) -> str | None:
    """The most likely Hangul reading of a romanised word (2+ syllables), or None when it has none."""
    pairs = default_model().joined
    found = [r for r in readings(word) if len(r) >= 2]
    if not found:
        return None

    def score(r: str) -> float:
        return sum(math.log(pairs[r[i : i + 2]]) for i in range(len(r) - 1)) / (len(r) - 1)

    return max(found, key=lambda r: (score(r), r))


def unromanize(text: str) -> str:
    """`text` with its romanised Korean words written in Hangul (see the module docstring)."""
    if not _HANGUL.search(text) or not _LATIN_WORD.search(text):
        return text
    english = _english()

    def swap(m: re.Match) -> str:
        w = m.group(0)
        if w in english:
            return w
        return to_hangul(w) or w

    return _LATIN_WORD.sub(swap, text)
