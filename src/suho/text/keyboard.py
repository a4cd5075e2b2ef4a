"""Korean typed with the keyboard left in English mode, back to Hangul: `tlqkf` -> `시발`, `gksrmf` -> `한글`.

On the standard Korean keyboard (두벌식) every jamo sits on one Latin key, so a word typed while the input method is set
to English comes out as Latin letters (`tkfdls` for `살인`). Users write the one word a filter would catch that way, or
the whole query. The letters map back to jamo key by key, and the jamo compose into syllables the way the input method
composes them (a consonant followed by a vowel starts a syllable; two vowel keys make ㅘ, ㅝ, ...; two consonants make
a double final ㄺ, ㅄ, ...).

Most Latin words do not compose into syllables at all (`hello` -> ㅗㄷㅣㅣㅐ), but some do (`rock` -> `개차`), so a
word is read back only when it looks like such a slip: 4+ letters, lower case (the shifted keys `QWERTOP`, for
ㅃㅉㄸㄲㅆㅒㅖ, may be upper case), not a word of our English training rows, composing into 2+ whole syllables with
nothing left over, and every two neighbouring syllables seen written together in our clean Korean text (the pair
counts of `spacing`; a two-syllable word's pair at least 5 times, a word of 4+ syllables may hold one unseen
pair). And only inside Korean text, or in a
Latin text at least two and 60% of whose 4+-letter words read that way: an English sentence can hold a word that
composes by chance (`santa claus` -> `치면`), a query typed in English mode is mostly such words. A Latin text of one
word is read only as a common Korean word (`tlqkf` -> `시발`; none of 27.6k distinct English query words is). Once
two words of a text read as typed keys, its short words are read too (`sk dhfgo` -> `나 올해`). A word that also reads
as romanised Korean takes the better-attested reading (`romaja.unromanize`). No text of our train, dev and test
sets, nor of 123k public English and Korean queries (benign sets, BEEP!, AdvBench), changes under it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from suho.text.hangul import COUNT, FIRST, LEADS, TAILS, VOWELS, parts, syllable
from suho.text.spacing import default_model

MIN_LETTERS = 4
MAX_LETTERS = 40
WORD = re.compile(rf"(?<![A-Za-z0-9])[a-zQWERTOP]{{{MIN_LETTERS},{MAX_LETTERS}}}(?![A-Za-z0-9])")
MOSTLY = 0.6  # share of a Latin text's words that must compose for it to be read as typed in English mode
# Of 27.6k distinct words of public English queries (Natural Questions, CLINC150, SNIPS, OASST, self-instruct) that are
# not in our English list, these limits let 5 read as typed keys (`claus` 치면, `fork` 래가, `dork`, `angus`, `altman`;
# 22 with any seen pair enough); 882 of the 1,024 `ko-keyboard` items come back exactly (916 with any)
TWO_SYLLABLE_MIN_COUNT = 5  # a two-syllable reading: its pair seen at least this often (마약 19, 폭탄 5, 대마 6)
UNSEEN_PAIRS_ALLOWED = {2: 0, 3: 0}  # by syllable count; longer words: 1
ALONE_MIN_COUNT = 20  # a Latin text of one word is read as keys only when every pair is this common (시발 21, 병신 27)
_LONG_WORD = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{{MIN_LETTERS},}}(?![A-Za-z0-9])")
_ANY_WORD = re.compile(r"[A-Za-z]+")
# any typed word, for a text already known to be typed in English mode (`romaja.unromanize`)
SHORT_WORD = re.compile(rf"(?<![A-Za-z0-9])[a-zQWERTOP]{{2,{MAX_LETTERS}}}(?![A-Za-z0-9])")

KEYS = dict(
    zip(
        "qwertasdfgzxcvQWERTyuiophjklbnmOP",
        "ㅂㅈㄷㄱㅅㅁㄴㅇㄹㅎㅋㅌㅊㅍㅃㅉㄸㄲㅆㅛㅕㅑㅐㅔㅗㅓㅏㅣㅠㅜㅡㅒㅖ",
    )
)
_VOWEL_PAIRS = {"ㅗㅏ": "ㅘ", "ㅗㅐ": "ㅙ", "ㅗㅣ": "ㅚ", "ㅜㅓ": "ㅝ", "ㅜㅔ": "ㅞ", "ㅜㅣ": "ㅟ", "ㅡㅣ": "ㅢ"}
_TAIL_PAIRS = {
    "ㄱㅅ": "ㄳ", "ㄴㅈ": "ㄵ", "ㄴㅎ": "ㄶ", "ㄹㄱ": "ㄺ", "ㄹㅁ": "ㄻ", "ㄹㅂ": "ㄼ",
    "ㄹㅅ": "ㄽ", "ㄹㅌ": "ㄾ", "ㄹㅍ": "ㄿ", "ㄹㅎ": "ㅀ", "ㅂㅅ": "ㅄ",
}  # fmt: skip


def _jamo(word: str) -> list[str] | None:
    """The jamo a word's keys type, two vowel keys merged into one vowel where the input method merges them."""
    out: list[str] = []
    for ch in word:
        j = KEYS.get(ch)
        if j is None:
            return None
        if out and out[-1] + j in _VOWEL_PAIRS:
            out[-1] = _VOWEL_PAIRS[out[-1] + j]
        else:
            out.append(j)
    return out


