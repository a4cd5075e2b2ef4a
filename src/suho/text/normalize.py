"""Undo common disguises before the model sees a query; a clean query passes through unchanged.

Users who want a harmful answer past a filter write `ㄷㅐㅁㅏㅊㅗ` (decomposed jamo), `대 마 키 우 는 법` (a space
after every syllable), `대 마 초 키우는 법` (one word spaced out), `대.마.초` or `대🌿마🌿초` (symbols between
syllables), fullwidth `ｈａｃｋ`, `죽고 싶어어어어` (a syllable stretched anywhere in a word), `daemacho 키우는 법`
(the key word in Latin letters), `eoakch zldnsms qjq` (typed with the keyboard in English mode), `미세8먼지` (a digit
inside a word), `b0mb` or `kіll` with a Cyrillic і (English key words, `leet`), or hide zero-width characters
inside words. Each rule below fires only on text that has the disguise,
so clean text — every ordinary and look-alike row of our train and dev sets, and every KoSBi and SQuARe test
sentence, tests check — is returned as is and its verdict cannot change.

Four rules use small models counted from the clean Korean rows of our training data: spaced-out text gets its word
breaks back from `spacing` (`대 마 키 우 는 법` -> `대마 키우는 법`); a romanised word is read back into Hangul by
`romaja` when it reads as syllables our clean text writes together and is not an English word of our training
rows (`daemacho` -> `대마초`); Latin letters typed with the keyboard in English mode are read key by key by
`keyboard` under the same checks (`eoakch` -> `대마초`); and one digit between two syllables is dropped
(`미세8먼지` -> `미세먼지`) or read as the numeral it sounds like (`보1러` -> `보일러`) only when our clean text writes
the two syllables together and (almost) never writes a digit next to either of them: `제1회`, `고1인데`, `3박4일` keep
their numbers.

Not handled here: a digit next to a syllable that clean text puts numbers by (`점8심`: `8점` and `1심` are clean), a
syllable replaced by its digit at a word's edge (`8다리`), 초성-only abbreviations (`ㅈㅅ` has no vowels to recover),
romanised words that read as English (`data`) or as no Korean we have seen, a spaced-out word that could be
one-syllable words (`한 줄 한 줄` is clean Korean; so is `할 수`, and a two-syllable word `자 살` looks the same), a
whole word of one repeated syllable (`하하하`, `쯧쯧쯧` are clean); no rule can undo those without changing clean text,
so the model learns them from disguised training copies (`suho.data.obfuscate`).

초성 runs are not expanded into words: real comments use 초성 for names and slang that a lexicon of our rows misreads
(`ㄱㅈㅎ` -> `건조한`, `ㅊㅋ` -> `치킨`, `ㅎㅋ` -> `해킹`); docs/normalisation.md has the measurements behind that.
"""

from __future__ import annotations

import re
import unicodedata

from suho.text import romaja
from suho.text.hangul import LEADS, TAILS, VOWELS, syllable
from suho.text.leet import plain_letters
from suho.text.romaja import unromanize
from suho.text.spacing import default_model, is_syllable, place_spaces

# zero-width and invisible formatting characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, Hangul fillers)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u115f\u1160\u3164\uffa0]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")

_JAMO_RUN = re.compile(f"[{LEADS}{VOWELS}ㄳㄵㄶㄺㄻㄼㄽㄾㄿㅀㅄ]{{2,}}")

