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
import io
import math
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from suho.spacing import default_model

ENGLISH_WORDS = Path(__file__).with_name("english_words.txt.gz")
MIN_LETTERS = 4
MAX_LETTERS = 40  # longer than any romanised word; also bounds the reading's recursion
_LATIN_WORD = re.compile(rf"(?<![A-Za-z0-9])[a-z]{{{MIN_LETTERS},{MAX_LETTERS}}}(?![A-Za-z0-9])")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_MAX_READINGS = 5000  # a word with more readings than this is left as it is (no Korean word is that ambiguous)

# Revised Romanization, syllable by syllable, as people type it (and as suho.data.obfuscate writes it)
_LEADS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_VOWELS = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu",
    "ui", "i",
]  # fmt: skip
_TAILS = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng", "t",
    "t", "k", "t", "p", "t",
]  # fmt: skip


def _table(names: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, r in enumerate(names):
        out.setdefault(r, []).append(i)
    return out


_LEAD_OF, _VOWEL_OF, _TAIL_OF = _table(_LEADS), _table(_VOWELS), _table(_TAILS)


def english_words(texts: Iterable[str]) -> list[str]:
    """The lower-cased words (4+ letters) of English texts, sorted."""
    return sorted({w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t) if len(w) >= MIN_LETTERS})


def write_words(words: list[str], path: Path = ENGLISH_WORDS) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write("".join(w + "\n" for w in words).encode("utf-8"))
    Path(path).write_bytes(buf.getvalue())


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    with gzip.open(ENGLISH_WORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


@lru_cache(maxsize=1)
def _joined_pairs() -> dict[str, int]:
    """Two syllables -> how often they were seen written together (from suho.spacing's table)."""
    return {k[0] + k[2]: j for k, (j, _) in default_model().counts.items() if len(k) == 3 and k[1] == "|" and j}


def load_tables() -> None:
    """Read the tables now rather than on the first romanised word."""
    _joined_pairs()
    _english()


def readings(word: str) -> list[str]:
    """Every Hangul reading of a Latin word whose neighbouring syllables were all seen together (at most a few
    thousand; [] when there are more, or none)."""
    if len(word) > MAX_LETTERS:
        return []
    pairs = _joined_pairs()

    @cache
    def rest(i: int) -> tuple[str, ...]:
        if i == len(word):
            return ("",)
        out: list[str] = []
        for lead, leads in _LEAD_OF.items():
            if not word.startswith(lead, i):
                continue
            j = i + len(lead)
            for vowel, (v,) in _VOWEL_OF.items():
                if not word.startswith(vowel, j):
                    continue
                k = j + len(vowel)
                for tail, tails in _TAIL_OF.items():
                    if not word.startswith(tail, k):
                        continue
                    after = rest(k + len(tail))
                    for lead_i in leads:
                        for t in tails:
                            syl = chr(0xAC00 + (lead_i * 21 + v) * 28 + t)
                            out += [syl + a for a in after if not a or syl + a[0] in pairs]
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
    if len(word) > MAX_LETTERS:
        return None
    pairs = _joined_pairs()
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
