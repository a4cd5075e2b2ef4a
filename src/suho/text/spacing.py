"""Where the spaces go in Korean written without them: a syllable-context model learned from our own clean text.

`대 마 키 우 는 법` (a space after every syllable) is a disguise that `normalize` undoes by joining the syllables;
joined with no spaces at all, a query is still unlike anything the guard was trained on, and the guard flags more
such safe queries than their clean originals. This module puts word breaks back ("대마키우는법" -> "대마 키우는 법"),
and says when a short run of single syllables (`대 마 초 키우는 법`: one word spaced out) is almost surely one word.

The model: for each gap between two syllables, the share of times a space stands there in clean Korean text, read
from the most specific context seen (the syllables on either side, with one more on the left or on the right), smoothed
towards the less specific ones (the pair, then each syllable alone). The counts come from the Korean rows of
`data/train.jsonl`, disguised copies left out, and live in one file beside this module (`spacing.tsv.gz`), rebuilt by
`suho data spacing`; a test checks that the file matches the training data. Dev and the evaluation sets are never
read, so scores on `ko-obfuscated` (made from dev) are held-out.

Measured on held-out text (gaps between two syllables; a space predicted where P(space) > 0.5): 92.1% of gaps right
on Korean dev rows, 95.0% on KoSBi test sentences. The table (266k contexts, 1 MB gzipped) is read on first use, which
only disguised text needs (`suho serve` reads it while starting, `normalize.load_tables`): 0.5 s and about 50 MB
of memory once, then 0.04 ms per spaced-out query.
"""

from __future__ import annotations

import gzip
import io
import math
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("spacing.tsv.gz")
START, END = "^", "$"  # no syllable before / after (text edge, punctuation, digits, Latin)
# keys `a|#` / `#|b`: syllable a written right before a digit, b right after one (the normaliser's digit rule)
DIGIT = "#"
SMOOTHING = 1.0  # pseudo-count pulling an estimate towards the less specific context


def is_syllable(ch: str) -> bool:
    """A precomposed Hangul syllable (가..힣); False for "" and anything else."""
    return "\uac00" <= ch <= "\ud7a3"


def _segments(text: str) -> Iterable[tuple[str, list[bool]]]:
    """Runs of syllables separated by nothing or by whitespace only; with, for each gap, whether a space is there."""
    syl: list[str] = []
    spaced: list[bool] = []
    gap = False
    for ch in text:
        if is_syllable(ch):
            if syl:
                spaced.append(gap)
            syl.append(ch)
            gap = False
        elif ch.isspace():
            gap = True
        else:
            if len(syl) > 1:
                yield "".join(syl), spaced
            syl, spaced, gap = [], [], False
    if len(syl) > 1:
        yield "".join(syl), spaced


def _keys(s: str, i: int, before: str = START, after: str = END) -> tuple[str, str, str, str, str]:
    """Context keys of the gap between s[i-1] and s[i] ("|" marks the gap)."""
    x = s[i - 2] if i >= 2 else before
    y = s[i + 1] if i + 1 < len(s) else after
    a, b = s[i - 1], s[i]
    return f"{a}|", f"|{b}", f"{a}|{b}", f"{x}{a}|{b}", f"{a}|{b}{y}"