_SYL = "[\uac00-\ud7a3]"
# 6+ single syllables each followed by one space: "대 마 키 우 는 법" (clean Korean has runs of one-syllable words,
# "한 줄 한 줄 다", but in our 13k train/dev rows never six in a row)
_SPACED = re.compile(f"(?<![\uac00-\ud7a3])(?:{_SYL} ){{5,}}{_SYL}(?![\uac00-\ud7a3])")
# ... but public text has them ("우리 못 본 지 꽤 된 것 같아"): such a run is left as written when the spacing model
# expects a space in at least this share of its gaps (its mean P(space)); spaced-out words ("대 마 키 우 는 법": 0.38)
# expect far fewer. Of ko-obfuscated's 329 spaced-out items this keeps one as written; of 114k public benign queries it
# keeps the one above, whose re-spacing ("못본 지 꽤된 것") could change its verdict
KEEP_ROW_FROM = 0.5
# 3-5 single syllables after a space (or the text's start), each followed by one space ("대 마 초 키우는 법"): joined
# only when the spacing model puts a space in none of the gaps (each P(space) < JOIN_BELOW). Clean runs of one-syllable
# words ("한 줄 한 줄", "두 분 다") have at least one likely space: at 0.1 no clean text of train, dev, KoSBi test or
# SQuARe test is joined, and about half of ko-obfuscated's spaced-out words are. A two-syllable word ("자 살") is
# left alone: "할 수", "내 돈" are clean
_SPACED_WORD = re.compile(f"(?<!\\S)(?:{_SYL} ){{2,4}}{_SYL}(?![\uac00-\ud7a3])")
JOIN_BELOW = 0.1
# syllables separated by the same run of symbols/emoji, 3+ syllables: "대.마.초", "대*마*초", "자🔪살". Not a middle
# dot: "초·중·고" is how Korean writes a list (SQuARe test has three such questions)
_SEP = r"(?:[^\w\s\uac00-\ud7a3\u00b7\u2027\u30fb]|_){1,3}"
_SEPARATED = re.compile(f"{_SYL}(?:({_SEP}){_SYL})(?:\\1{_SYL})+|{_SYL}[\U0001f000-\U0001faff\u2600-\u27bf]+{_SYL}")
# a syllable written 3+ times in a row ("싶어어어어", "대마마마초", "대대대마초"): one copy is kept when the run touches
# another syllable of its word. A word made of one repeated syllable, the laughter "하하하" or "쯧쯧쯧", is left alone;
# in our 13k train/dev rows this changes one comment-corpus row, itself a stretch: "껄꼴꼴꼴꼴"
_REPEATED = re.compile(f"({_SYL})\\1{{2,}}")
# one digit between two syllables (`미세8먼지`, `시1발`); a number of two or more digits is never touched
_DIGIT_IN_WORD = re.compile(f"(?<={_SYL})[0-9](?={_SYL})")
# the digit is dropped (or read as the numeral it sounds like, `보1러` -> `보일러`) only when clean Korean writes the
# two syllables together at least this often and writes a digit next to either of them at most DIGIT_NEIGHBOUR_MAX
# times (`제1회`, `고1인데`, `3박4일`, `서해5도` are clean: their syllables sit next to numbers)
DIGIT_JOIN_MIN = 5
DIGIT_NEIGHBOUR_MAX = 1
_NUMERAL = dict(zip("123456789", "일이삼사오육칠팔구"))


def _neighbours(m: re.Match) -> tuple[str, str]:
    """The syllables just before and after a match, across whitespace ("" at punctuation or the text's edge)."""
    s, i, j = m.string, m.start() - 1, m.end()
    while i >= 0 and s[i].isspace():  # scanned, not sliced: a long text with many matches stays linear
        i -= 1
    while j < len(s) and s[j].isspace():
        j += 1
    before, after = (s[i] if i >= 0 else ""), (s[j] if j < len(s) else "")
    return (before if is_syllable(before) else ""), (after if is_syllable(after) else "")


def _respace(m: re.Match) -> str:
    syllables = m.group(0).replace(" ", "")
    p = default_model().probabilities(syllables, *_neighbours(m))
    if sum(p) >= KEEP_ROW_FROM * len(p):  # the spacing model expects most of these spaces: a row of short words
        return m.group(0)
    return place_spaces(syllables, p)


def _join_word(m: re.Match) -> str:
    syllables = m.group(0).replace(" ", "")
    p = default_model().probabilities(syllables, *_neighbours(m))
    return syllables if max(p) < JOIN_BELOW else m.group(0)


