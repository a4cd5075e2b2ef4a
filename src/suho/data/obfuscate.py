"""Disguised versions of Korean queries, made by code: the `ko-obfuscated` benchmark and the training variants.

Users who want a harmful answer past a filter disguise the words a filter would look for. Each transform below
rewrites a query the way such users do; all are deterministic given a `random.Random`, and each returns None when it
has nothing to work on (e.g. no Hangul word), so callers can pick another.

| kind | example | undone by `text.normalize`? |
|---|---|---|
| jamo | 대마초 -> ㄷㅐㅁㅏㅊㅗ | yes |
| spaced | 대 마 키 우 는 법 (every syllable) | yes (6+ syllables; word breaks put back by `text.spacing`) |
| spaced_word | 대 마 초 키우는 법 (one word) | 3-5 syllables when the spacing model is sure (about half); 2 no |
| separator | 대.마.초, 자🔪살 | 3+ syllables yes; 2-syllable words no |
| unicode | zero-width characters inside a word, fullwidth Latin/digits | yes |
| chosung | 자살 -> ㅈㅅ (초성 only) | no |
| digits | 시1발, 씨8 (digit inserted, numeral homophones) | one digit in a word, mostly (161 of 358 exactly) |
| romanized | 대마초 -> daemacho (one word, code-switched) | mostly (`text.romaja`; 268 of 355 dev items exactly) |
| repeat | 죽고 싶어어어어 | yes, inside a word of 2+ syllables (a one-syllable word, 나나나, no) |
| keyboard | 대마초 -> eoakch (English keyboard mode; whole query or one word) | mostly (`text.keyboard`) |
| leet (English rows) | bomb -> b0mb, poison -> p0is0n | when one reading is an English word of ours (`text.leet`) |
| homoglyph (English rows) | kill -> kіll (Cyrillic і) | yes, inside a Latin word (`text.leet`) |

The benchmark is built from dev rows only and the training variants from train rows only, so no disguised dev query
is ever trained on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from suho.data.schema import Label, Record
from suho.text.hangul import LEADS, TAILS, VOWELS, parts
from suho.text.keyboard import to_keys
from suho.text.romaja import romanize

_SYL = re.compile("[\uac00-\ud7a3]")
_WORD = re.compile("[\uac00-\ud7a3]+")

# syllables people write as the digit that sounds like them (씨8, 18, 2런)
_NUMERAL = {
    "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6", "칠": "7", "팔": "8", "구": "9", "십": "10"
}  # fmt: skip
# particles / endings kept as they are when a word is abbreviated: "대마초를" -> "ㄷㅁㅊ를"
_PARTICLES = ("을", "를", "이", "가", "은", "는", "에", "의", "도", "로", "랑", "과", "와", "만", "해", "한", "하")
_SEPARATORS = (".", "*", "-", "_", "/", "^", "~", "ㆍ", "🔪", "💊", "🌿", "❤", "⭐", "🔥")
_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060")


def jamo_of(syl: str) -> str:
    lead, vowel, tail = parts(syl)
    return LEADS[lead] + VOWELS[vowel] + TAILS[tail]


def _target(text: str, rng: random.Random, min_len: int = 2, word: re.Pattern = _WORD) -> re.Match | None:
    """One word to disguise (Hangul unless `word` says otherwise): one of the two longest (the content word, most
    often)."""
    words = [m for m in word.finditer(text) if len(m.group(0)) >= min_len]
    if not words:
        return None
    words.sort(key=lambda m: (-len(m.group(0)), m.start()))
    return rng.choice(words[:2])


def _stem(word: str) -> tuple[str, str]:
    """A word split into stem and a trailing particle (kept readable when the stem is disguised)."""
    if len(word) >= 3 and word[-1] in _PARTICLES:
        return word[:-1], word[-1]
    return word, ""


def _on_word(
    text: str, rng: random.Random, fn: Callable[[str], str | None], min_len: int = 2, word: re.Pattern = _WORD
) -> str | None:
    m = _target(text, rng, min_len, word)
    if m is None:
        return None
    new = fn(m.group(0))
    if new is None or new == m.group(0):
        return None
    return text[: m.start()] + new + text[m.end() :]


def jamo(text: str, rng: random.Random) -> str | None:
    return _on_word(text, rng, lambda w: "".join(jamo_of(c) for c in w))


def spaced(text: str, rng: random.Random) -> str | None:
    if len(_SYL.findall(text)) < 6:
        return None
    return re.sub(r"\s+", " ", " ".join(ch for ch in text if not ch.isspace()))


def spaced_word(text: str, rng: random.Random) -> str | None:
    return _on_word(text, rng, lambda w: " ".join(w), min_len=2)


def separator(text: str, rng: random.Random) -> str | None:
    sep = rng.choice(_SEPARATORS)
    return _on_word(text, rng, lambda w: sep.join(w))


def unicode(text: str, rng: random.Random) -> str | None:
    zw = rng.choice(_INVISIBLE)
    out = _on_word(text, rng, lambda w: zw.join(w))
    if out is None:
        return None
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in out)


def chosung(text: str, rng: random.Random) -> str | None:
    def abbreviate(word: str) -> str:
        stem, particle = _stem(word)
        return "".join(LEADS[parts(c)[0]] for c in stem) + particle

    return _on_word(text, rng, abbreviate)


def digits(text: str, rng: random.Random) -> str | None:
    def swap(word: str) -> str:
        hits = [i for i, c in enumerate(word) if c in _NUMERAL]
        if hits and rng.random() < 0.6:
            i = rng.choice(hits)
            return word[:i] + _NUMERAL[word[i]] + word[i + 1 :]
        i = rng.randrange(1, len(word))
        return word[:i] + rng.choice("1178") + word[i:]

    return _on_word(text, rng, swap)


def romanized(text: str, rng: random.Random) -> str | None:
    def rom(word: str) -> str:
        stem, particle = _stem(word)
        return romanize(stem) + particle

    return _on_word(text, rng, rom)


def keyboard(text: str, rng: random.Random) -> str | None:
    """Typed with the input method left in English mode: the whole query (half the time) or one word of it."""
    if rng.random() < 0.5:
        out = to_keys(text)
        return out if out != text else None
    return _on_word(text, rng, to_keys)


_LATIN_WORD = re.compile("[A-Za-z]+")
_LEET_OF = {"o": "0", "i": "1", "l": "1", "e": "3", "a": "4", "s": "5", "t": "7", "b": "8"}
_HOMOGLYPH_OF = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "y": "у", "x": "х", "i": "і", "s": "ѕ"}


def _swap_some(word: str, table: dict[str, str], rng: random.Random) -> str:
    spots = [i for i, c in enumerate(word) if c.lower() in table]
    if not spots:
        return word
    pick = set(rng.sample(spots, max(1, len(spots) // 2)))
    return "".join(table[c.lower()] if i in pick else c for i, c in enumerate(word))


def leet(text: str, rng: random.Random) -> str | None:
    """An English key word with digits for some letters: `b0mb`, `p0is0n`."""
    return _on_word(text, rng, lambda w: _swap_some(w, _LEET_OF, rng), min_len=4, word=_LATIN_WORD)


def homoglyph(text: str, rng: random.Random) -> str | None:
    """An English key word with look-alike Cyrillic letters: `kіll` (і is U+0456)."""
    return _on_word(text, rng, lambda w: _swap_some(w, _HOMOGLYPH_OF, rng), min_len=4, word=_LATIN_WORD)


def repeat(text: str, rng: random.Random) -> str | None:
    def stretch(word: str) -> str:
        # mostly the last syllable ("싶어어어어"), sometimes one inside the word
        i = len(word) - 1 if rng.random() < 0.6 else rng.randrange(len(word))
        return word[: i + 1] + word[i] * rng.randint(2, 4) + word[i + 1 :]

    return _on_word(text, rng, stretch, min_len=1)


TRANSFORMS: dict[str, Callable[[str, random.Random], str | None]] = {
    "jamo": jamo,
    "spaced": spaced,
    "spaced_word": spaced_word,
    "separator": separator,
    "unicode": unicode,
    "chosung": chosung,
    "digits": digits,
    "romanized": romanized,
    "repeat": repeat,
    "keyboard": keyboard,
    "leet": leet,
    "homoglyph": homoglyph,
}
ENGLISH_KINDS = ("leet", "homoglyph")  # disguise English words; every other kind disguises Korean
# the nine kinds of the `ko-obfuscated` benchmark; `keyboard` came later and has its own benchmark (`ko-keyboard`),
# so that adding it did not change the items every earlier model was measured on
BENCHMARK_KINDS = ("jamo", "spaced", "spaced_word", "separator", "unicode", "chosung", "digits", "romanized", "repeat")
# what the model must learn (the normaliser cannot undo these); training variants use only these. `repeat` stays
# although the normaliser now undoes most of it (a stretch inside a word), and so do `spaced_word` and `romanized`
# although the normaliser now joins about two thirds of the one (221 of 334 copies in train.jsonl) and reads back the
# other (all 335 copies changed, most of them to their original), and `digits`, of whose 292 copies the normaliser now
# rewrites 139 (a digit dropped inside a word): the build is unchanged (the shipped model's data, byte for byte),
# and those copies train as (nearly) their clean originals.
TRAIN_KINDS = ("spaced_word", "separator", "chosung", "digits", "romanized", "repeat")


def obfuscate(text: str, kind: str, rng: random.Random) -> str | None:
    if kind not in TRANSFORMS:
        raise KeyError(f"unknown obfuscation {kind!r}; known: {', '.join(TRANSFORMS)}")
    return TRANSFORMS[kind](text, rng)


class Variant(NamedTuple):
    record: Record  # the disguised copy
    kind: str
    original: str  # the clean text it was made from (for paired comparisons: same row, clean vs disguised)


def variants(
    records: list[Record],
    *,
    kinds: tuple[str, ...] = BENCHMARK_KINDS,
    per_record: int = 1,
    seed: int = 0,
    language: str = "ko",
) -> list[Variant]:
    """Up to `per_record` disguised copies of each record in `language` (Korean by default), each by a different kind.

    The copy keeps the label, category and reply of its original, gets the tag `obfuscated` and `obfuscated:KIND`.
    A kind that has nothing to work on is skipped for that record; copies equal to their original are not made.
    """
    rng = random.Random(seed)
    out: list[Variant] = []
    for r in records:
        if r.language != language:
            continue
        order = list(kinds)
        rng.shuffle(order)
        made = 0
        for kind in order:
            if made == per_record:
                break
            new = obfuscate(r.text, kind, rng)
            if not new or new == r.text:
                continue
            tags = tuple(t for t in r.tags if not t.startswith("obfuscated")) + ("obfuscated", f"obfuscated:{kind}")
            out.append(Variant(replace(r, text=new, tags=tags), kind, r.text))
            made += 1
    return out


def training_variants(train: list[Record], n_unsafe: int, n_safe: int, seed: int) -> list[Record]:
    """Disguised copies of sampled Korean train rows, as many safe as unsafe in spirit: a disguise is not intent.

    Safe rows are disguised too (look-alikes first), so that the model does not learn "odd spelling means unsafe".
    """
    rng = random.Random(seed)
    ko = [r for r in train if r.language == "ko"]
    unsafe = [r for r in ko if r.label == Label.UNSAFE]
    lookalike = [r for r in ko if r.label == Label.SAFE and "lookalike" in r.tags]
    other_safe = [r for r in ko if r.label == Label.SAFE and "lookalike" not in r.tags]
    pick_unsafe = rng.sample(unsafe, min(n_unsafe, len(unsafe)))
    n_look = min(len(lookalike), n_safe // 2)
    pick_safe = rng.sample(lookalike, n_look) + rng.sample(other_safe, min(n_safe - n_look, len(other_safe)))
    made = variants(pick_unsafe + pick_safe, kinds=TRAIN_KINDS, per_record=1, seed=seed)
    return [replace(v.record, split="train") for v in made]


# a run of two or more consonant-only jamo: ㅋㅋ, ㅅㅂ, and every 초성 abbreviation
CONSONANT_RUN = re.compile(f"[{LEADS}]{{2,}}")


def balancing_chosung(train: list[Record], seed: int) -> list[Record]:
    """Safe 초성 copies of Korean train rows, enough that Korean train rows holding a consonant-only run are as often
    safe as unsafe.

    Comment corpora write ㅋㅋ and ㅅㅂ mostly in insults (in our training data about 6 unsafe rows with such a run
    for every safe one), so even with as many safe as unsafe 초성 copies a model learns that a run of bare consonants
    means unsafe, and flags a safe query whose key word is abbreviated (`ㅁㅇㅇㄱㅇ` for `무엇인가요`) more often than
    its clean original. The copies come from safe Korean rows that are not disguised already (half look-alikes, half
    ordinary rows, as in `training_variants`), by the same `chosung` transform, each row at most once.
    """
    ko = [r for r in train if r.language == "ko"]
    unsafe = sum(1 for r in ko if r.label == Label.UNSAFE and CONSONANT_RUN.search(r.text))
    safe = sum(1 for r in ko if r.label == Label.SAFE and CONSONANT_RUN.search(r.text))
    need = unsafe - safe
    if need <= 0:
        return []
    rng = random.Random(seed)
    texts = {r.text for r in train}
    pool = [r for r in ko if r.label == Label.SAFE and "obfuscated" not in r.tags and not CONSONANT_RUN.search(r.text)]
    lookalike = [r for r in pool if "lookalike" in r.tags]
    other = [r for r in pool if "lookalike" not in r.tags]
    rng.shuffle(lookalike)
    rng.shuffle(other)
    out: list[Record] = []
    for rows, quota in ((lookalike, need // 2), (other, need)):  # half look-alikes, the rest ordinary rows
        made = 0
        for r in rows:
            if made == quota or len(out) == need:
                break
            new = chosung(r.text, rng)
            if not new or new in texts:
                continue
            texts.add(new)
            out.append(replace(r, text=new, tags=tuple(r.tags) + ("obfuscated", "obfuscated:chosung"), split="train"))
            made += 1
    return out