def count(texts: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Context key -> (times joined, times spaced) over the gaps of `texts`; also how often each syllable touches a
    digit (`a|#`, `#|b`, counted as joined): clean Korean writes numbers next to some syllables (`제1회`, `고1인데`,
    `3박4일`) and almost never inside an ordinary word."""
    joined: Counter[str] = Counter()
    spaced: Counter[str] = Counter()
    for text in texts:
        for s, gaps in _segments(text):
            for i, sp in enumerate(gaps, start=1):
                (spaced if sp else joined).update(_keys(s, i))
        for a, b in zip(text, text[1:]):
            if is_syllable(a) and "0" <= b <= "9":
                joined[f"{a}|{DIGIT}"] += 1
            elif "0" <= a <= "9" and is_syllable(b):
                joined[f"{DIGIT}|{b}"] += 1
    return {k: (joined[k], spaced[k]) for k in sorted(joined.keys() | spaced.keys())}


def write_gzip(path: Path, text: str) -> None:
    """`text` gzipped without a timestamp, so the same text always gives the same bytes (the tables are checked in)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    Path(path).write_bytes(buf.getvalue())


def write_table(counts: dict[str, tuple[int, int]], path: Path = TABLE) -> None:
    """One line per key, `key<TAB>joined<TAB>spaced`, sorted."""
    write_gzip(path, "".join(f"{k}\t{j}\t{s}\n" for k, (j, s) in sorted(counts.items())))


def read_table(path: Path = TABLE) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{n}: expected 'key<TAB>joined<TAB>spaced', got {line!r}")
            out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out


class SpacingModel:
    """P(space) for each gap of a syllable string, from a table of context counts (see the module docstring)."""

    def __init__(self, counts: dict[str, tuple[int, int]]):
        self.counts = counts
        pairs = {k[0] + k[2]: v for k, v in counts.items() if len(k) == 3 and DIGIT not in k}  # "a|b" keys
        joined, spaced = sum(j for j, _ in pairs.values()), sum(s for _, s in pairs.values())
        self.prior = (spaced + 1) / (joined + spaced + 2)
        # two syllables -> how often clean text writes them together (romaja keeps readings seen here)
        self.joined = {ab: j for ab, (j, _) in pairs.items() if j}
        # syllable -> how often clean text writes it right before / right after a digit
        self.before_digit = {k[0]: j for k, (j, _) in counts.items() if k.endswith(f"|{DIGIT}")}
        self.after_digit = {k[2]: j for k, (j, _) in counts.items() if k.startswith(f"{DIGIT}|")}

    def pair_counts(self, syllables: str) -> list[int]:
        """How often clean text writes each two neighbouring syllables of `syllables` together (0: never seen)."""
        return [self.joined.get(syllables[i : i + 2], 0) for i in range(len(syllables) - 1)]

    def _est(self, key: str, prior: float) -> float:
        j, s = self.counts.get(key, (0, 0))
        return (s + SMOOTHING * prior) / (j + s + SMOOTHING)

    def p_space(self, s: str, i: int, before: str = "", after: str = "") -> float:
        left, right, pair, left3, right3 = _keys(s, i, before or START, after or END)
        p0 = self.prior
        p_units = _sigmoid(_logit(self._est(left, p0)) + _logit(self._est(right, p0)) - _logit(p0))
        p_pair = self._est(pair, p_units)
        return _sigmoid(_logit(self._est(left3, p_pair)) + _logit(self._est(right3, p_pair)) - _logit(p_pair))

    def probabilities(self, syllables: str, before: str = "", after: str = "") -> list[float]:
        """P(space) for each of the len(syllables) - 1 gaps; `before`/`after`: the syllable next to the run, if any."""
        if not all(is_syllable(c) for c in syllables):
            raise ValueError(f"not a run of Hangul syllables: {syllables!r}")
        return [self.p_space(syllables, i, before, after) for i in range(1, len(syllables))]

    def respace(self, syllables: str, before: str = "", after: str = "") -> str:
        """The syllables with a space in every gap where one is more likely than not."""
        return place_spaces(syllables, self.probabilities(syllables, before, after))


def place_spaces(syllables: str, p: list[float]) -> str:
    """`syllables` with a space in every gap whose P(space) in `p` is over one half."""
    return syllables[:1] + "".join((" " if q > 0.5 else "") + c for q, c in zip(p, syllables[1:]))


@lru_cache(maxsize=1)
def default_model() -> SpacingModel:
    """The shipped model (loaded on first use: only disguised text needs it)."""
    return SpacingModel(read_table(TABLE))


# rows in users' own register (real chat, reviews, team-written human-phrased and long requests, jailbreak wrappers):
# their missing spaces and typos are what the normaliser must read, not what it should learn spacing or words from
USER_REGISTER_TAGS = frozenset({"real", "human_phrased", "long", "edge", "jailbreak"})


def counted(row) -> bool:
    """A training row the normaliser's tables (spacing, English words) are counted from: not a disguised copy and
    not text in users' own register."""
    return "obfuscated" not in row.tags and not USER_REGISTER_TAGS & set(row.tags)


def clean_korean_texts(rows) -> list[str]:
    """The texts the table is counted from: Korean rows that `counted` keeps."""
    return [r.text for r in rows if r.language == "ko" and counted(r)]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))