def _undigit(m: re.Match) -> str:
    s, d = m.string, m.group(0)
    a, b = s[m.start() - 1], s[m.end()]
    model = default_model()
    joined = model.joined.get(a + b, 0)
    if (
        joined < DIGIT_JOIN_MIN
        or model.before_digit.get(a, 0) > DIGIT_NEIGHBOUR_MAX
        or model.after_digit.get(b, 0) > DIGIT_NEIGHBOUR_MAX
    ):
        return d
    n = _NUMERAL.get(d, "")
    read = min(model.joined.get(a + n, 0), model.joined.get(n + b, 0)) if n else 0
    return n if read > joined else ""


def _unstretch(m: re.Match) -> str:
    # the run is maximal, so a syllable next to it is a different one: the run is part of a longer word
    s, i, j = m.string, m.start(), m.end()
    in_word = (i > 0 and is_syllable(s[i - 1])) or (j < len(s) and is_syllable(s[j]))
    return m.group(1) if in_word else m.group(0)


def _compose(run: str) -> str:
    """Greedy jamo -> syllables: lead + vowel (+ tail when the next jamo is not a vowel). Leftovers stay as they are."""
    out, i = [], 0
    while i < len(run):
        c = run[i]
        if c in LEADS and i + 1 < len(run) and run[i + 1] in VOWELS:
            lead, vowel = LEADS.index(c), VOWELS.index(run[i + 1])
            tail = 0
            nxt = run[i + 2] if i + 2 < len(run) else ""
            after = run[i + 3] if i + 3 < len(run) else ""
            if nxt in TAILS[1:] and not (after and after in VOWELS):
                tail = TAILS.index(nxt)
            out.append(syllable(lead, vowel, tail))
            i += 3 if tail else 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _compose_jamo(m: re.Match) -> str:
    run = m.group(0)
    return _compose(run) if any(ch in VOWELS for ch in run) else run  # ㅋㅋㅋ / ㅈㅅ: nothing to recover


def load_tables() -> None:
    """Read the spacing and romanisation tables now (about 0.5 s and 50 MB) instead of on the first disguised query;
    `suho serve` calls this while it starts, so no request pays for it."""
    romaja.load_tables()  # the romanisation reader's tables include the spacing model


def text_problem(text: str) -> str | None:
    """Why `text` cannot be checked (the end of an error message whose caller names the text), or None. One rule for
    the Python API, the command line and the server, so none of them hands the model what another refuses."""
    if not text.strip():
        return "is empty or whitespace only"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: valid in JSON and in a Python str, not a character
        return f"is not valid Unicode (a lone surrogate at character {exc.start})"
    if not _visible(text).strip():  # the only step of normalize_query that can empty a text
        return "is empty once control and zero-width characters are removed"
    return None


def _visible(text: str) -> str:
    """The text without zero-width characters and with control characters as spaces."""
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text))


def normalize_query(text: str) -> str:
    """The query with disguises undone (see the module docstring); clean text comes back unchanged."""
    t = _visible(text)
    t = _FULLWIDTH.sub(lambda m: " " if m.group(0) == "\u3000" else chr(ord(m.group(0)) - 0xFEE0), t)
    t = plain_letters(t)  # English key words: `b0mb`, `kіll` with a Cyrillic і
    if re.search("[\u1100-\u11ff]", t):  # conjoining jamo (NFD Hangul) -> precomposed syllables
        t = unicodedata.normalize("NFC", t)
    t = _JAMO_RUN.sub(_compose_jamo, t)
    t = _SPACED.sub(_respace, t)
    t = _SPACED_WORD.sub(_join_word, t)
    t = _SEPARATED.sub(lambda m: re.sub(r"[^\uac00-\ud7a3]", "", m.group(0)), t)
    t = _DIGIT_IN_WORD.sub(_undigit, t)
    t = _REPEATED.sub(_unstretch, t)
    return unromanize(t)
