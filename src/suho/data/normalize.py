"""Text keys for dedup and leakage checks: case, spacing and punctuation do not make a text new."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def norm_key(text: str) -> str:
    """NFKC, lower-case, drop everything that is not a letter or digit."""
    return _NON_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def char_ngrams(text: str, n: int = 3) -> set[str]:
    key = norm_key(text)
    if len(key) <= n:
        return {key} if key else set()
    return {key[i : i + n] for i in range(len(key) - n + 1)}


def near_duplicates(
    texts: list[str], threshold: float = 0.7, max_posting: int = 400, groups: list[str] | None = None
) -> list[tuple[int, int, float]]:
    """(later, earlier, jaccard) pairs whose char-3-gram Jaccard exceeds `threshold`.

    With `groups`, only texts of the same group are compared (a safe look-alike that shares most words with an unsafe
    query is a contrast pair to keep, not a duplicate).

    Candidates come from an inverted index over 3-grams; grams shared by more than `max_posting` texts (particles,
    '알려줘') carry no signal and are skipped when collecting candidates, which keeps this near-linear.
    """
    grams = [char_ngrams(t) for t in texts]
    index: dict[str, list[int]] = {}
    out: list[tuple[int, int, float]] = []
    for i, g in enumerate(grams):
        counts: dict[int, int] = {}
        for gram in g:
            post = index.get(gram)
            if post and len(post) <= max_posting:
                for j in post:
                    counts[j] = counts.get(j, 0) + 1
        best = None
        for j, shared in counts.items():
            if groups is not None and groups[j] != groups[i]:
                continue
            # Jaccard upper bound from the candidate count alone
            if shared / max(len(g), len(grams[j])) < threshold * 0.9:
                continue
            jac = len(g & grams[j]) / len(g | grams[j])
            if jac > threshold and (best is None or jac > best[1]):
                best = (j, jac)
        if best:
            out.append((i, best[0], round(best[1], 3)))
        for gram in g:
            index.setdefault(gram, []).append(i)
    return out


def near_matches(
    queries: list[str], corpus: list[str], threshold: float = 0.6, max_posting: int = 400
) -> list[tuple[int, int, float]]:
    """(query index, corpus index, jaccard) for each query whose best corpus match exceeds `threshold`.

    Used to keep paraphrase-level copies of evaluation items out of our own seed data.
    """
    cgrams = [char_ngrams(t) for t in corpus]
    index: dict[str, list[int]] = {}
    for j, g in enumerate(cgrams):
        for gram in g:
            index.setdefault(gram, []).append(j)
    out = []
    for i, q in enumerate(queries):
        g = char_ngrams(q)
        counts: dict[int, int] = {}
        for gram in g:
            post = index.get(gram, ())
            if len(post) <= max_posting:
                for j in post:
                    counts[j] = counts.get(j, 0) + 1
        best = None
        for j, shared in counts.items():
            if shared / max(len(g), len(cgrams[j])) < threshold * 0.9:
                continue
            jac = len(g & cgrams[j]) / len(g | cgrams[j])
            if jac > threshold and (best is None or jac > best[1]):
                best = (j, jac)
        if best:
            out.append((i, best[0], round(best[1], 3)))
    return out
