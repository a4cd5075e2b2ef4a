"""English key words disguised letter by letter, back to plain letters: `h4ck`, `b0mb`, `kіll` (a Cyrillic і).

Two tricks users play on English filters:

- **digits and symbols for letters** ("leetspeak"): `k1ll`, `m3th`, `p0is0n`, `$teal`. A word of 4+ characters with
  letters and such stand-ins inside it is read back only when exactly one reading is a word of our English training
  rows and the word as written is not, nor a word with a number beside it (`mp3`, `covid19`, `word5` stay);
- **look-alike letters from another alphabet** (homoglyphs): Cyrillic `а е о р с у х і ј ѕ` or Greek `ο α ι κ ν ρ υ χ`
  inside a Latin word. Only a word that mixes Latin with them is rewritten: Russian or Greek text stays as it is.

No text of our train, dev and test sets, nor of 114k public benign queries, changes under either (tests check).
"""

from __future__ import annotations

import itertools
import re

from suho.text.romaja import english_words_set

MIN_CHARS = 4
MAX_CHARS = 30
_MAX_READINGS = 64
# stand-ins for letters, each with the letters it is read as
LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
_STAND_IN = "[" + re.escape("".join(LEET)) + "]"
_HAS_STAND_IN = re.compile(_STAND_IN)
_LEET_WORD = re.compile(
    rf"(?<![\w@$])(?=[\w@$]*[A-Za-z])(?=[\w@$]*{_STAND_IN})(?:[A-Za-z]|{_STAND_IN}){{{MIN_CHARS},{MAX_CHARS}}}(?![\w@$])"
)
HOMOGLYPHS = dict(
    zip(
        "аеорсухіјѕАВЕКМНОРСТХУІЈЅοαικνρυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
        "aeopcyxijsABEKMHOPCTXYIJSoaikvpuxABEZHIKMNOPTYX",
    )
)
_MIXED_WORD = re.compile(r"[^\W\d_]+")
_HAS_HOMOGLYPH = re.compile("[" + "".join(HOMOGLYPHS) + "]")


def _readings(word: str) -> list[str]:
    options = [LEET.get(ch, ch) for ch in word.lower()]
    n = 1
    for o in options:
        n *= len(o)
        if n > _MAX_READINGS:
            return []
    return ["".join(p) for p in itertools.product(*options)]


def unleet(word: str) -> str | None:
    """The English word a leet-written word stands for, when exactly one reading is a known word; else None."""
    english = english_words_set()
    core = word.strip("0123456789")
    if word.lower() in english or (core != word and core.lower() in english):
        return None  # a word with a number before or after it (`word5`, `team1`) is not a disguise (`someon3` is)
    found = {r for r in _readings(word) if r in english}
    return found.pop() if len(found) == 1 else None


def _unmix(m: re.Match) -> str:
    w = m.group(0)
    if not any("a" <= c.lower() <= "z" for c in w) or not any(c in HOMOGLYPHS for c in w):
        return w
    return "".join(HOMOGLYPHS.get(c, c) for c in w)


def plain_letters(text: str) -> str:
    """`text` with look-alike letters inside Latin words and leet-written English key words put back."""
    if _HAS_HOMOGLYPH.search(text):
        text = _MIXED_WORD.sub(_unmix, text)
    if not _HAS_STAND_IN.search(text):
        return text
    return _LEET_WORD.sub(lambda m: unleet(m.group(0)) or m.group(0), text)
