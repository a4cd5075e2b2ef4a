"""Romanised Korean back to Hangul: `daemacho 키우는 법` -> `대마초 키우는 법`.

Users write the one word a filter would catch in Latin letters, syllable by syllable in the Revised Romanization
(`daemacho`, `jasal`, `mayak`), and leave the rest of the query in Hangul. A Latin word can often be read back only one
way that is Korean: read it as syllables (lead consonant, vowel, optional final consonant), keep only readings in
which every two neighbouring syllables have been seen written together in our clean Korean text (the pair counts of
`spacing`'s table), and take the reading whose pairs are seen most often.

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

from suho.text import keyboard
from suho.text.hangul import COUNT, FIRST, parts
from suho.text.spacing import default_model, is_syllable, write_gzip

ENGLISH_WORDS = Path(__file__).with_name("english_words.txt.gz")
MIN_LETTERS = 4
MAX_LETTERS = 40  # longer than any romanised word; also bounds the reading's recursion
_LATIN_WORD = re.compile(rf"(?<![A-Za-z0-9])[a-z]{{{MIN_LETTERS},{MAX_LETTERS}}}(?![A-Za-z0-9])")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_ANY_LATIN_WORD = keyboard.WORD  # the romanised words and the keyboard-slipped ones (shift keys upper case)
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
            lead, vowel, tail = parts(ch)
            out.append(RR_LEADS[lead] + RR_VOWELS[vowel] + RR_TAILS[tail])
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1)
def _spellings() -> dict[str, tuple[str, ...]]:
    """Latin spelling -> the syllables `romanize` writes that way (all 11,172)."""
    out: dict[str, list[str]] = {}
    for code in range(FIRST, FIRST + COUNT):
        out.setdefault(romanize(chr(code)), []).append(chr(code))
    return {k: tuple(v) for k, v in out.items()}


def english_words(texts: Iterable[str]) -> list[str]:
    """The lower-cased words (4+ letters) of English texts, sorted."""
    return sorted({w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t) if len(w) >= MIN_LETTERS})


def write_words(words: list[str], path: Path = ENGLISH_WORDS) -> None:
    write_gzip(path, "".join(w + "\n" for w in words))


@lru_cache(maxsize=1)
def english_words_set() -> frozenset[str]:
    """The words of our English training rows (`english_words.txt.gz`), read once."""
    with gzip.open(ENGLISH_WORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def load_tables() -> None:
    """Read the tables now (the spacing model's pair counts, the English words) rather than on the first word."""
    default_model()
    english_words_set()
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


def pair_score(hangul: str) -> float:
    """Mean log count of a reading's neighbouring syllable pairs in our clean text (every pair must have been seen)."""
    counts = default_model().pair_counts(hangul)
    return sum(map(math.log, counts)) / len(counts)


@lru_cache(maxsize=4096)
def to_hangul(word: str) -> str | None:
    """The most likely Hangul reading of a romanised word (2+ syllables), or None when it has none."""
    found = [r for r in readings(word) if len(r) >= 2]
    if not found:
        return None
    return max(found, key=lambda r: (pair_score(r), r))


def unromanize(text: str) -> str:
    """`text` with its romanised Korean words, and words typed with the keyboard in English mode (`keyboard`),
    written in Hangul. A word that reads both ways takes the reading whose syllable pairs our clean text writes more
    often (`eodi`: `어디` as romanised, `대야` as typed keys). Once two words of a text have been read as typed keys,
    the whole text was typed that way: its other Latin words (short ones, names whose syllables we have not seen) are
    read as keys too when they compose into whole syllables (`sk dhfgo` -> `나 올해`)."""
    if not _ANY_LATIN_WORD.search(text):
        return text
    english = english_words_set()
    korean = bool(_HANGUL.search(text))  # a romanised word is read only inside Korean text
    # typed keys are read inside Korean text, or in Latin text most of whose words compose into syllables (a query
    # typed in English mode); an English sentence has a word or two that compose by chance (`claus` -> `치면`)
    keys_too = korean or keyboard.mostly_typed(text, english)
    typed = 0

    def swap(m: re.Match) -> str:
        nonlocal typed
        w = m.group(0)
        if w.lower() in english:
            return w
        as_keys = keyboard.to_hangul(w) if keys_too else None
        as_rr = to_hangul(w) if korean and _LATIN_WORD.fullmatch(w) else None
        if as_keys and (not as_rr or (pair_score(as_keys), as_keys) > (pair_score(as_rr), as_rr)):
            typed += 1
            return as_keys
        return as_rr or w

    out = _ANY_LATIN_WORD.sub(swap, text)
    if typed >= 2:
        out = keyboard.SHORT_WORD.sub(lambda m: keyboard.compose(m.group(0)) or m.group(0), out)
    return out
