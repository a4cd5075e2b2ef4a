"""Turn a teacher's free-form answer into clean, valid, new training texts.

Teachers wrap lists in preambles ("Here are 10 questions:"), number them every which way, quote them, refuse
half-way ("I can't help with that"), answer in the wrong language and repeat the few-shot examples back. Every such
item is rejected with a named reason (so a run can report *why* its yield is low) instead of reaching the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from suho.data.normalize import near_duplicates, norm_key
from suho.text.lang import detect_language

# "1." "1)" "(1)" "1:" "1．" "Q1." and bullets; a number must not run into digits ("3.5% 금리" is text, not a marker).
_MARKER = re.compile(r"^\s*(?:\(?\d{1,3}\s*[.)\]:．](?!\d)|Q\d{1,3}[.:)]|[-*•·●▪◦‣–—])\s*")
_NUMBER = re.compile(r"\d+")
_LABEL = re.compile(r"^(?:질문|응답|답변|Q|Question|Reply|Response)\s*[:：]\s*", re.IGNORECASE)
_ANSWER_LINE = re.compile(r"^(?:A|Answer|답변|답)\s*[:：]", re.IGNORECASE)
_PREAMBLE = re.compile(r"^(?:here are|here's|sure|certainly|okay|ok,|다음은|아래는|물론)", re.IGNORECASE)
_QUOTES = "\"'“”‘’「」『』`"
_NOTE = re.compile(
    r"\s*[(\[](?:[^)\]]*(?:범주|카테고리|유해|무해|category|harmful|harmless|unsafe|safe))[^)\]]*[)\]]$", re.IGNORECASE
)
_MERGED_ITEMS = re.compile(r"(?:^|\s)\d{1,2}[.)]\s+\S.*\s\d{1,2}[.)]\s")
_REFUSAL = re.compile(
    r"I can(?:'|’)?t (?:help|assist|provide|create|generate|write|comply|do that|fulfil)|I cannot (?:help|assist|"
    r"provide|create|generate|write|comply|fulfil)|I(?:'|’)m (?:sorry|unable|not able)|I am (?:sorry|unable)|"
    r"I won(?:'|’)t|as an AI|as a language model|죄송하지만|죄송합니다만|도와드릴 수 없|생성할 수 없|생성해 드릴 수 없|"
    r"제공할 수 없|작성할 수 없|작성해 드릴 수 없|만들어 드릴 수 없",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?。](?:\s|$)")


def clean_item(text: str) -> str:
    """One item without its label, markdown, surrounding quotes, category notes or trailing separators."""
    text = re.sub(r"\s+", " ", text).strip().replace("**", "").replace("__", "")
    text = _LABEL.sub("", text)
    text = _NOTE.sub("", text)
    text = text.strip().rstrip(",;").strip().strip(_QUOTES).strip()
    return text


def parse_list(answer: str) -> list[str]:
    """Items of a numbered or bulleted answer; preambles, closing remarks and answer lines are dropped.

    When any line carries a marker, only marked lines count, except an unmarked first line directly continuing
    the list the prompt left open ("...\\n3." -> "<text>\\n4. ..."). Without markers, every line is an item.
    """
    lines = [ln.strip() for ln in answer.splitlines() if ln.strip()]
    marks = [_MARKER.match(ln) for ln in lines]
    if any(marks):
        items = [ln[m.end() :] for ln, m in zip(lines, marks, strict=True) if m]
        first = next(m for m in marks if m)
        number = _NUMBER.search(first.group(0))
        continues = not marks[0] and number is not None and int(number.group(0)) > 1
        if continues and not lines[0].endswith((":", "：")) and not _PREAMBLE.match(lines[0]):
            items.insert(0, lines[0])
    else:
        items = [ln for ln in lines if not ln.endswith((":", "：")) and not _PREAMBLE.match(ln)]
    items = [ln for ln in items if not _ANSWER_LINE.match(ln)]
    return [c for c in (clean_item(t) for t in items) if c]


def clean_reply(answer: str) -> str:
    """A reply on one line, without a 'Reply:' label or wrapping quotes."""
    return clean_item(" ".join(ln.strip() for ln in answer.splitlines() if ln.strip()))


def reject_reason(
    text: str, *, kind: str, language: str, min_chars: int = 5, max_chars: int = 300, crisis_number: str | None = None
) -> str | None:
    """Why `text` cannot be a row of this kind ('language', 'too_short', 'refusal', ...), or None if it can."""
    if len(text) < min_chars:
        return "too_short"
    if len(text) > max_chars:
        return "too_long"
    if detect_language(text) != language:
        return "language"
    if "\n" in text or _MARKER.match(text) or _MERGED_ITEMS.search(text):
        return "numbering"
    if kind == "reply":
        if len(_SENTENCE_END.findall(text)) > 4:
            return "too_many_sentences"
        if crisis_number and crisis_number not in text:
            return "no_crisis_line"
    elif _REFUSAL.search(text):
        return "refusal"
    return None


class Deduper:
    """Exact (`norm_key`) and near-duplicate (char-3-gram Jaccard) filter against every text kept so far.

    Exact keys are global (the same text cannot be both safe and unsafe); near-duplicates are looked for only
    within a group (a look-alike sharing most words with a harmful query is a contrast pair, not a duplicate).
    """

    def __init__(self, threshold: float = 0.7) -> None:
        self.threshold = threshold
        self._keys: set[str] = set()
        self._texts: dict[str, list[str]] = {}

    def add(self, texts: Iterable[str], group: str) -> None:
        for t in texts:
            self._keys.add(norm_key(t))
            self._texts.setdefault(group, []).append(t)

    def filter(self, candidates: list[str], group: str) -> tuple[list[str], list[tuple[str, str]]]:
        """(new texts, [(text, 'duplicate' | 'near_duplicate')]); nothing is recorded until `add`."""
        rejected: list[tuple[str, str]] = []
        fresh: list[str] = []
        seen = set(self._keys)
        for t in candidates:
            key = norm_key(t)
            if not key or key in seen:
                rejected.append((t, "duplicate"))
            else:
                seen.add(key)
                fresh.append(t)
        old = self._texts.get(group, [])
        near = {i - len(old) for i, _, _ in near_duplicates(old + fresh, self.threshold) if i >= len(old)}
        rejected += [(t, "near_duplicate") for i, t in enumerate(fresh) if i in near]
        return [t for i, t in enumerate(fresh) if i not in near], rejected