def compose(word: str) -> str | None:
    """The syllables a word's keys type in Korean mode, or None when something is left over (a vowel with no
    consonant before it, a lone consonant)."""
    jamo = _jamo(word)
    if jamo is None:
        return None
    out: list[str] = []
    i, n = 0, len(jamo)

    def starts_syllable(k: int) -> bool:  # a consonant followed by a vowel: the next syllable's start, never a final
        return k + 1 < n and jamo[k] in LEADS and jamo[k + 1] in VOWELS

    while i < n:
        if not starts_syllable(i):
            return None
        lead, vowel = LEADS.index(jamo[i]), VOWELS.index(jamo[i + 1])
        i += 2
        tail = ""
        if i < n and jamo[i] in TAILS and not starts_syllable(i):
            tail = jamo[i]
            i += 1
            if i < n and tail + jamo[i] in _TAIL_PAIRS and not starts_syllable(i):
                tail = _TAIL_PAIRS[tail + jamo[i]]
                i += 1
        out.append(syllable(lead, vowel, TAILS.index(tail)))
    return "".join(out)


@lru_cache(maxsize=4096)
def to_hangul(word: str) -> str | None:
    """The Hangul a keyboard-slipped word was meant as (2+ syllables, every pair seen together), or None."""
    text = compose(word)
    if not text or len(text) < 2:
        return None
    counts = default_model().pair_counts(text)
    if len(text) == 2 and counts[0] < TWO_SYLLABLE_MIN_COUNT:
        return None
    # a long word may hold one pair our text lacks (a rare name, `세뇌돼서`)
    return text if counts.count(0) <= UNSEEN_PAIRS_ALLOWED.get(len(text), 1) else None


_KEY_OF = {j: k for k, j in KEYS.items()}
_KEYS_OF_PAIR = {v: _KEY_OF[p[0]] + _KEY_OF[p[1]] for p, v in {**_VOWEL_PAIRS, **_TAIL_PAIRS}.items()}


def to_keys(text: str) -> str:
    """The keys that type `text`'s Hangul syllables on a 두벌식 keyboard (the disguise, for `suho.data.obfuscate`)."""
    out = []
    for ch in text:
        if not 0 <= ord(ch) - FIRST < COUNT:
            out.append(ch)
            continue
        lead, vowel, tail = parts(ch)
        jamo = (LEADS[lead], VOWELS[vowel], TAILS[tail])
        out.append("".join(_KEY_OF.get(j) or _KEYS_OF_PAIR[j] for j in jamo if j))
    return "".join(out)


def mostly_typed(text: str, english: frozenset[str] = frozenset(), share: float = MOSTLY) -> bool:
    """Whether a Latin text reads as typed keys: at least two, and at least `share`, of its words of 4+ letters do
    (`to_hangul`; words in `english` never do), or the text is that one word alone and reads as a common Korean word
    (`tlqkf` -> `시발`: each syllable pair seen ALONE_MIN_COUNT+ times in clean text)."""
    words = _LONG_WORD.findall(text)
    read = [to_hangul(w) if WORD.fullmatch(w) and w.lower() not in english else None for w in words]
    typed = sum(r is not None for r in read)
    if typed == 1 and len(_ANY_WORD.findall(text)) == 1:
        return min(default_model().pair_counts(read[0])) >= ALONE_MIN_COUNT
    return typed >= 2 and typed >= share * len(words)
